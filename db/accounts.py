"""Local accounts: argon2id password hashes, roles, and rate-limited, logged sign-ins."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, func, insert, select, update

from db.engine import write_transaction
from db.models import SignIn, User

ROLES = ("viewer", "editor", "admin")
MAX_FAILURES = 5
LOCKOUT = timedelta(minutes=15)
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
        if conn.execute(select(User.id).where(User.name == name)).first():
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
        done = conn.execute(update(User).where(User.name == name).values(
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
        current = conn.execute(select(User.role).where(User.name == name)).scalar()
        if current is None:
            raise AccountError(f"user {name!r} does not exist")
        admins = conn.execute(select(func.count()).where(User.role == "admin")).scalar()
        if current == "admin" and role != "admin" and admins <= 1:
            raise AccountError(f"user {name!r} is the last admin; make someone else admin first")
        conn.execute(update(User).where(User.name == name).values(role=role))


def remove_user(engine: Engine, *, name: str) -> None:
    """Delete an account (never the last admin).

    Raises:
        AccountError: no such user, or the last admin.
    """
    with write_transaction(engine) as conn:
        role = conn.execute(select(User.role).where(User.name == name)).scalar()
        if role is None:
            raise AccountError(f"user {name!r} does not exist")
        admins = conn.execute(select(func.count()).where(User.role == "admin")).scalar()
        if role == "admin" and admins <= 1:
            raise AccountError(f"user {name!r} is the last admin and cannot be removed")
        conn.execute(delete(User).where(User.name == name))


def users(engine: Engine) -> pd.DataFrame:
    """Accounts (name, role, created_at); never the hashes."""
    with engine.connect() as conn:
        rows = conn.execute(select(User.name, User.role, User.created_at).order_by(User.name)).all()
    return pd.DataFrame(rows, columns=["name", "role", "created_at"])


def must_change_password(engine: Engine, name: str) -> bool:
    """Whether the account still has a one-time password (the first start's generated admin one)."""
    with engine.connect() as conn:
        return bool(conn.execute(select(User.must_change_password).where(User.name == name)).scalar())


def role_of(engine: Engine, name: str) -> str | None:
    """The account's role, or None if there is no such account (e.g. for single sign-on)."""
    with engine.connect() as conn:
        return conn.execute(select(User.role).where(User.name == name)).scalar()


def ensure_admin(engine: Engine, password: str | None = None) -> str | None:
    """Create the `admin` account on first start.

    Args:
        engine: the store's engine.
        password: the password to set (CHASM_ADMIN_PASSWORD); a one-time one is generated if None.

    Returns:
        The generated one-time password, or None when admin existed or a password was given.
    """
    with engine.connect() as conn:
        if conn.execute(select(User.id).where(User.name == "admin")).first():
            return None
    generated = None if password else secrets.token_urlsafe(12)
    add_user(engine, name="admin", role="admin", password=password or generated)
    if generated:
        with write_transaction(engine) as conn:
            conn.execute(update(User).where(User.name == "admin").values(must_change_password=True))
    return generated


def sign_in(engine: Engine, *, name: str, password: str, now: datetime | None = None) -> str:
    """Check a password, logging the attempt; returns the account's role.

    Raises:
        SignInError: wrong name or password (one message for both), or too many recent failures.
    """
    now = now or _now()
    with engine.connect() as conn:  # the password check runs outside the write lock
        failures = conn.execute(select(func.count()).where(
            SignIn.name == name, SignIn.success.is_(False), SignIn.at >= now - LOCKOUT)).scalar()
        row = conn.execute(select(User.role, User.password_hash).where(User.name == name)).first()
    ok = failures < MAX_FAILURES and row is not None and _verify(row.password_hash, password)
    with write_transaction(engine) as conn:
        conn.execute(insert(SignIn).values(name=name, at=now, success=ok))
    if failures >= MAX_FAILURES:
        raise SignInError(f"too many failed sign-ins for {name!r}; try again in "
                          f"{int(LOCKOUT.total_seconds() // 60)} minutes")
    if not ok:
        raise SignInError("wrong user name or password")
    return row.role


def _verify(hashed: str, password: str) -> bool:
    try:
        return _hasher.verify(hashed, password)
    except (VerificationError, InvalidHashError):
        return False


def sign_ins(engine: Engine, limit: int = 200) -> pd.DataFrame:
    """The latest sign-in attempts (name, at, success, method)."""
    with engine.connect() as conn:
        rows = conn.execute(select(SignIn.name, SignIn.at, SignIn.success, SignIn.method)
                            .order_by(SignIn.at.desc()).limit(limit)).all()
    return pd.DataFrame(rows, columns=["name", "at", "success", "method"])
