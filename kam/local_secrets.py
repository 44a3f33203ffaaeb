"""The secrets of a platform run by ``kam up``: generated into ``$KAM_VAR_DIR/secrets`` on first start (owner-only
files, mode 0600), read back on every start after; a secret given in the environment wins and nothing is written.

- ``jwt_secret``: signs every access token (``KAM_JWT_SECRET``), so tokens and console sessions survive a restart.
- ``nats_password``: the embedded NATS server's password (user ``kam`` unless ``KAM_NATS_USER``); the apps get
  it as ``KAM_NATS_USER`` / ``KAM_NATS_PASSWORD``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_NATS_USER = "kam"


def secrets_dir(var: Path) -> Path:
    """Where the generated secrets live (owner-only)."""
    folder = var / "secrets"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def local_secret(var: Path, name: str) -> str:
    """The secret ``name`` of this var directory, generated (URL-safe, 384 bits) the first time it is asked for."""
    path = secrets_dir(var) / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        os.chmod(path, 0o600)  # tighten a file copied in with looser permissions
        value = path.read_text().strip()
        if value:
            return value
        raise RuntimeError(f"{path} is empty: delete it to have a new secret generated") from None
    value = secrets.token_urlsafe(48)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value


def use_local_jwt_secret(var: Path, environ: MutableMapping[str, str]) -> None:
    """Set ``KAM_JWT_SECRET`` from the var directory unless the environment already gives one."""
    if not environ.get("KAM_JWT_SECRET"):
        environ["KAM_JWT_SECRET"] = local_secret(var, "jwt_secret")


@dataclass(frozen=True)
class NatsCredentials:
    """What the embedded NATS server demands and the apps present."""

    user: str
    password: str


def use_local_nats_credentials(var: Path, environ: MutableMapping[str, str]) -> NatsCredentials:
    """The embedded NATS server's credentials (from the environment, else the generated password), also set as
    ``KAM_NATS_USER`` / ``KAM_NATS_PASSWORD`` for the apps."""
    user = environ.get("KAM_NATS_USER") or DEFAULT_NATS_USER
    password = environ.get("KAM_NATS_PASSWORD") or local_secret(var, "nats_password")
    environ["KAM_NATS_USER"], environ["KAM_NATS_PASSWORD"] = user, password
    return NatsCredentials(user=user, password=password)
