"""The Experiments page: a scenario, method, outcome and factors in words; run; see which matters."""

import re

from app.services.experiments import FACTORS, OUTPUT_WORDS, output_words
from tests.app.conftest import click, signed_in, texts

SNAKE = re.compile(r"\b[a-z]+_[a-z_]+\b")


def _experiments(method: str = "sobol", samples: int = 4, runs: int = 3,
                 factors: tuple[str, ...] = ("levers.friction_minutes", "organisation.distrust_share")):
    at = signed_in("editor", "experiments")
    at.selectbox(key="exp_scenario").select("Preset: pilot").run()
    at.selectbox(key="exp_method").set_value(method).run()
    at.number_input(key=f"exp_samples_{method}").set_value(samples).run()
    at.number_input(key="exp_runs").set_value(runs).run()
    at.number_input(key="exp_week_26").set_value(26).run()
    at.multiselect(key="exp_factors").set_value(list(factors)).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _shown(at) -> list[str]:
    """Everything a person reads: labels, options, chosen values, text, tables."""
    shown: list[str] = []
    for kind in ("selectbox", "multiselect"):
        for widget in at.get(kind):
            shown += [widget.label, *widget.options]
    shown += [w.label for w in at.number_input] + [b.label for b in at.button]
    shown += texts(at.markdown) + texts(at.caption) + texts(at.title) + texts(at.subheader)
    for frame in at.dataframe:
        table = frame.value
        shown += [str(c) for c in table.columns] + [str(v) for v in table.to_numpy().ravel()]
    return shown


def _no_snake_case(at) -> None:
    leaks = [text for text in _shown(at) if SNAKE.search(text)]
    assert not leaks, leaks


def test_it_offers_methods_outcomes_and_factors_in_words():
    at = signed_in("editor", "experiments")
    assert texts(at.title) == ["Experiments"]
    assert "Sobol' indices: the share of the outcome's spread each factor explains" in \
        at.selectbox(key="exp_method").options
    assert "Minutes the tool adds per work order" in at.multiselect(key="exp_factors").options
    assert output_words("active_share@week52") == "Active share at week 52"
    assert set(at.selectbox(key="exp_output").options) == set(OUTPUT_WORDS.values())
    _no_snake_case(at)


def test_a_sobol_experiment_shows_which_factor_matters_with_intervals():
    at = _experiments()
    assert "4 variants x 3 runs" not in " ".join(texts(at.caption))  # Sobol': samples x (factors + 2)
    assert "16 variants x 3 runs = 48 simulated rollouts of 12 technicians over 26 weeks." in \
        texts(at.caption)
    click(at, "Run the experiment")
    assert "16 variants x 3 runs of pilot; outcome: active share at week 26." in texts(at.markdown)
    [table] = [frame.value for frame in at.dataframe]
    assert list(table.columns) == ["Factor", "Total effect", "Total effect, ± (95%)", "Alone",
                                   "Alone, ± (95%)"]
    assert set(table["Factor"]) == {FACTORS["levers.friction_minutes"].words,
                                    FACTORS["organisation.distrust_share"].words}
    assert table["Total effect"].str.fullmatch(r"-?\d+%").all()
    assert table["Total effect, ± (95%)"].str.fullmatch(r"± \d+%").all()
    [spec] = [c.proto.spec for c in at.get("vega_lite_chart")]
    assert "Which factors matter" in spec and "Total effect (with interactions)" in spec
    assert [b.proto.label for b in at.get("download_button")] == ["Download the results (JSON)",
                                                                  "Download every run (CSV)"]
    document = at.session_state["exp_result"].as_json()
    assert set(document) == {"design", "points", "sensitivity", "manifest"}
    assert document["design"]["method"] == "sobol" and document["design"]["output"] == "active_share@week26"
    assert document["design"]["factors"] == {"levers.friction_minutes": [0.5, 12.0],
                                             "organisation.distrust_share": [0.2, 0.9]}
    assert len(document["points"]) == 16 and {"S1", "ST_conf"} <= set(document["sensitivity"][0])
    _no_snake_case(at)


def test_a_morris_screening_gives_effects_in_points():
    at = _experiments(method="morris", samples=2)
    click(at, "Run the experiment")
    [table] = [frame.value for frame in at.dataframe]
    assert list(table.columns) == ["Factor", "Mean absolute effect", "Spread of the effect"]
    assert table["Mean absolute effect"].str.fullmatch(r"\d+\.\d pts").all()
    assert len(at.get("vega_lite_chart")) == 1
    _no_snake_case(at)


def test_a_grid_lists_every_variant_best_first():
    at = _experiments(method="grid", samples=3, factors=("levers.alerts_per_week",))
    assert "3 variants x 3 runs = 9 simulated rollouts of 12 technicians over 26 weeks." in texts(at.caption)
    click(at, "Run the experiment")
    [table] = [frame.value for frame in at.dataframe]
    assert list(table.columns) == ["Alerts per technician per week", "Mean", "5th percentile",
                                   "95th percentile"]
    assert sorted(table["Alerts per technician per week"]) == ["1", "10", "6"]
    assert table["Mean"].str.fullmatch(r"\d+%").all()
    _no_snake_case(at)


def test_a_range_the_wrong_way_round_is_refused_in_words():
    at = _experiments(factors=("levers.friction_minutes",))
    at.number_input(key="exp_low_levers.friction_minutes").set_value(12.0).run()
    at.number_input(key="exp_high_levers.friction_minutes").set_value(0.5).run()
    click(at, "Run the experiment")
    [error] = [e.replace("\\", "") for e in texts(at.error)]  # as shown: Markdown's escapes removed
    assert error == ("This experiment cannot run: Minutes the tool adds per work order = "
                     "[12.0, 0.5]: the range must be [low, high] with low below high.")
    assert "exp_result" not in at.session_state


def test_no_factor_means_nothing_to_run():
    at = _experiments(factors=())
    [button] = [b for b in at.button if b.label == "Run the experiment"]
    assert button.disabled


def test_a_saved_scenario_can_be_the_experiments_scenario(engine):
    from app.services.simulator import preset_toml
    from db.saved_scenarios import delete_scenario, save_scenario

    save_scenario(engine, name="Small pilot", toml=preset_toml("pilot"), saved_by="erin")
    try:
        at = signed_in("editor", "experiments")
        at.selectbox(key="exp_scenario").select("Small pilot").run()
        at.selectbox(key="exp_method").set_value("lhs").run()
        at.number_input(key="exp_samples_lhs").set_value(3).run()
        at.number_input(key="exp_runs").set_value(2).run()
        at.multiselect(key="exp_factors").set_value(["levers.support"]).run()
        click(at, "Run the experiment")
        assert "3 variants x 2 runs of Small pilot; outcome: active share at week 26." in texts(at.markdown)
        [table] = [frame.value for frame in at.dataframe]
        assert list(table.columns) == ["Support (0 none, 1 pilot-level)", "Mean", "5th percentile",
                                       "95th percentile"]
        _no_snake_case(at)
    finally:
        delete_scenario(engine, "Small pilot")
