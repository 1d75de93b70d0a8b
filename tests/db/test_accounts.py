"""Local accounts: argon2id hashes, roles, the last admin, logged sign-ins limited by name and address."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.accounts import (
    AccountError,
    SignInError,
    add_user,
    ensure_admin,
    remove_user,
    role_of,
    set_password,
    set_role,
    sign_in,
    sign_in_locks,
    sign_ins,
    unlock,
    users,
)
from db.models import User


def test_a_new_account_signs_in_with_its_role_and_stores_only_an_argon2id_hash(engine):
    add_user(engine, name="erin", role="editor", password="editor-pass")
    assert sign_in(engine, name="erin", password="editor-pass") == "editor"
    with engine.connect() as conn:
        stored = conn.execute(select(User.password_hash).where(User.name == "erin")).scalar()
    assert stored.startswith("$argon2id$") and "editor-pass" not in stored
    assert list(users(engine).columns) == ["name", "role", "created_at"]


@pytest.mark.parametrize("kwargs,message", [
    ({"name": " erin", "role": "viewer", "password": "long-enough"}, "without surrounding spaces"),
    ({"name": "erin", "role": "boss", "password": "long-enough"}, "role 'boss': must be one of viewer"),
    ({"name": "erin", "role": "viewer", "password": "short"}, "password: use at least 8 characters"),
])
def test_bad_accounts_are_refused_with_the_reason(engine, kwargs, message):
    with pytest.raises(AccountError, match=message):
        add_user(engine, **kwargs)
    assert users(engine).empty


def test_a_taken_name_is_refused(engine):
    add_user(engine, name="erin", role="viewer", password="long-enough")
    with pytest.raises(AccountError, match="user 'erin' already exists"):
        add_user(engine, name="erin", role="admin", password="long-enough")
    assert role_of(engine, "erin") == "viewer"


def test_wrong_password_and_unknown_name_get_the_same_message(engine):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    for name, password in (("vic", "wrong-pass"), ("nobody", "viewer-pass")):
        with pytest.raises(SignInError, match="^wrong user name or password$"):
            sign_in(engine, name=name, password=password)
    log = sign_ins(engine)
    assert list(log["success"]) == [False, False] and set(log["name"]) == {"vic", "nobody"}


def test_five_failures_lock_the_account_even_for_the_right_password_until_the_lockout_ends(engine):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    start = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    for i in range(5):
        with pytest.raises(SignInError):
            sign_in(engine, name="vic", password="wrong", now=start + timedelta(seconds=i))
    with pytest.raises(SignInError, match="too many failed sign-ins for 'vic'; try again in 15 minutes"):
        sign_in(engine, name="vic", password="viewer-pass", now=start + timedelta(minutes=1))
    assert sign_in(engine, name="vic", password="viewer-pass", now=start + timedelta(minutes=16)) == "viewer"


def test_password_and_role_changes(engine):
    add_user(engine, name="erin", role="viewer", password="first-pass")
    set_password(engine, name="erin", password="second-pass")
    set_role(engine, name="erin", role="editor")
    assert sign_in(engine, name="erin", password="second-pass") == "editor"
    with pytest.raises(SignInError):
        sign_in(engine, name="erin", password="first-pass")
    with pytest.raises(AccountError, match="user 'ghost' does not exist"):
        set_password(engine, name="ghost", password="long-enough")


def test_the_last_admin_can_be_neither_demoted_nor_removed(engine):
    add_user(engine, name="root", role="admin", password="admin-pass")
    with pytest.raises(AccountError, match="last admin"):
        set_role(engine, name="root", role="editor")
    with pytest.raises(AccountError, match="last admin"):
        remove_user(engine, name="root")
    add_user(engine, name="second", role="admin", password="admin-pass")
    remove_user(engine, name="root")
    assert role_of(engine, "root") is None and role_of(engine, "second") == "admin"


def test_ensure_admin_generates_a_one_time_password_once(engine):
    generated = ensure_admin(engine)
    assert generated and len(generated) >= 12
    assert sign_in(engine, name="admin", password=generated) == "admin"
    assert ensure_admin(engine) is None
    with engine.connect() as conn:
        assert conn.execute(select(User.must_change_password).where(User.name == "admin")).scalar()


def test_ensure_admin_takes_the_given_password(engine):
    assert ensure_admin(engine, "from-the-env") is None
    assert sign_in(engine, name="admin", password="from-the-env") == "admin"


START = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
STRANGER, OFFICE = "203.0.113.9", "198.51.100.7"


def _fail(engine, name, times, *, client=STRANGER, start=START):
    for i in range(times):
        with pytest.raises(SignInError):
            sign_in(engine, name=name, password="wrong-guess", client=client,
                    now=start + timedelta(seconds=i))


def test_a_stranger_locks_only_their_own_address_out(engine):
    add_user(engine, name="root", role="admin", password="admin-pass")
    _fail(engine, "root", 5)
    later = START + timedelta(minutes=1)
    with pytest.raises(SignInError, match="^too many failed sign-ins for 'root'; try again in 15 minutes$"):
        sign_in(engine, name="root", password="admin-pass", client=STRANGER, now=later)
    assert sign_in(engine, name="root", password="admin-pass", client=OFFICE, now=later) == "admin"
    log = sign_ins(engine)
    assert log["client"].tolist()[:2] == [OFFICE, STRANGER] and log["success"].tolist()[:2] == [True, False]


def test_refused_attempts_during_a_lock_do_not_extend_it(engine):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    _fail(engine, "vic", 5)  # the fifth, at 09:00:04, locks vic from the stranger's address until 09:15:04
    for minutes, left in ((1, "15 minutes"), (10, "6 minutes"), (14, "2 minutes"), (15, "1 minute")):
        with pytest.raises(SignInError, match=f"try again in {left}$"):
            sign_in(engine, name="vic", password="wrong-guess", client=STRANGER,
                    now=START + timedelta(minutes=minutes))
    assert sign_in(engine, name="vic", password="viewer-pass", client=STRANGER,
                   now=START + timedelta(minutes=15, seconds=5)) == "viewer"


def test_each_further_lock_lasts_twice_as_long_until_a_success(engine):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    start = START
    for lock_minutes in (15, 30, 60, 120):
        _fail(engine, "vic", 5, start=start)
        with pytest.raises(SignInError, match=f"try again in {lock_minutes} minutes$"):
            sign_in(engine, name="vic", password="viewer-pass", client=STRANGER,
                    now=start + timedelta(seconds=4))
        start += timedelta(minutes=lock_minutes, seconds=5)
    assert sign_in(engine, name="vic", password="viewer-pass", client=STRANGER, now=start) == "viewer"
    _fail(engine, "vic", 5, start=start + timedelta(minutes=1))
    with pytest.raises(SignInError, match="try again in 15 minutes$"):  # the success reset the backoff
        sign_in(engine, name="vic", password="viewer-pass", client=STRANGER,
                now=start + timedelta(minutes=1, seconds=4))


def test_failures_spread_wider_than_the_window_do_not_lock(engine):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    for i in range(8):
        _fail(engine, "vic", 1, start=START + timedelta(minutes=4 * i))
    assert sign_in(engine, name="vic", password="viewer-pass", client=STRANGER,
                   now=START + timedelta(minutes=33)) == "viewer"


def test_an_admin_lifts_the_locks_on_an_account(engine):
    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    _fail(engine, "vic", 5)
    _fail(engine, "vic", 5, client=OFFICE)
    locks = sign_in_locks(engine, now=START + timedelta(minutes=1))
    assert sorted(locks["client"]) == [OFFICE, STRANGER] and set(locks["name"]) == {"vic"}
    assert unlock(engine, name="vic", now=START + timedelta(minutes=1)) == 2
    assert sign_in(engine, name="vic", password="viewer-pass", client=STRANGER,
                   now=START + timedelta(minutes=2)) == "viewer"
    assert sign_in_locks(engine, now=START + timedelta(minutes=2)).empty
    assert unlock(engine, name="vic") == 0
    with pytest.raises(AccountError, match="^user 'ghost' does not exist$"):
        unlock(engine, name="ghost")


def test_names_and_addresses_too_long_or_with_nul_are_refused_not_crashed(engine):
    for name, client in (("x" * 5000, "y" * 500), ("ad\x00min", "\x00")):
        with pytest.raises(SignInError, match="^wrong user name or password$"):
            sign_in(engine, name=name, password="whatever", client=client)
    assert len(sign_ins(engine)) == 2


def test_chasm_users_unlock_lifts_the_locks(engine):
    from tests.db.test_cli_store import invoke

    add_user(engine, name="vic", role="viewer", password="viewer-pass")
    now = datetime.now(UTC)
    _fail(engine, "vic", 5, start=now - timedelta(minutes=1))
    result = invoke("users", "unlock", "vic")
    assert result.exit_code == 0 and result.stdout == "Unlocked vic (1 locked address(es)).\n"
    assert sign_in(engine, name="vic", password="viewer-pass", client=STRANGER) == "viewer"
    assert invoke("users", "unlock", "vic").stdout == "vic was not locked.\n"
    missing = invoke("users", "unlock", "ghost")
    assert missing.exit_code == 1 and missing.stderr == "error: user 'ghost' does not exist\n"
