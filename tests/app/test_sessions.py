"""Remembered sessions: the signed cookie that keeps people signed in across a refresh."""

import time

import pytest

from app.services import sessions
from db.accounts import add_user, set_password
from db.engine import create_store_engine
from db.migrate import upgrade


@pytest.fixture
def engine(tmp_path, monkeypatch):
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("CHASM_SESSION_SECRET", raising=False)
    url = f"sqlite:///{tmp_path / 'chasm.db'}"
    upgrade(url)
    engine = create_store_engine(url)
    add_user(engine, name="erin", role="editor", password="editor-pass-1")
    yield engine
    engine.dispose()


def test_a_cookie_signs_its_account_in_with_the_role_from_the_database(engine, tmp_path):
    token = sessions.issue(engine, "erin", now=1_000_000)
    assert sessions.verify(engine, token, now=1_000_060) == ("erin", "editor", 1_000_000)
    key = tmp_path / "data" / "session.key"
    assert key.stat().st_mode & 0o777 == 0o600 and len(key.read_text()) == 64


@pytest.mark.parametrize("spoil", [
    lambda t: t[:-1] + ("0" if t[-1] != "0" else "1"),  # a forged signature
    lambda t: "YWRtaW4" + t[t.index("."):],  # another name ("admin") with erin's signature
    lambda t: t.replace(".", "", 1), lambda t: "", lambda t: "a.b.c", lambda t: "%%%.1.2",
], ids=["signature", "name", "shape", "empty", "not-a-number", "not-base64"])
def test_a_spoilt_cookie_signs_no_one_in(engine, spoil):
    token = sessions.issue(engine, "erin", now=1_000_000)
    assert sessions.verify(engine, spoil(token), now=1_000_060) is None


def test_a_cookie_lapses_when_idle_too_long_and_with_a_new_password_or_secret(engine, monkeypatch):
    now = time.time()
    token = sessions.issue(engine, "erin", now=now)
    idle = 30 * 60  # CHASM_SESSION_IDLE_MINUTES' default
    assert sessions.verify(engine, token, now=now + idle - 1) is not None
    assert sessions.verify(engine, token, now=now + idle + 1) is None
    assert sessions.verify(engine, token, now=now - 60) is None, "issued in the future"
    monkeypatch.setenv("CHASM_SESSION_SECRET", "another-secret")
    assert sessions.verify(engine, token, now=now) is None
    monkeypatch.delenv("CHASM_SESSION_SECRET")
    set_password(engine, name="erin", password="a-new-pass-2")
    assert sessions.verify(engine, token, now=now) is None, "a new password ends remembered sessions"


def test_no_cookie_for_an_account_that_does_not_exist(engine):
    with pytest.raises(LookupError, match=r"^no account is called 'nobody'$"):
        sessions.issue(engine, "nobody")
