"""Remembered browser sessions: a signed cookie, so a refresh of the page does not sign people out.

The cookie holds the account name, when it was issued and an HMAC-SHA256 over both and the account's
password stamp (`db.accounts.session_stamp`), keyed by the session secret: `CHASM_SESSION_SECRET`,
else `<data dir>/session.key` (32 random bytes, made on first use, readable by its owner only). It is
good for `CHASM_SESSION_IDLE_MINUTES` after it was issued; the app issues a fresh one while people
work. A changed password, a deleted account or another secret ends every remembered session; the
role is read from the database each time. No streamlit here: the page sets and reads the cookie.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from sqlalchemy import Engine

from app.services.settings import Settings, get_settings
from db.accounts import session_stamp

COOKIE = "chasm_session"
"""The cookie's name."""
REISSUE_SECONDS = 300
"""A session's cookie is issued afresh when it is older than this (so it lapses only when idle)."""


def _secret(settings: Settings) -> bytes:
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    path = Path(settings.store.data_dir) / "session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def _signature(secret: bytes, name: str, issued: int, stamp: str) -> str:
    message = f"{name}\0{issued}\0{stamp}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def issue(engine: Engine, name: str, *, now: float | None = None, settings: Settings | None = None) -> str:
    """A cookie value that signs `name` in until it is idle too long.

    Raises:
        LookupError: there is no such account.
    """
    settings = settings or get_settings()
    stamp = session_stamp(engine, name)
    if stamp is None:
        raise LookupError(f"no account is called {name!r}")
    issued = int(time.time() if now is None else now)
    encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    return f"{encoded}.{issued}.{_signature(_secret(settings), name, issued, stamp[1])}"


def verify(engine: Engine, token: str | None, *, now: float | None = None,
           settings: Settings | None = None) -> tuple[str, str, int] | None:
    """The account name, its role and when the cookie was issued, or None when the cookie is
    missing, malformed, forged, too old, or for an account that is gone or has a new password."""
    if not token or token.count(".") != 2:
        return None
    settings = settings or get_settings()
    encoded, issued_text, signature = token.split(".")
    try:
        name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        issued = int(issued_text)
    except ValueError:  # binascii.Error and UnicodeDecodeError are ValueErrors
        return None
    now = time.time() if now is None else now
    if not 0 <= now - issued <= settings.session_idle_minutes * 60:
        return None
    stamp = session_stamp(engine, name)
    if stamp is None:
        return None
    if not hmac.compare_digest(signature, _signature(_secret(settings), name, issued, stamp[1])):
        return None
    return name, stamp[0], issued
