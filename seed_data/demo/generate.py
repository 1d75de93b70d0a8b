"""Generate the demo organisation's CSV files (deterministic: fixed seed).

Run from the repo root:

    .venv/bin/python seed_data/demo/generate.py

The story: 15 facilities, 280 technicians, 78 weeks. Adoption starts near 41% in month 1,
sags to about 38% by month 3 and drifts lower until the turnaround in week 26 (champions,
CMMS integration, a KPI change, coaching waves), then climbs to about 73% by month 18.
Facility-week rows are sums of the technician-week rows, so both files agree.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

OUT = Path(__file__).resolve().parent
SEED = 20251126
WEEKS = 78
FIRST_MONDAY = date(2025, 5, 26)  # week 78 starts 2026-11-16, ended before 2026-11-27
FACILITIES = [
    "Aberdeen Works",
    "Bilbao Plant",
    "Cork Refinery",
    "Dortmund Mill",
    "Esbjerg Yard",
    "Faro Depot",
    "Gdansk Terminal",
    "Hull Works",
    "Izmir Plant",
    "Jonkoping Mill",
    "Kaunas Works",
    "Lyon Plant",
    "Malmo Terminal",
    "Nantes Depot",
    "Oulu Mill",
]
# Overall active share at (1-based) week numbers; linear in between.
TARGET = [
    (1, 0.42),
    (4, 0.41),
    (13, 0.38),
    (26, 0.335),
    (32, 0.40),
    (45, 0.56),
    (60, 0.67),
    (78, 0.73),
]
TURNAROUND_WEEK = 26


def target_share() -> np.ndarray:
    """Overall active share wanted in each week."""
    weeks, shares = zip(*TARGET, strict=True)
    return np.interp(np.arange(1, WEEKS + 1), weeks, shares)


def headcounts(rng: np.random.Generator) -> np.ndarray:
    """Technicians per facility, summing to 280."""
    sizes = rng.integers(12, 28, size=len(FACILITIES)).astype(float)
    counts = np.floor(sizes / sizes.sum() * 280).astype(int)
    counts[np.argsort(-sizes)[: 280 - counts.sum()]] += 1
    return counts


def facility_shares(rng: np.random.Generator, heads: np.ndarray) -> np.ndarray:
    """Facility x week active shares whose headcount-weighted mean follows the target."""
    offset = rng.normal(0, 0.45, len(FACILITIES))
    # Some sites respond to the turnaround late, some early.
    lag = rng.normal(0, 0.5, len(FACILITIES))
    weeks = np.arange(1, WEEKS + 1)
    ramp = np.clip((weeks - TURNAROUND_WEEK) / 30, 0, 1)
    logit = offset[:, None] + np.outer(lag, ramp) + rng.normal(0, 0.12, (len(FACILITIES), WEEKS))
    shares = np.empty_like(logit)
    for w, target in enumerate(target_share()):
        shares[:, w] = _calibrated(logit[:, w], heads, target)
    return shares


def _calibrated(logit: np.ndarray, heads: np.ndarray, target: float) -> np.ndarray:
    low, high = -8.0, 8.0
    for _ in range(60):
        mid = (low + high) / 2
        share = 1 / (1 + np.exp(-(logit + mid)))
        low, high = (mid, high) if (share * heads).sum() / heads.sum() < target else (low, mid)
    return 1 / (1 + np.exp(-(logit + mid)))


def technician_weeks(rng: np.random.Generator, heads: np.ndarray, shares: np.ndarray) -> pd.DataFrame:
    """Who is active each week: each facility's quota, filled by the keenest technicians."""
    facility_of = np.repeat(np.arange(len(FACILITIES)), heads)
    ids = [f"T{i + 1:04d}" for i in range(len(facility_of))]
    propensity = rng.normal(0, 1, len(ids))
    drift = np.zeros(len(ids))
    champions = np.zeros(len(ids), dtype=bool)
    rows = []
    for w in range(WEEKS):
        drift = 0.85 * drift + rng.normal(0, 0.35, len(ids))
        score = propensity + drift
        active = np.zeros(len(ids), dtype=bool)
        for f, n in enumerate(heads):
            members = np.flatnonzero(facility_of == f)
            k = int(round(shares[f, w] * n))
            active[members[np.argsort(-score[members])[:k]]] = True
        if w + 1 == TURNAROUND_WEEK + 1:
            champions = propensity > np.quantile(propensity, 11 / 12)
        rows.append(_week_rows(rng, w, ids, facility_of, active, champions))
    return pd.concat(rows, ignore_index=True)


def _week_rows(rng: np.random.Generator, w: int, ids: list[str], facility_of: NDArray[np.intp],
               active: NDArray[np.bool_], champions: NDArray[np.bool_]) -> pd.DataFrame:
    n = len(ids)
    eligible = rng.poisson(6, n)
    alerts = rng.poisson(3, n)
    training = _training(w)
    trained = rng.random(n) < (training[2] if training else 0)
    return pd.DataFrame(
        {
            "technician_id": ids,
            "facility": [FACILITIES[f] for f in facility_of],
            "week_start": (FIRST_MONDAY + timedelta(weeks=w)).isoformat(),
            "active": np.where(active, "yes", "no"),
            "eligible_work_orders": eligible,
            "ai_assisted_work_orders": rng.binomial(eligible, np.where(active, 0.55, 0.0)),
            "alerts_received": alerts,
            "alerts_actioned": rng.binomial(alerts, np.where(active, 0.75, 0.3)),
            "training_type": np.where(trained, training[0] if training else "", ""),
            "training_hours": np.where(trained, training[1] if training else 0, 0.0),
            "champion": np.where(champions, "yes", "no"),
        }
    )


def _training(w: int) -> tuple[str, float, float] | None:
    """(type, hours, share of technicians) of a training wave running in week index `w`."""
    waves = {
        0: ("classroom", 4.0, 0.5),
        1: ("classroom", 4.0, 0.5),
        27: ("coaching", 1.5, 0.35),
        28: ("coaching", 1.5, 0.35),
        39: ("hands-on", 2.0, 0.3),
        55: ("refresher", 1.0, 0.25),
    }
    return waves.get(w)


def facility_weeks(tech: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Facility-week rows as sums of the technician-weeks."""
    t = tech.assign(is_active=tech["active"].eq("yes"), is_champion=tech["champion"].eq("yes"))
    grouped = t.groupby(["facility", "week_start"], sort=False)
    frame = grouped.agg(
        technicians=("technician_id", "size"),
        active_users=("is_active", "sum"),
        work_orders=("eligible_work_orders", "sum"),
        ai_assisted_work_orders=("ai_assisted_work_orders", "sum"),
        alerts=("alerts_received", "sum"),
        alerts_actioned=("alerts_actioned", "sum"),
        training_hours=("training_hours", "sum"),
        champions=("is_champion", "sum"),
    ).reset_index()
    share = frame["active_users"] / frame["technicians"]
    downtime = rng.gamma(4, 3, len(frame)) * (1.2 - 0.4 * share)
    frame["unplanned_downtime_hours"] = downtime.round(1)
    return frame.sort_values(["week_start", "facility"]).reset_index(drop=True)


def interventions() -> pd.DataFrame:
    """What the organisation did, week by week."""

    def week(n: int) -> str:
        return (FIRST_MONDAY + timedelta(weeks=n - 1)).isoformat()

    rows = [
        (week(1), "", "training_wave", "Go-live: half-day classroom training for every technician"),
        (week(9), "", "communication", "Monthly newsletter feature on the AI assistant"),
        (
            week(26),
            "",
            "leadership",
            "Turnaround review: adoption stalled, sponsor resets the programme",
        ),
        (
            week(27),
            "",
            "champions",
            "One champion per dozen technicians launched, with weekly huddles",
        ),
        (
            week(28),
            "",
            "training_wave",
            "Coaching wave: champions pair with peers on live work orders",
        ),
        (
            week(30),
            "Bilbao Plant",
            "cmms_integration",
            "Pilot: AI suggestions inside the CMMS work order",
        ),
        (
            week(34),
            "",
            "cmms_integration",
            "AI suggestions embedded in the CMMS work order screen everywhere",
        ),
        (week(36), "", "kpi_change", "Site KPIs include the share of AI-assisted work orders"),
        (week(40), "", "training_wave", "Hands-on wave for late adopters"),
        (week(56), "", "training_wave", "Refresher sessions with new alert-triage features"),
    ]
    return pd.DataFrame(rows, columns=["week_start", "facility", "kind", "description"])


def examples(fw: pd.DataFrame) -> tuple[str, str]:
    """A clean CMMS-style export and one with the usual mistakes, as CSV text."""
    last = fw[fw["week_start"] == fw["week_start"].max()].head(15).copy()
    # A CMMS export: its own headers, semicolons, two corrected counts.
    last.loc[last.index[:2], "active_users"] += 1
    clean = last.rename(
        columns={
            "facility": "Site",
            "week_start": "Week of",
            "technicians": "Headcount",
            "active_users": "Active users",
            "work_orders": "Work orders",
            "ai_assisted_work_orders": "AI-assisted work orders",
        }
    )
    clean = clean[["Site", "Week of", "Headcount", "Active users", "Work orders", "AI-assisted work orders"]]
    mistakes = clean.head(8).astype(str).copy()
    mistakes["Comments"] = ""
    mistakes.iloc[1, 3] = "-4"  # negative count
    mistakes.iloc[2, 3] = str(int(mistakes.iloc[2, 2]) + 5)  # more active users than technicians
    mistakes.iloc[3, 4] = "n/a"  # not a number
    mistakes.iloc[4, 5] = str(int(mistakes.iloc[4, 4]) + 10)  # AI-assisted > work orders
    mistakes.iloc[5, 0] = mistakes.iloc[0, 0].upper() + " "  # duplicate of row 2 after normalising
    mistakes.iloc[6, 1] = "10/11/2026"  # ambiguous day/month order
    mistakes.iloc[7, 1] = "2062-11-13"  # a week in the future (2026 mistyped), a Monday
    mistakes.iloc[0, 1] = "2026-11-18"  # a Wednesday: moved to its Monday (a warning)
    mistakes.iloc[0, 6] = "export from CMMS"
    return clean.to_csv(index=False, sep=";"), mistakes.to_csv(index=False)


def main() -> None:
    """Write every demo file and print the story's checkpoints."""
    rng = np.random.default_rng(SEED)
    heads = headcounts(rng)
    tech = technician_weeks(rng, heads, facility_shares(rng, heads))
    fw = facility_weeks(tech, rng)
    tech.to_csv(OUT / "technician_weeks.csv", index=False)
    fw.to_csv(OUT / "facility_weeks.csv", index=False)
    interventions().to_csv(OUT / "interventions.csv", index=False)
    clean, mistakes = examples(fw)
    (OUT / "examples" / "upload_clean.csv").write_text(clean)
    (OUT / "examples" / "upload_with_mistakes.csv").write_text(mistakes)
    overall = fw.groupby("week_start")[["active_users", "technicians"]].sum()
    share = (overall["active_users"] / overall["technicians"]).to_numpy()
    print(
        "active share at weeks 4, 13, 26, 52, 78:",
        [round(float(share[w - 1]), 3) for w in (4, 13, 26, 52, 78)],
    )


if __name__ == "__main__":
    main()
