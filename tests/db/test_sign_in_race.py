"""Simultaneous sign-ins, each on its own connection, cannot slip past the limit together."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

import db.accounts as accounts
from db.accounts import MAX_FAILURES, SignInError, add_user, sign_in
from db.engine import create_store_engine
from db.models import SignIn

ATTEMPTS = 20
WRONG = "wrong user name or password"
LOCKED = "too many failed sign-ins for 'vic'; try again in 15 minutes"


@pytest.fixture
def checks(monkeypatch) -> list[str]:
    """Every password the store actually checked against a hash."""
    seen: list[str] = []
    verify = accounts._verify

    def counted(hashed: str, password: str) -> bool:
        seen.append(password)
        return verify(hashed, password)

    monkeypatch.setattr(accounts, "_verify", counted)
    return seen


def _all_at_once(store_url: str, passwords: list[str]) -> list[str]:
    """Sign in as vic with each password at the same moment, one thread and engine each."""
    ready = threading.Barrier(len(passwords))

    def attempt(password: str) -> str:
        engine = create_store_engine(store_url)
        try:
            with engine.connect():  # connect before the barrier, so the attempts really collide
                pass
            ready.wait()
            return sign_in(engine, name="vic", password=password, client="203.0.113.9")
        except SignInError as error:
            return str(error)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(len(passwords)) as pool:
        return list(pool.map(attempt, passwords))


def test_twenty_simultaneous_wrong_passwords_get_five_checks(store_url, engine, checks):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    outcomes = _all_at_once(store_url, [f"guess-{i}" for i in range(ATTEMPTS)])
    assert sorted(outcomes) == sorted([WRONG] * MAX_FAILURES + [LOCKED] * (ATTEMPTS - MAX_FAILURES))
    assert len(checks) == MAX_FAILURES
    with pytest.raises(SignInError, match=f"^{LOCKED}$"):
        sign_in(engine, name="vic", password="viewer-pass", client="203.0.113.9")


def test_the_right_password_among_simultaneous_guesses_counts_only_before_the_limit(
        store_url, engine, checks):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    outcomes = _all_at_once(store_url, ["viewer-pass"] + [f"guess-{i}" for i in range(ATTEMPTS - 1)])
    with engine.connect() as conn:  # the log's order is the order the attempts were decided in
        log = conn.execute(select(SignIn.success).order_by(SignIn.id)).scalars().all()
    assert len(log) == ATTEMPTS and log.count(True) == outcomes.count("viewer") <= 1
    if True in log:
        assert log.index(True) < MAX_FAILURES  # a success only ever came before the lock
    checked_after_success = 0 if True not in log else MAX_FAILURES
    assert len(checks) <= MAX_FAILURES + checked_after_success
    assert outcomes.count(WRONG) + outcomes.count("viewer") == len(checks)
