"""The store's one pseudonym key: the HMAC key that turns technician ids into stored keys.

It lives with the data (table `store_key`), not in the folder a command runs from, so every
process that opens the same database pseudonymises a person the same way. It is made once, on
the first technician upload: from `CHASM_PSEUDONYM_SECRET` when that is set (the table then keeps
only a fingerprint, to refuse a different secret), else from the data folder's `pseudonym.key`
of earlier versions, else at random.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, func, insert, select

from db.config import StoreSettings, get_settings
from db.engine import write_transaction
from db.errors import Problem, StoreError
from db.models import StoreKey, TechnicianWeek

_CHECK_TEXT = b"chasm pseudonym key check"
WRONG_SECRET = ("CHASM_PSEUDONYM_SECRET is not the secret this store's pseudonyms were made with; "
                "set the original secret (or unset it to use the key the store holds)")
MISSING_SECRET = ("this store's pseudonyms were made with CHASM_PSEUDONYM_SECRET, which is not set; "
                  "set it to the same secret")
LOST_KEY = ("this store holds technician pseudonyms but not their key; set CHASM_DATA_DIR to the folder "
            "with the original pseudonym.key (or CHASM_PSEUDONYM_SECRET to the original secret) once, "
            "and the store keeps it from then on")


class PseudonymKeyError(StoreError):
    """The settings offer a different pseudonym key than the store's, or none it can use."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(0, "", "", message)


def fingerprint(key: bytes) -> str:
    """A check value of `key` that does not reveal it (an HMAC of a fixed text under the key)."""
    return hmac.new(key, _CHECK_TEXT, hashlib.sha256).hexdigest()


def technician_secret(engine: Engine, settings: StoreSettings | None = None, *, create: bool = True) -> bytes:
    """The store's pseudonym key, made on first use.

    Args:
        engine: The store's engine.
        settings: Store settings (the secret and the data folder); default read from the environment.
        create: Store the key when the store has none yet; False (a dry run) only works it out.

    Returns:
        The HMAC key for `db.ingest.cells.pseudonymise`.

    Raises:
        PseudonymKeyError: `CHASM_PSEUDONYM_SECRET` differs from the store's key, is missing
            though the store's key came from it, or the store holds pseudonyms but no key.
    """
    settings = settings or get_settings()
    with engine.connect() as conn:
        row = conn.execute(select(StoreKey)).first()
    if row is None and create:
        with write_transaction(engine) as conn:
            row = conn.execute(select(StoreKey)).first() or _make_key(conn, settings)
    if row is None:  # a dry run before the first technician upload: nothing stored yet
        with engine.connect() as conn:
            return _new_key(conn, settings)[0]
    return _check(row, settings)


def _check(row, settings: StoreSettings) -> bytes:  # type: ignore[no-untyped-def]
    offered = settings.pseudonym_secret
    if offered is not None:
        key = offered.get_secret_value().encode()
        if not hmac.compare_digest(fingerprint(key), row.fingerprint):
            raise PseudonymKeyError(WRONG_SECRET)
        return key
    if row.key is None:
        raise PseudonymKeyError(MISSING_SECRET)
    return row.key.encode()


def _make_key(conn: Connection, settings: StoreSettings):  # type: ignore[no-untyped-def]
    key, source = _new_key(conn, settings)
    values = {"id": 1, "key": None if source == "secret" else key.decode(), "fingerprint": fingerprint(key),
              "source": source, "created_at": datetime.now(UTC)}
    conn.execute(insert(StoreKey).values(values))
    return conn.execute(select(StoreKey)).one()


def _new_key(conn: Connection, settings: StoreSettings) -> tuple[bytes, str]:
    """The key a store without one takes, and where it came from."""
    if settings.pseudonym_secret is not None:
        return settings.pseudonym_secret.get_secret_value().encode(), "secret"
    if settings.legacy_key_file.is_file():
        return settings.legacy_key_file.read_text().strip().encode(), "key-file"
    if conn.execute(select(func.count()).select_from(TechnicianWeek)).scalar():
        raise PseudonymKeyError(LOST_KEY)
    return secrets.token_hex(32).encode(), "random"

