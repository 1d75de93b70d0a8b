"""Local accounts: argon2id password hashes, roles, and sign-ins logged and limited per name and address."""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import cache

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col

from db.engine import write_transaction
from db.models import SignIn, SignInLock, User

ROLES = ("viewer", "editor", "admin")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
MAX_LOCKOUT = timedelta(days=1)
# A lock that ended this long ago no longer doubles the next one.
BACKOFF_MEMORY = timedelta(days=1)
UNKNOWN_CLIENT = "unknown"
WRONG = "wrong user name or password"
# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 30 ms per check here,
# so a sign-in stays quick; the parameters live in each hash, so older hashes keep verifying.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)


class AccountError(ValueError):
    """A request about accounts that cannot be done: names the account and what is wrong."""


class SignInError(AccountError):
    """A refused sign-in (wrong password, unknown name, or too many failures)."""


def _now() -> datetime:
    return datetime.now(UTC)


def _check(name: str, role: str | None = None, password: str | None = None) -> None:
    if not name or name != name.strip() or len(name) > 200:
        raise AccountError(f"user name {name!r}: use 1-200 characters without surrounding spaces")
    if role is not None and role not in ROLES:
        raise AccountError(f"role {role!r}: must be one of {', '.join(ROLES)}")
    if password is not None and len(password) < 8:
        raise AccountError("password: use at least 8 characters")


def add_user(engine: Engine, *, name: str, role: str, password: str) -> None:
    """Create an account.

    Raises:
        AccountError: a bad name, role or password, or the name is taken.
    """
    _check(name, role, password)
    with write_transaction(engine) as conn:
        if conn.execute(select(col(User.id)).where(col(User.name) == name)).first():
            raise AccountError(f"user {name!r} already exists")
        conn.execute(insert(User).values(name=name, role=role, created_at=_now(),
                                         password_hash=_hasher.hash(password)))


def set_password(engine: Engine, *, name: str, password: str) -> None:
    """Replace an account's password.

    Raises:
        AccountError: no such user, or a password that is too short.
    """
    _check(name, password=password)
    with write_transaction(engine) as conn:
        done = conn.execute(update(User).where(col(User.name) == name).values(
            password_hash=_hasher.hash(password), must_change_password=False))
        if done.rowcount == 0:
            raise AccountError(f"user {name!r} does not exist")


def set_role(engine: Engine, *, name: str, role: str) -> None:
    """Change an account's role.

    Raises:
        AccountError: no such user, an unknown role, or removing the last admin.
    """
    _check(name, role)
    with write_transaction(engine) as conn:
        current = conn.execute(select(col(User.role)).where(col(User.name) == name)).scalar()
        if current is None:
            raise AccountError(f"user {name!r} does not exist")
        admins = conn.execute(select(func.count()).where(col(User.role) == "admin")).scalar_one()
        if current == "admin" and role != "admin" and admins <= 1:
            raise AccountError(f"user {name!r} is the last admin; make someone else admin first")
        conn.execute(update(User).where(col(User.name) == name).values(role=role))


def remove_user(engine: Engine, *, name: str) -> None:
    """Delete an account (never the last admin).

    Raises:
        AccountError: no such user, or the last admin.
    """
    with write_transaction(engine) as conn:
        role = conn.execute(select(col(User.role)).where(col(User.name) == name)).scalar()
        if role is None:
            raise AccountError(f"user {name!r} does not exist")
        admins = conn.execute(select(func.count()).where(col(User.role) == "admin")).scalar_one()
        if role == "admin" and admins <= 1:
            raise AccountError(f"user {name!r} is the last admin and cannot be removed")
        conn.execute(delete(User).where(col(User.name) == name))


def users(engine: Engine) -> pd.DataFrame:
    """Accounts (name, role, created_at); never the hashes."""
    with engine.connect() as conn:
        rows = conn.execute(select(col(User.name), col(User.role), col(User.created_at))
                            .order_by(col(User.name))).all()
    return pd.DataFrame(rows, columns=["name", "role", "created_at"])


def must_change_password(engine: Engine, name: str) -> bool:
    """Whether the account still has a one-time password (the first start's generated admin one)."""
    with engine.connect() as conn:
        query = select(col(User.must_change_password)).where(col(User.name) == name)
        return bool(conn.execute(query).scalar())


def session_stamp(engine: Engine, name: str) -> tuple[str, str] | None:
    """The account's role and a stamp that changes whenever its password does, or None.

    The stamp is a fingerprint of the password hash (not the hash). A remembered browser session is
    signed with it, so a new password ends every such session; None: there is no such account.
    """
    with engine.connect() as conn:
        row = conn.execute(select(col(User.role), col(User.password_hash))
                           .where(col(User.name) == name)).first()
    if row is None:
        return None
    return row.role, hashlib.sha256(row.password_hash.encode()).hexdigest()[:32]


def role_of(engine: Engine, name: str) -> str | None:
    """The account's role, or None if there is no such account (e.g. for single sign-on)."""
    with engine.connect() as conn:
        return conn.execute(select(col(User.role)).where(col(User.name) == name)).scalar()


def ensure_admin(engine: Engine, password: str | None = None) -> str | None:
    """Create the `admin` account on first start.

    Args:
        engine: the store's engine.
        password: the password to set (CHASM_ADMIN_PASSWORD); a one-time one is generated if None.

    Returns:
        The generated one-time password, or None when admin existed or a password was given.
    """
    with engine.connect() as conn:
        if conn.execute(select(col(User.id)).where(col(User.name) == "admin")).first():
            return None
    if password:
        add_user(engine, name="admin", role="admin", password=password)
        return None
    generated = secrets.token_urlsafe(12)
    add_user(engine, name="admin", role="admin", password=generated)
    with write_transaction(engine) as conn:
        conn.execute(update(User).where(col(User.name) == "admin").values(must_change_password=True))
    return generated


def sign_in(engine: Engine, *, name: str, password: str, client: str = UNKNOWN_CLIENT,
            now: datetime | None = None) -> str:
    """Check a password, logging the attempt; returns the account's role.

    Failures count per name *and* client address: five within 15 minutes lock that name from that
    address for 15 minutes, each further lock twice as long (up to a day). Attempts during a lock
    are refused unchecked and do not extend it. The count, the check and the log are one
    transaction, so simultaneous attempts cannot all slip under the limit.

    Args:
        engine: The store's engine.
        name: The user name typed.
        password: The password typed.
        client: The client's address as the web server saw it.
        now: The time of the attempt (tests); default now.

    Raises:
        SignInError: wrong name or password (one message for both), or a lock in force.
    """
    name_kept, client = _kept(name, 200), _kept(client or UNKNOWN_CLIENT, 64)
    with _sign_in_transaction(engine) as conn:
        lock = _locked_row(conn, name_kept, client)
        now = now or _now()  # once the lock is ours, so a wait does not count as time passed
        role, refusal = _attempt(conn, lock, name, name_kept, password, now)
        conn.execute(insert(SignIn).values(name=name_kept, at=now, success=role is not None, client=client))
    if role is None:
        raise SignInError(refusal or WRONG)
    return role


def _kept(text: str, length: int) -> str:
    """`text` as it can be stored: no NUL (PostgreSQL refuses it), at most `length` characters."""
    return text.replace("\x00", "\ufffd")[:length]


@contextmanager
def _sign_in_transaction(engine: Engine) -> Iterator[Connection]:
    """One sign-in's transaction, serialised with the other attempts on the same name and address.

    SQLite: `BEGIN IMMEDIATE`, the database's write lock. PostgreSQL: a plain transaction in
    which the (name, client) row lock serialises attempts on that pair only.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(chasm_write=True)
        with conn.begin():
            yield conn


def _attempt(conn: Connection, lock, name: str, name_kept: str, password: str,  # type: ignore[no-untyped-def]
             now: datetime) -> tuple[str | None, str | None]:
    """(role, None) for the right password, (None, why) otherwise; the lock row is updated."""
    if lock.locked_until is not None and now < lock.locked_until:
        return None, _locked_message(name, lock.locked_until - now)
    row = None
    if name == name_kept:  # a longer name (or one with NUL) cannot be an account
        row = conn.execute(select(col(User.role), col(User.password_hash))
                           .where(col(User.name) == name)).first()
    # An unknown name costs a hash check too, so the time taken does not tell which names exist.
    if _verify(row.password_hash if row else _dummy_hash(), password) and row is not None:
        conn.execute(update(SignInLock).where(col(SignInLock.id) == lock.id).values(_CLEAR))
        return row.role, None
    conn.execute(update(SignInLock).where(col(SignInLock.id) == lock.id).values(_after_failure(lock, now)))
    return None, WRONG


# Lock rows are reset, never deleted: a concurrent attempt may be waiting on the row.
_CLEAR = {"failures": 0, "window_start": None, "lockouts": 0, "locked_until": None}


def _locked_row(conn: Connection, name: str, client: str):  # type: ignore[no-untyped-def]
    """The pair's lock row, created if new and locked for this transaction (FOR UPDATE)."""
    dialect_insert = postgresql_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(dialect_insert(SignInLock).values(name=name, client=client, failures=0, lockouts=0)
                 .on_conflict_do_nothing(index_elements=["name", "client"]))
    query = select(SignInLock).where(col(SignInLock.name) == name, col(SignInLock.client) == client)
    return conn.execute(query.with_for_update()).one()


def _after_failure(lock, now: datetime) -> dict:  # type: ignore[no-untyped-def]
    lockouts = lock.lockouts
    if lock.locked_until is not None and now - lock.locked_until > BACKOFF_MEMORY:
        lockouts = 0  # a lock long past no longer doubles the next one
    fresh = lock.window_start is None or now - lock.window_start > LOCKOUT
    failures = 1 if fresh else lock.failures + 1
    if failures < MAX_FAILURES:
        return {"failures": failures, "window_start": now if fresh else lock.window_start,
                "lockouts": lockouts}
    return {"failures": 0, "window_start": None, "lockouts": lockouts + 1,
            "locked_until": now + lock_duration(lockouts + 1)}


def lock_duration(lockouts: int) -> timedelta:
    """How long the `lockouts`-th lock in a row lasts: 15 minutes, doubling, at most a day."""
    return min(LOCKOUT * 2 ** (lockouts - 1), MAX_LOCKOUT)


def _locked_message(name: str, remaining: timedelta) -> str:
    minutes = max(1, math.ceil(remaining.total_seconds() / 60))
    return f"too many failed sign-ins for {name!r}; try again in {minutes} minute{'s' * (minutes != 1)}"


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(12))


def unlock(engine: Engine, *, name: str, now: datetime | None = None) -> int:
    """Lift every sign-in lock on an account, from every address, and forget its failures.

    Args:
        engine: The store's engine.
        name: The account.
        now: The time (tests); default now.

    Returns:
        How many addresses were locked out of it.

    Raises:
        AccountError: no such user.
    """
    now = now or _now()
    with write_transaction(engine) as conn:
        if conn.execute(select(col(User.id)).where(col(User.name) == name)).first() is None:
            raise AccountError(f"user {name!r} does not exist")
        locked = conn.execute(select(func.count()).select_from(SignInLock).where(
            col(SignInLock.name) == name, col(SignInLock.locked_until) > now)).scalar_one()
        conn.execute(update(SignInLock).where(col(SignInLock.name) == name).values(_CLEAR))
    return locked


def sign_in_locks(engine: Engine, now: datetime | None = None) -> pd.DataFrame:
    """The locks in force now (name, client, locked_until, lockouts), soonest to end first."""
    now = now or _now()
    query = (select(col(SignInLock.name), col(SignInLock.client), col(SignInLock.locked_until),
                    col(SignInLock.lockouts))
             .where(col(SignInLock.locked_until) > now).order_by(col(SignInLock.locked_until)))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return pd.DataFrame(rows, columns=["name", "client", "locked_until", "lockouts"])


def sign_ins(engine: Engine, limit: int = 200) -> pd.DataFrame:
    """The latest sign-in attempts (name, at, success, method, client)."""
    with engine.connect() as conn:
        rows = conn.execute(select(col(SignIn.name), col(SignIn.at), col(SignIn.success), col(SignIn.method),
                                   col(SignIn.client))
                            .order_by(col(SignIn.at).desc()).limit(limit)).all()
    return pd.DataFrame(rows, columns=["name", "at", "success", "method", "client"])
