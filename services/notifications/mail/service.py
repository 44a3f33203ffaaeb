"""Email: the MIME message (UTF-8 headers encoded per RFC 2047, a plain-text and an HTML part) and sending it over
SMTP with aiosmtplib (implicit TLS, STARTTLS or plain; optional AUTH)."""

from __future__ import annotations

from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

import aiosmtplib

from services.notifications.config import NotificationsSettings
from services.notifications.delivery.schemas import SendOutcome
from services.notifications.templates.schemas import Rendered
from services.notifications.templates.service import html_part


def sender_domain(sender: str) -> str:
    """The domain of the From address (Message-IDs are made in it)."""
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "kam.example"


def build_email(
    *, message: Rendered, sender: str, to_name: str, to_address: str, message_id: str, now: datetime
) -> EmailMessage:
    """The email of one delivery. The Message-ID is the delivery's own, so a resend is recognisably the same mail."""
    mail = EmailMessage(policy=policy.SMTP)
    mail["Subject"] = message.subject
    mail["From"] = sender
    mail["To"] = Address(display_name=to_name, addr_spec=to_address)
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<{message_id}@{sender_domain(sender)}>"
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    mail.set_content(message.text, charset="utf-8", cte="base64")
    mail.add_alternative(html_part(message), subtype="html", charset="utf-8", cte="base64")
    mail["Content-Language"] = message.language  # after the parts: making them moves Content-* headers down
    return mail


# Refusals of this message or its recipient: sending it again cannot help (a login failure can: it is retried).
PERMANENT_CODES = frozenset({550, 551, 552, 553, 554})


async def send_email(mail: EmailMessage, *, settings: NotificationsSettings) -> SendOutcome:
    """Hand one message to the configured SMTP server; 5xx answers are permanent, the rest is retried."""
    try:
        await aiosmtplib.send(
            mail,
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            validate_certs=settings.smtp_validate_certs,
            cert_bundle=settings.smtp_ca_file,
            timeout=settings.smtp_timeout_seconds,
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        codes = [error.code for error in exc.recipients]
        return SendOutcome(ok=False, status_code=codes[0] if codes else None, error=str(exc)[:500], permanent=True)
    except aiosmtplib.SMTPAuthenticationError as exc:
        return SendOutcome(ok=False, status_code=exc.code, error=f"SMTP login refused: {exc.message}"[:500])
    except aiosmtplib.SMTPResponseException as exc:
        error = f"SMTP {exc.code}: {exc.message}"[:500]
        return SendOutcome(ok=False, status_code=exc.code, error=error, permanent=exc.code in PERMANENT_CODES)
    except (aiosmtplib.SMTPException, OSError) as exc:
        return SendOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"[:500])
    return SendOutcome(ok=True, status_code=250)
