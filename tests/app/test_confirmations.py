"""Destructive actions ask first; an admin lifts sign-in locks from the Admin page."""

from datetime import UTC, datetime, timedelta

import pytest

from app.services.simulator import preset_toml
from db.accounts import SignInError, add_user, role_of, sign_in
from db.saved_scenarios import save_scenario, saved_scenarios
from tests.app.conftest import click, signed_in, texts


def _button(at, label: str):
    [button] = [b for b in at.button if b.label == label]
    return button


def test_removing_a_user_needs_the_named_confirmation(engine):
    for name in ("temp-one", "temp-two"):
        add_user(engine, name=name, role="viewer", password="temp-pass-1")
    at = signed_in("admin", "admin")
    at.selectbox(key="admin_user").select("temp-one").run()
    assert _button(at, "Remove user").disabled
    at.checkbox(key="admin_remove_sure_temp-one").check().run()
    assert at.checkbox(key="admin_remove_sure_temp-one").label == "Yes, remove temp-one"
    at.selectbox(key="admin_user").select("temp-two").run()  # another user: asked again
    assert not at.checkbox(key="admin_remove_sure_temp-two").value and _button(at, "Remove user").disabled
    at.selectbox(key="admin_user").select("temp-one").run()
    assert _button(at, "Remove user").disabled  # and asked again on coming back
    at.checkbox(key="admin_remove_sure_temp-one").check().run()
    click(at, "Remove user")
    assert "Removed temp-one." in texts(at.success)
    assert role_of(engine, "temp-one") is None and role_of(engine, "temp-two") == "viewer"


def test_an_admin_cannot_tick_removing_themselves():
    at = signed_in("admin", "admin")
    at.selectbox(key="admin_user").select("admin").run()
    assert at.checkbox(key="admin_remove_sure_admin").disabled and _button(at, "Remove user").disabled


def test_deleting_a_saved_scenario_needs_the_named_confirmation(engine):
    save_scenario(engine, name="Doomed plan", toml=preset_toml("rollout"), saved_by="erin")
    at = signed_in("editor", "simulator")
    at.selectbox(key="sim_delete_choice").select("Doomed plan").run()
    assert _button(at, "Delete scenario").disabled
    sure = at.checkbox(key="sim_delete_sure_Doomed plan")
    assert sure.label == "Yes, delete Doomed plan"
    sure.check().run()
    click(at, "Delete scenario")
    assert "Deleted scenario 'Doomed plan'." in texts(at.success)
    assert "Doomed plan" not in set(saved_scenarios(engine)["name"])


def test_an_admin_unlocks_a_locked_account(engine):
    add_user(engine, name="locky", role="viewer", password="locky-pass-1")
    start = datetime.now(UTC) - timedelta(minutes=1)
    for i in range(5):
        with pytest.raises(SignInError):
            sign_in(engine, name="locky", password="wrong", client="203.0.113.9",
                    now=start + timedelta(seconds=i))
    with pytest.raises(SignInError, match="too many failed sign-ins for 'locky'"):
        sign_in(engine, name="locky", password="locky-pass-1", client="203.0.113.9")
    at = signed_in("admin", "admin")
    at.selectbox(key="admin_unlock_user").select("locky").run()
    click(at, "Unlock")
    assert "Unlocked locky." in texts(at.success)
    assert sign_in(engine, name="locky", password="locky-pass-1", client="203.0.113.9") == "viewer"
