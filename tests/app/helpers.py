"""A forecast document in the shape app.forecasting produces, for pages tested without calibrating."""


def forecast_doc(*, weeks: int = 20, horizon: int = 8, facility=None) -> dict:
    observed = [0.4 + 0.01 * w for w in range(weeks)]
    future = list(range(weeks + 1, weeks + horizon + 1))

    def bands(level: float, step: float) -> dict:
        mid = [level + step * i for i in range(horizon)]
        return {"week": future, "mean": mid, "p50": mid,
                **{k: [m + d for m in mid] for k, d in (("p025", -0.12), ("p10", -0.08), ("p25", -0.04),
                                                       ("p75", 0.04), ("p90", 0.08), ("p975", 0.12))}}

    plan = {"cost": 0.0, "cost_per_point": None, "points_gained": 0.0, "downtime_hours_saved": 120.0,
            "downtime_saving": 0.0, "expected_week_of_target": None}
    return {
        "facility": facility, "data_version": "test", "created_at": "2026-11-23T06:00:00+00:00",
        "observed": {"week": list(range(1, weeks + 1)),
                     "week_start": [f"2026-{1 + w // 4:02d}-{1 + 7 * (w % 4):02d}" for w in range(weeks)],
                     "active_share": observed},
        "horizon": horizon, "target": 0.7, "target_week": weeks + horizon,
        "plans": [
            {**plan, "plan": "current plan", "description": "what is recorded", "bands": bands(0.6, 0.005),
             "probability_of_target": 0.31, "expected_at_horizon": 0.63},
            {**plan, "plan": "champions", "description": "12 champions from next week",
             "bands": bands(0.62, 0.01), "probability_of_target": 0.58, "expected_at_horizon": 0.69,
             "cost": 12000.0, "cost_per_point": 2000.0, "points_gained": 6.0, "downtime_hours_saved": 410.0,
             "downtime_saving": 20500.0, "expected_week_of_target": float(weeks + horizon - 1)},
        ],
        "baseline": {"method": "bass", "week": future, "mean": [0.6] * horizon, "lo_80": [0.5] * horizon,
                     "hi_80": [0.7] * horizon},
        "backtest": {"model": {"mae": 0.03, "coverage80": 0.8, "origins": 6},
                     "bass": {"mae": 0.06, "coverage80": 0.5, "origins": 6}},
        "sentence": "Tested on 6 past points in time, the model's 8-week forecasts were off by 3 points on "
                    "average and 80% of outcomes fell inside its 80% band.",
    }
