"""The Plan page: the menu, fitting first when needed, the optimiser with progress, adopting its plan."""

import pytest
from sqlalchemy import delete

from tests.app.conftest import click, signed_in, texts
from tests.app.helpers import store_seed_calibration


@pytest.fixture()
def calibrated(engine):
    """A stored calibration (the seed case's posterior as the organisation's), removed afterwards:
    the other pages' tests need the shared store uncalibrated."""
    from db.models import Calibration

    weeks = store_seed_calibration(engine)
    yield weeks
    with engine.begin() as conn:
        conn.execute(delete(Calibration))


def test_without_a_fit_it_shows_the_menu_and_offers_to_fit():
    at = signed_in("editor", "plan")
    menu = at.dataframe[0].value
    assert "Pilot technicians become AI champions" in set(menu["Intervention"])
    assert all("_" not in c for c in menu.columns)
    assert menu["Fixed cost"].str.startswith("€").all()
    assert "needs the model fitted to our data first" in at.info[0].value
    assert [b for b in at.button if b.label == "Fit the model to our data now"]


def test_a_bad_menu_is_not_saved_and_says_why():
    from app.services.optimiser import menu_file

    before = menu_file().read_text()
    at = signed_in("editor", "plan")
    at.text_area(key="plan_menu_text").input(before.replace("fixed_cost = 8000", "fixed_cost = -5", 1)).run()
    click(at, "Save the menu")
    [error] = texts(at.error)
    # The key as typed in the menu file (Markdown-escaped on the page), with what is wrong with it.
    assert error == "Not saved: the menu: items\\[2\\]: fixed\\_cost = -5: must be an amount, 0 or more."
    assert menu_file().read_text() == before


def test_the_optimiser_recommends_a_plan_within_budget_and_adopts_it(calibrated, engine):
    from db.plans import adopted, retire

    at = signed_in("editor", "plan")
    at.number_input(key="plan_budget").set_value(30_000).run()
    at.select_slider(key="plan_trials").set_value(50).run()
    at = click(at, "Find the best plan")
    at.run(timeout=300)
    result, drivers = at.session_state["plan_result"]
    assert result.best.cost <= 30_000
    sentence = at.markdown[0].value
    assert sentence.startswith("Recommended: ") and "€" in sentence and "Doing nothing more: " in sentence
    specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "What each budget buys" in specs and "The recommended plan, week by week" in specs
    if drivers.effects:
        assert "Which levers matter" in specs
        assert any(c.startswith("Why: ") for c in texts(at.caption))
    at.text_input(key="plan_adopt_name").input("Best within 30k").run()
    click(at, "Adopt as plan")
    assert texts(at.success)[-1].startswith("Adopted 'Best within 30k'.")
    [row] = adopted(engine)
    assert row.source == "optimiser" and row.adopted_by == "erin"
    retire(engine, "Best within 30k")
