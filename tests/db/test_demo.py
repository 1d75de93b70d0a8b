from __future__ import annotations

import pytest

from db import queries
from db.demo import DEMO_DIR, load_demo, prepare_first_start
from db.engine import create_store_engine
from db.errors import IngestError
from db.ingest import ingest_file
from db.migrate import upgrade
from tests.db.conftest import BACKENDS
from tests.db.helpers import snapshot


@pytest.fixture(scope="module", params=BACKENDS)
def demo_store(request, tmp_path_factory):
    """The demo loaded once per backend; the tests below only read it (or fail to change it)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('demo') / 'demo.db'}"
    else:
        url = request.getfixturevalue("postgres_database")()
    upgrade(url)
    engine = create_store_engine(url)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CHASM_PSEUDONYM_SECRET", "test-secret")
        loaded = load_demo(engine)
    yield engine, loaded
    engine.dispose()


@pytest.fixture
def engine(demo_store):
    return demo_store[0]


@pytest.fixture
def demo(demo_store):
    return demo_store[1]


def test_demo_tells_the_seed_story(engine, demo):
    assert [r.inserted for r in demo.reports] == [15 * 78, 280 * 78]
    assert demo.new_interventions == 10
    metrics = queries.weekly_metrics(engine)
    assert metrics["facility"].nunique() == 15
    weekly = metrics.groupby("week_start")[["active_users", "technicians"]].sum()
    share = (weekly["active_users"] / weekly["technicians"]).to_numpy()
    assert weekly["technicians"].iloc[0] == 280
    assert share[3] == pytest.approx(0.41, abs=0.02)  # month 1
    assert share[12] == pytest.approx(0.38, abs=0.02)  # month 3
    assert share[25] < share[12]  # drifts down to month 6
    assert share[77] == pytest.approx(0.73, abs=0.02)  # month 18
    last = metrics[metrics["week_start"] == metrics["week_start"].max()]
    by_facility = last["active_users"] / last["technicians"]
    assert by_facility.max() - by_facility.min() > 0.2  # facilities differ


def test_demo_load_is_idempotent(engine, demo):
    before = snapshot(engine)
    again = load_demo(engine)
    assert [r.changed_anything for r in again.reports] == [False, False]
    assert again.new_interventions == 0
    assert snapshot(engine) == before


def test_clean_example_would_correct_two_counts(engine, demo):
    clean = DEMO_DIR / "examples" / "upload_clean.csv"
    report = ingest_file(clean, engine=engine, dry_run=True)
    assert (report.inserted, report.updated, report.unchanged) == (0, 2, 13)


def test_example_with_mistakes_is_rejected_with_every_mistake(engine, demo):
    with pytest.raises(IngestError) as raised:
        ingest_file(DEMO_DIR / "examples" / "upload_with_mistakes.csv", engine=engine)
    assert [(p.row, p.column) for p in raised.value.problems] == [
        (3, "Active users"),
        (4, "Active users"),
        (5, "Work orders"),
        (6, "AI-assisted work orders"),
        (7, "Site"),
        (8, "Week of"),
        (9, "Week of"),
    ]
    assert [w.message for w in raised.value.warnings] == [
        "column not recognised, so it was ignored",
        "not a Monday: counted in the week starting Monday 2026-11-16 (1 row(s))",
    ]


def test_interventions_are_listed(engine, demo):
    log = queries.interventions(engine)
    assert len(log) == 10
    assert set(log["kind"]) >= {"champions", "cmms_integration", "kpi_change", "training_wave"}
    assert log["facility"].isna().sum() == 9


def test_first_start_migrates_and_loads_demo_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = create_store_engine(url)
    first = prepare_first_start(engine)
    assert first is not None and first.reports[0].inserted == 15 * 78
    assert prepare_first_start(engine) is None
    engine.dispose()


def test_the_demo_puts_its_plans_in_the_plans_folder_without_overwriting(tmp_path, monkeypatch):
    plans = tmp_path / "plans"
    monkeypatch.setenv("CHASM_PLANS_DIR", str(plans))
    plans.mkdir()
    (plans / "open_the_ai.toml").write_text("# the organisation's own version\n")
    engine = create_store_engine(f"sqlite:///{tmp_path / 'chasm.db'}")
    upgrade(f"sqlite:///{tmp_path / 'chasm.db'}")
    shipped = sorted(p.name for p in (DEMO_DIR / "plans").glob("*.toml"))
    assert len(shipped) == 3 and "open_the_ai.toml" in shipped

    loaded = load_demo(engine)
    assert loaded.new_plans == [n for n in shipped if n != "open_the_ai.toml"]
    assert sorted(p.name for p in plans.glob("*.toml")) == shipped
    assert (plans / "open_the_ai.toml").read_text() == "# the organisation's own version\n"
    assert load_demo(engine).new_plans == []
    engine.dispose()
