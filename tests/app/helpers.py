"""A forecast document as `forecast_document` produces it, for pages tested without calibrating."""

from datetime import date, timedelta

from app.services.documents import (
    BacktestResult,
    Bands,
    BassBaseline,
    Driver,
    ForecastDocument,
    MethodScore,
    ObservedSeries,
    PlanForecast,
    PosteriorSummary,
    Ranking,
)


def bands(weeks: list[int], mid: list[float]) -> Bands:
    """Bands around a median: 80% within 8 points, 95% within 12."""
    return Bands(week=weeks, mean=mid, p50=mid,
                 **{k: [m + d for m in mid] for k, d in (("p025", -0.12), ("p10", -0.08), ("p25", -0.04),
                                                        ("p75", 0.04), ("p90", 0.08), ("p975", 0.12))})


def forecast_doc(*, weeks: int = 20, horizon: int = 8, facility=None) -> ForecastDocument:
    future = list(range(weeks + 1, weeks + horizon + 1))

    def rising(level: float, step: float) -> Bands:
        return bands(future, [level + step * i for i in range(horizon)])

    unpriced = {"cost": 0.0, "cost_per_point": None, "points_gained": 0.0, "downtime_hours_saved": 120.0,
                "downtime_saving": 0.0, "expected_week_of_target": None}
    return ForecastDocument(
        facility=facility, data_version="test", calibration_id=1, created_at="2026-11-23T06:00:00+00:00",
        observed=ObservedSeries(
            week=list(range(1, weeks + 1)),
            week_start=[date(2026, 1, 5) + timedelta(weeks=w) for w in range(weeks)],
            active_share=[0.4 + 0.01 * w for w in range(weeks)]),
        horizon=horizon, target=0.7, target_week=weeks + horizon,
        plans=[
            PlanForecast(**unpriced, plan="current plan", description="what is recorded",
                         bands=rising(0.6, 0.005), probability_of_target=0.31, expected_at_horizon=0.63),
            PlanForecast(plan="champions", description="12 champions from next week",
                         bands=rising(0.62, 0.01), probability_of_target=0.58, expected_at_horizon=0.69,
                         cost=12000.0, cost_per_point=2000.0, points_gained=6.0, downtime_hours_saved=410.0,
                         downtime_saving=20500.0, expected_week_of_target=float(weeks + horizon - 1),
                         drivers=[Driver(label="12 champions", week=weeks + 1, mean=0.061, p05=0.02,
                                         p95=0.1, helps_share=0.97),
                                  Driver(label="Hands-on refresher", week=weeks + 3, mean=0.024, p05=-0.01,
                                         p95=0.05, helps_share=0.81),
                                  Driver(label="Newsletter", week=weeks + 2, mean=0.0, p05=-0.01, p95=0.01,
                                         helps_share=0.5)]),
        ],
        recommended="champions",
        baseline=BassBaseline(week=future, mean=[0.6] * horizon, lo_80=[0.5] * horizon,
                              hi_80=[0.7] * horizon),
        ranking=Ranking(by_probability=["champions", "current plan"], by_cost_per_point=["champions"]),
        backtest=BacktestResult(model=MethodScore(mae=0.03, coverage80=0.8, origins=10, horizon=4, inside=8,
                                                  scored=10, window_weeks=12),
                                bass=MethodScore(mae=0.05, coverage80=0.4, origins=10, horizon=4, inside=4,
                                                 scored=10, window_weeks=12)),
        sentence="Over the last 12 weeks, our 4-week-ahead forecasts were off by 3 points on average, and "
                 "8 of 10 fell inside the 80% band (a textbook Bass curve: 5 points, 4 of 10).",
        posterior=PosteriorSummary(mean={"base_utility": 0.1}, interval90={"base_utility": (0.0, 0.2)}),
    )


def store_seed_calibration(engine, observed_weeks: int | None = None) -> int:
    """Store the seed case's posterior as the organisation's calibration (fast, through db/), fitted
    to `observed_weeks` weeks (default: all recorded); returns the number of recorded weeks."""
    from app.services.recorded import observed_series, recorded_scenario
    from db import forecasts as store
    from model.scenario import scenario_to_toml
    from model.seedcase import seed_posterior

    weeks = len(observed_series(engine))
    store.store_calibration(engine, facility=None, data_version=store.data_version(engine),
                            observed=[0.4] * (observed_weeks or weeks), posterior=seed_posterior().to_dict(),
                            scenario_toml=scenario_to_toml(recorded_scenario(engine)), seconds=1.0)
    return weeks


def facility_forecast(name: str, *, now: float, weeks_live: int = 40, chance: float = 0.5):
    """One facility's early warning, as the nightly refresh stores it in the document."""
    from app.services.documents import FacilityForecast

    last = date(2026, 11, 16)
    return FacilityForecast(
        facility=name, weeks_live=weeks_live, last_week_start=last, now=now,
        week_start=[last + timedelta(weeks=k) for k in range(1, 9)],
        p10=[now - 0.01 * k for k in range(1, 9)], p50=[now + 0.01 * k for k in range(1, 9)],
        p90=[now + 0.03 * k for k in range(1, 9)], chance_of_target=chance, target_date=date(2026, 7, 13),
        prior="the organisation's 13 other facilities live for 8 weeks or more",
        why=f"Fitted on {weeks_live} weeks, starting from the organisation's other facilities.")
