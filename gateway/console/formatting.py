"""How the console writes numbers, money, percentages, dates and times: per language, in the company's zone.

Pure functions (no I/O). Money keeps its currency: an amount is never shown without it, and amounts of different
currencies are never added here (the services convert, and say at which rate).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from gateway.console.i18n import Lang

# The symbol each language writes before an amount of a currency (CLDR's choice for zh-Hans and en).
CURRENCY_SYMBOLS: dict[str, dict[Lang, str]] = {
    "CNY": {"zh": "¥", "en": "CN¥"},
    "USD": {"zh": "US$", "en": "$"},
    "EUR": {"zh": "€", "en": "€"},
    "JPY": {"zh": "JP¥", "en": "¥"},
    "HKD": {"zh": "HK$", "en": "HK$"},
    "GBP": {"zh": "£", "en": "£"},
}
# Currencies without minor units.
ZERO_DECIMAL = frozenset({"JPY", "KRW"})
EN_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def to_decimal(value: object) -> Decimal | None:
    """A decimal from a number or decimal string (None for None, blanks and anything unparsable)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        result = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def format_number(value: object, lang: Lang, places: int | None = None) -> str:
    """Digits grouped by thousands (both languages write ``1,234,567.8``); ``places`` fixes the decimals."""
    number = to_decimal(value)
    if number is None:
        return "—"
    if places is not None:
        number = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
        return f"{number:,.{places}f}"
    text = f"{number:,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def compact_number(value: object, lang: Lang) -> str:
    """A short figure for charts and tiles: 万/亿 in Chinese, K/M/B in English."""
    number = to_decimal(value)
    if number is None:
        return "—"
    magnitude = abs(number)
    steps: tuple[tuple[Decimal, str], ...] = (
        ((Decimal(10) ** 8, "亿"), (Decimal(10) ** 4, "万"))
        if lang == "zh"
        else ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "K"))
    )
    for size, suffix in steps:
        if magnitude >= size:
            return format_number(number / size, lang, 2 if magnitude < size * 100 else 1) + suffix
    return format_number(number, lang, 0 if number == number.to_integral_value() else 2)


def currency_symbol(currency: str, lang: Lang) -> str:
    """The symbol of a currency in a language (its ISO code and a space when there is none)."""
    symbols = CURRENCY_SYMBOLS.get(currency.upper())
    return symbols[lang] if symbols else f"{currency.upper()} "


def format_money(amount: object, currency: str | None, lang: Lang, *, compact: bool = False) -> str:
    """An amount with its currency: ``¥1,234,567.00`` (zh, CNY), ``CN¥1,234,567.00`` (en), ``US$12.50`` (zh)."""
    number = to_decimal(amount)
    if number is None:
        return "—"
    code = (currency or "CNY").upper()
    sign = "-" if number < 0 else ""
    body = compact_number(abs(number), lang) if compact else format_number(abs(number), lang, _places(code))
    return f"{sign}{currency_symbol(code, lang)}{body}"


def _places(currency: str) -> int:
    return 0 if currency in ZERO_DECIMAL else 2


def format_percent(value: object, lang: Lang, places: int = 1) -> str:
    """A percentage given in percent (``85.25`` → ``85.3%``)."""
    number = to_decimal(value)
    return "—" if number is None else f"{format_number(number, lang, places)}%"


def parse_instant(value: object) -> datetime | None:
    """An aware datetime from a datetime or an RFC 3339 string (None when absent or unparsable)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def format_date(value: object, lang: Lang, zone: ZoneInfo) -> str:
    """A business date: ``2026年3月5日`` / ``5 Mar 2026`` (an instant is taken as its date in the company zone)."""
    day: date | None
    if isinstance(value, datetime) or (isinstance(value, str) and "T" in value):
        moment = parse_instant(value)
        day = moment.astimezone(zone).date() if moment else None
    elif isinstance(value, date):
        day = value
    elif isinstance(value, str) and value:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            day = None
    else:
        day = None
    if day is None:
        return "—"
    return (
        f"{day.year}年{day.month}月{day.day}日" if lang == "zh" else f"{day.day} {EN_MONTHS[day.month - 1]} {day.year}"
    )


def format_datetime(value: object, lang: Lang, zone: ZoneInfo) -> str:
    """An instant in the company zone: ``2026年3月5日 14:05`` / ``5 Mar 2026 14:05``."""
    moment = parse_instant(value)
    if moment is None:
        return "—"
    local = moment.astimezone(zone)
    return f"{format_date(local.date(), lang, zone)} {local:%H:%M}"
