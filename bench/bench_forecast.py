"""The nightly forecast refresh on the demo organisation (issue #13): fit, backtest, plans, facilities.

One timed run on a fresh demo store (SQLite temp file): `app.services.forecasts.refresh_forecast`
as the nightly job runs it — the agent-based fit, the rolling backtest of the last 12 weeks, every
plan's forecast and the 15 facilities' early warnings pooled across facilities. The facilities'
share is timed on its own as well (`facility_forecasts`, the same work the refresh does for them).
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path


def run() -> list[dict]:
    from app.services.facility_forecasts import facility_forecasts
    from app.services.forecasts import refresh_forecast
    from db.demo import prepare_first_start
    from db.engine import create_store_engine
    from model.seedcase import seed_case_prior

    with tempfile.TemporaryDirectory(prefix="chasm-bench-forecast-") as tmp:
        os.environ["CHASM_PLANS_DIR"] = str(Path(tmp) / "plans")
        engine = create_store_engine(f"sqlite:///{Path(tmp) / 'demo.db'}")
        prepare_first_start(engine)
        steps: list[str] = []
        start = time.perf_counter()
        prior_start = time.perf_counter()
        seed_case_prior()  # the seed case's prior, computed once per process (cached after)
        prior_s = time.perf_counter() - prior_start
        refresh_forecast(engine, progress=lambda what, done: steps.append(what))
        refresh_s = time.perf_counter() - start
        fac_start = time.perf_counter()
        done = facility_forecasts(engine)
        facilities_s = time.perf_counter() - fac_start
        engine.dispose()
    told = sum(1 for what in steps if what.startswith("Forecasting each facility"))
    return [{"name": f"nightly forecast refresh of the demo organisation ({len(done)} facilities, pooled)",
             "median_s": refresh_s, "target_s": 300.0, "n": 1, "n_counts": "refresh on a fresh demo store",
             "note": f"fit + backtest of the last 12 weeks + plans + facilities; of which the seed case's "
                     f"prior {prior_s:.1f} s (once per process), the {len(done)} facilities' pooled "
                     f"forecasts {facilities_s:.1f} s; {told} progress messages for facilities"}]


if __name__ == "__main__":
    for row in run():
        print(row)
