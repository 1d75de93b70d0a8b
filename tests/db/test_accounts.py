"""Local accounts: argon2id hashes, roles, the last admin, rate-limited and logged sign-ins."""

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
    sign_ins,
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
