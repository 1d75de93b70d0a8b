"""Forecast the published adoption curves from rolling origins and check calibration on known parameters.

python -m bench.forecast_reference --write docs/forecasting.md

From every origin K = 3, 4, ... (fit on periods 1..K) each curve is forecast HORIZON periods ahead
(never past its end) by Chasm's early-warning forecast (several seeds) and by the baselines: the
textbook Bass curve, Bass with bootstrap bands, the last value, and a linear trend on the last
three points. Scores are the forecasters' proper scores: MAE of the median, the interval (Winkler)
score of the 80% band and the CRPS of the sample paths (scoringrules), and the band's coverage.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import scoringrules as sr

import seed_data
from model.bass import fit_bass
from model.behaviour import Behaviour
from model.calibrate import CALIBRATED, calibrate
from model.ensemble import run_ensemble
from model.scenario import load_scenario
from model.series import early_forecast

REFERENCE = seed_data.path("reference")
US_HOUSEHOLDS_1989 = 92.8e6  # US Census, households in 1989: the cable curve's denominator


def reference_curves() -> dict[str, tuple[np.ndarray, str]]:
    """name -> (shares per period, what a period is)."""
    ckm = pd.read_csv(REFERENCE / "ckm_medical_innovation_monthly_curve.csv")
    corn = pd.read_csv(REFERENCE / "brazil_farmers_hybrid_corn_yearly_curve.csv").dropna(subset=["cum_share"])
    korea = pd.read_csv(REFERENCE / "korean_family_planning_yearly_curve.csv")
    cable = pd.read_csv(REFERENCE / "us_cable_tv_subscribers_1952_1989_martino.csv")
    return {
        "Physicians, tetracycline (CKM, cumulative, monthly)": (ckm["cum_share"].to_numpy(), "month"),
        "Brazilian farmers, hybrid corn (cumulative, yearly)": (corn["cum_share"].to_numpy(), "year"),
        "Korean villages, family planning (cumulative, yearly)": (korea["cum_share"].to_numpy(), "year"),
        "US cable TV (subscribers / 1989 households, yearly)":
            ((cable["catv_subscribers"] / US_HOUSEHOLDS_1989).to_numpy(), "year"),
        **windows_generations(),
    }


WINDOWS = {"Vista": "Windows Vista share (active, rises then fades, monthly)",
           "Win7": "Windows 7 share (active, rises then starts to fade, monthly)",
           "Win8": "Windows 8 share (active, rises then fades, monthly)",
           "Win10": "Windows 10 share (active, still rising, monthly)"}
"""The generations whose launch is inside the w3schools series (XP and older were already in use in
its first month, so their curves have no beginning to forecast from)."""


def windows_generations(months: int = 60) -> dict[str, tuple[np.ndarray, str]]:
    """Each generation's share for the first `months` months after it appears (fewer if the data end)."""
    windows = pd.read_csv(REFERENCE / "windows_os_share_w3schools_2003_2017.csv")
    out = {}
    for column, name in WINDOWS.items():
        share = windows[column].to_numpy()
        start = int(np.argmax(share > 0))
        out[name] = (share[start:start + months], "month")
    return out


HORIZON = 5
SEEDS = (0, 1, 2)
METHODS = ("Chasm early warning", "textbook Bass", "Bass, bootstrap bands", "last value", "linear trend (last 3)")
TARGET_RATIO = 1.1


def _scores(held: np.ndarray, median: np.ndarray, paths: np.ndarray | None) -> dict[str, float]:
    """MAE of the median; with sample paths also the 80% interval score, CRPS and coverage."""
    out = {"mae": float(np.abs(median - held).mean())}
    if paths is None:  # a point forecast: its CRPS is its absolute error
        out["crps"] = out["mae"]
        return out
    lo, hi = np.quantile(paths, [0.1, 0.9], axis=0)
    lo, hi = np.minimum(lo, median), np.maximum(hi, median)
    out["interval"] = float(np.mean(sr.interval_score(held, lo, hi, 0.2)))
    out["crps"] = float(np.mean(sr.crps_ensemble(held, paths.T)))
    out["inside"] = float(((held >= lo) & (held <= hi)).sum())
    return out


def rolling(y: np.ndarray, seeds: tuple[int, ...] = SEEDS, horizon: int = HORIZON) -> list[dict]:
    """One row per (origin, method, seed) with its scores and the number of held-out points."""
    rows = []
    for k in range(3, len(y)):
        h = min(horizon, len(y) - k)
        held = y[k:k + h]
        bass = fit_bass(y[:k])
        curve = bass.curve(np.arange(k + 1, k + h + 1))
        boot = bass.bootstrap(h, seed=0)
        trend = y[k - 1] + (y[k - 1] - y[k - 3]) / 2 * np.arange(1, h + 1)
        base = {"origin": k, "points": h}
        rows.append(base | {"method": "textbook Bass", "seed": 0} | _scores(held, curve, None))
        rows.append(base | {"method": "Bass, bootstrap bands", "seed": 0} | _scores(held, curve, boot))
        rows.append(base | {"method": "last value", "seed": 0} | _scores(held, np.full(h, y[k - 1]), None))
        rows.append(base | {"method": "linear trend (last 3)", "seed": 0}
                    | _scores(held, np.clip(trend, 0, 1), None))
        for seed in seeds:
            start = time.perf_counter()
            paths, _, scale = early_forecast(y, train=k, horizon=h, seed=seed)
            rows.append(base | {"method": "Chasm early warning", "seed": seed, "band_scale": scale,
                                "seconds": time.perf_counter() - start}
                        | _scores(held, np.median(paths, axis=0), paths))
    return rows


def _curve_rows(name: str, y: np.ndarray, seeds: tuple[int, ...]) -> pd.DataFrame:
    frame = pd.DataFrame(rolling(y, seeds))
    frame["curve"] = name
    return frame


def evaluate_all(seeds: tuple[int, ...] = SEEDS, workers: int | None = None) -> pd.DataFrame:
    """Every curve's rolling-origin rows, one process a curve (longest first) on all cores.

    Each forecast is seeded, so the table is the same however many processes share the work.
    """
    curves = reference_curves()
    order = sorted(curves, key=lambda name: -len(curves[name][0]))
    with ProcessPoolExecutor(workers or os.cpu_count() or 1) as pool:
        done = dict(zip(order, pool.map(_curve_rows, order, [curves[n][0] for n in order],
                                        [seeds] * len(order)), strict=True))
    for name in curves:
        print(name, done[name].groupby("method")["mae"].mean().round(4).to_dict(), flush=True)
    return pd.concat([done[name] for name in curves], ignore_index=True)


def targets(frame: pd.DataFrame) -> dict[str, object]:
    """The issue's targets: per-origin median MAE ratio, interval score and pooled coverage."""
    model = frame[frame.method == "Chasm early warning"]
    bass = frame[frame.method == "textbook Bass"].set_index(["curve", "origin"])["mae"]
    paired = model.assign(bass=bass.reindex(pd.MultiIndex.from_frame(model[["curve", "origin"]])).to_numpy())
    by_origin = paired.groupby("origin").agg(model=("mae", "median"), bass=("bass", "median"),
                                             curves=("curve", "nunique"))
    by_origin["ratio"] = by_origin["model"] / by_origin["bass"]
    boot = frame[frame.method == "Bass, bootstrap bands"]
    return {"by_origin": by_origin,
            "interval": float(model["interval"].mean()), "interval_bass": float(boot["interval"].mean()),
            "coverage": float(model["inside"].sum() / model["points"].sum()),
            "coverage_bass": float(boot["inside"].sum() / boot["points"].sum())}


def coverage_trials(trials: int = 10, seed: int = 5) -> dict[str, float]:
    """Share of trials whose 90% interval covers each known parameter (simulated turnaround)."""
    spec = load_scenario(seed_data.path("scenarios", "turnaround.toml"))
    rng = np.random.default_rng(seed)
    hits = {k: [] for k in CALIBRATED}
    for trial in range(trials):
        truth = {k: rng.uniform(lo + (hi - lo) * 0.2, hi - (hi - lo) * 0.2) for k, (lo, hi) in CALIBRATED.items()}
        beh = Behaviour().with_draws(truth, list(truth.values()))
        y = run_ensemble(spec, runs=1, seed=100 + trial, behaviour=beh).overall["active_share"][:60, 0]
        interval = calibrate(spec, y, seed=trial).posterior.interval(0.9)
        for k in truth:
            hits[k].append(interval[k][0] <= truth[k] <= interval[k][1])
    return {k: float(np.mean(v)) for k, v in hits.items()}


def _table(frame: pd.DataFrame) -> list[str]:
    lines = ["| curve | method | MAE | 80% interval score | CRPS | 80% coverage |", "|---|---|---|---|---|---|"]
    for curve, group in frame.groupby("curve", sort=False):
        for method in METHODS:
            g = group[group.method == method]
            cover = f"{g['inside'].sum() / g['points'].sum():.0%}" if "inside" in g and g["inside"].notna().all() \
                else "-"
            interval = f"{g['interval'].mean():.3f}" if "interval" in g and g["interval"].notna().all() else "-"
            lines.append(f"| {curve} | {method} | {g['mae'].mean():.3f} | {interval} | {g['crps'].mean():.3f} "
                         f"| {cover} |")
    return lines


def naive_wins(frame: pd.DataFrame) -> list[str]:
    """Curves where a naive baseline's mean MAE is as low as Chasm's or lower, in words."""
    mae = frame.groupby(["curve", "method"], sort=False)["mae"].mean()
    out = []
    for curve in frame["curve"].unique():
        ours = mae[(curve, "Chasm early warning")]
        for method in ("linear trend (last 3)", "last value"):
            if round(mae[(curve, method)], 3) <= round(ours, 3):
                verb = "ties" if round(mae[(curve, method)], 3) == round(ours, 3) else "beats"
                out.append(f"{curve}: the {method} {verb} it on MAE ({mae[(curve, method)]:.3f} against "
                           f"{ours:.3f})")
    return out


def _counts(by: pd.DataFrame) -> str:
    """'8 curves up to K = 9, 7 up to K = 15, ...': how many curves each origin's median is over."""
    spans = by.groupby("curves").apply(lambda g: int(g.index.max()), include_groups=False)
    parts = [f"{n} curve{'s' if n > 1 else ''} up to K = {k}" for n, k in sorted(spans.items(), reverse=True)]
    return ", ".join(parts)


def _loss_lines(frame: pd.DataFrame, misses: list[int]) -> list[str]:
    """Where the ratio is above the target: the curves on which Bass's point forecast won there."""
    if not misses:
        return []
    mae = frame.groupby(["origin", "curve", "method"])["mae"].mean()
    parts = []
    for k in misses:
        lost = [f"{c.split(' (')[0]} ({mae[(k, c, 'Chasm early warning')]:.4f} against "
                f"{mae[(k, c, 'textbook Bass')]:.4f})"
                for c in frame.loc[frame.origin == k, "curve"].unique()
                if mae[(k, c, "Chasm early warning")] > TARGET_RATIO * mae[(k, c, "textbook Bass")]]
        parts.append(f"K = {k}: " + ", ".join(lost))
    return ["- Where the ratio is above the target, the textbook Bass's point forecast was the better one",
            "  on " + "; ".join(parts) + ". Chasm starts from the last value and its momentum,",
            "  the textbook Bass from its fitted curve."]


def markdown(frame: pd.DataFrame, coverage: dict[str, float], trials: int) -> str:
    t = targets(frame)
    by = t["by_origin"]
    assert isinstance(by, pd.DataFrame)
    misses = [int(k) for k, r in by.iterrows() if r["ratio"] > TARGET_RATIO]
    missed = ", ".join(f"{k} ({by.loc[k, 'ratio']:.2f})" for k in misses)
    model = frame[frame.method == "Chasm early warning"]
    spread = model.groupby(["curve", "origin"])["mae"].agg(["min", "max"])
    lines = [
        "# Forecasting: how far to trust it",
        "",
        "Reproduce with `.venv/bin/python -m bench.forecast_reference --write docs/forecasting.md`",
        "(the standalone mode is `chasm forecast --series FILE.csv --train N --horizon H --json`).",
        "",
        "## Method",
        "",
        "- **Early warning** (`model/early.py`, `chasm forecast --series`, the default method): a Bayesian",
        "  diffusion curve, the mean-field of the model's innovation and imitation (Bass 1969), written as",
        "  speed s = p + q, ratio r = q / p and ceiling m (and, for a curve that falls, the share delta of",
        "  users who stop each period). The prior is the published one: Sultan, Farley & Lehmann's (1990)",
        "  meta-analysis of 213 Bass fits (p = 0.03, q = 0.38 a year), with a wide speed (the series'",
        "  period is unknown). The period-to-period changes are the curve's changes plus AR(1) errors",
        "  whose scale grows with the square root of the change (more adopters, more noise) and whose",
        "  persistence rho and scale sigma are integrated out on grids. The posterior is sampled by",
        "  population Monte Carlo importance sampling (Cappe et al. 2004). Forecast paths start from the",
        "  last observed value. The 80% band is then calibrated on the series' own past: refitted from",
        "  up to 12 earlier origins inside the training periods, widened about the median (never",
        "  narrowed) until it would have held 80% of those points (split conformal; `band_scale`).",
        "  From three points on; with few points the band is wide and the forecast says why.",
        "- **Agent-based fit** (`--method abm`, `model/series.py`): the agent-based model fitted by ABC-SMC",
        "  (from six points); slower, and kept for comparison.",
        "- **Textbook Bass** (`model/bass.py`, also the baseline of the store's backtest and forecast): the",
        "  closed-form cumulative curve fitted by non-linear least squares from 48 starts (Srinivasan &",
        "  Mason 1986); **bootstrap bands** by refitting to the fitted values plus resampled residuals.",
        "- **Last value** and **linear trend** on the last three points: the naive baselines.",
        '- **Store forecasts** (`model/forecast.py`): the agent-based model calibrated by ABC-SMC on the',
        "  organisation's weekly metrics, with plans; see docs/decision-support.md. With 3 to 5 weeks",
        '  stored (too few for it), `chasm forecast` and the Forecast page give the early warning of the',
        "  stored series instead, from the seed case's prior: one sentence (now, the expected share and 80%",
        '  band at the horizon, the chance of the target, why the band is as wide as it is) and, on the',
        '  page, a table every four weeks (`app.services.forecasts.early_warning_now`).',
        '- **Per-facility forecasts, in parallel** (`app/services/facility_forecasts.py`): the nightly',
        "  refresh's early warning for every facility (each first fitted from the seed case's prior, then",
        '  refitted from the prior its other facilities describe, forecast and its band calibrated) runs one',
        '  task a facility where the calibration runs: the Dask cluster at `CHASM_DASK_ADDRESS`, else a',
        '  process pool on this machine (both cores); with fewer than 8 facilities it stays in the process,',
        "  where starting a pool costs more than it saves. Every task gets the run's seed and the pooling is",
        '  done in the calling process, in facility order, so a seed gives the same forecasts bit for bit on',
        '  any executor and with any number of workers (tested: one process against a 2-worker pool and a',
        '  2-worker Dask cluster; `bench/bench_facilities.py` asserts it for the pool and Dask with one and',
        '  two workers). A cancelled refresh stops at the next facility done, and the tasks not started are',
        '  cancelled. 200 facilities live 3 to 90 weeks: 180 s on the 2-worker pool (target 30 minutes); on',
        '  a Dask LocalCluster 420 s with one worker, 315 s with two (1.33x, on a machine shared with other',
        '  work).',
        "  Start a cluster's workers without Dask's default `MALLOC_TRIM_THRESHOLD_=65536` (set",
        '  `distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_: null` in their Dask configuration):',
        '  with it every large array is a fresh mmap, and 40 facilities took 169 s instead of 73 s on one',
        '  worker.',
        "",
        f"## Published curves: rolling origins, {HORIZON} periods ahead",
        "",
        f"From every origin K = 3, 4, ... each curve is forecast up to {HORIZON} periods ahead (never past",
        f"its end); Chasm's forecast with seeds {', '.join(map(str, SEEDS))}, the baselines once (Bass's",
        "bootstrap with seed 0). Scores are averaged over origins (and seeds), in share units (0.05 = 5",
        "points); lower is better for MAE, interval score and CRPS. Point forecasts have no band: their",
        "CRPS is their absolute error.",
        "",
        *_table(frame),
        "",
        "## Targets",
        "",
        "- Median MAE at each origin against the textbook Bass's (median over curves and seeds), target",
        f"  at most {TARGET_RATIO}x: " + ", ".join(f"K={int(k)}: {r['ratio']:.2f}" for k, r in by.iterrows()
                                                   if k <= 20) + ("." if len(by) <= 18 else ", ..."),
        f"  {'Met at every origin.' if not misses else 'Missed at K = ' + missed + '.'}",
        f"- 80% interval score: {t['interval']:.3f} against {t['interval_bass']:.3f} for Bass with bootstrap "
        f"bands ({'met' if t['interval'] <= t['interval_bass'] else 'missed'}).",
        f"- 80% coverage pooled over all held-out points: {t['coverage']:.0%} (target 70-90%; Bass's bootstrap "
        f"band: {t['coverage_bass']:.0%}).",
        f"- Seeds: across seeds, one origin's MAE moves by at most {(spread['max'] - spread['min']).max():.3f} "
        "(median "
        f"{(spread['max'] - spread['min']).median():.4f}).",
        f"- Time: {model['seconds'].median():.2f} s median per early-warning forecast, fit, band calibration "
        "and all, two curves at a time on this machine's two cores (`make bench` times one forecast alone).",
        "",
        "## Calibration recovers known parameters (the store's agent-based fit)",
        "",
        f"{trials} trials: the turnaround scenario simulated with behaviour drawn inside the prior, "
        "calibrated on 60 weeks with the default settings. Share of trials whose 90% posterior interval "
        "covers the true value:", "",
        "| parameter | coverage |", "|---|---|",
        *[f"| {k} | {v:.0%} |" for k, v in coverage.items()],
        "", f"Overall: {np.mean(list(coverage.values())):.0%} of parameter-trials covered.", "",
        "## Where it loses, and notes", "",
        *(["- A naive baseline's point forecast is as good or better on "
           f"{len(naive_wins(frame))} of {frame['curve'].nunique()} curves: "
           + "; ".join(naive_wins(frame)) + ". Straight lines do well on the middle of an S-curve,",
           "  where it is nearly straight; they have no band and no ceiling, and they run past 100% and",
           "  never turn down (compare the CRPS column: a point forecast's CRPS is its absolute error)."]
          if naive_wins(frame) else []),
        f"- The per-origin medians are over {_counts(by)}, so one curve",
        "  can move them; the medians of the model's and of Bass's MAE are taken apart and then divided.",
        *_loss_lines(frame, misses),
        "- The reference set follows the issue's list, which names the Windows generations: until",
        "  December 2026 this table had Vista alone and the per-origin target was missed at K = 5, 10, 12,",
        "  17, 21, 23, 33 and 34 over two to five curves. The forecast did not change; its medians are now",
        "  over more curves, and the three generations added are ones it forecasts well (better than the",
        "  textbook Bass on each, as on Vista), so the target is met at more origins for that reason.",
        "- The error model (AR(1) errors scaled by the square root of the change) and the conformal",
        "  band were chosen after looking at these curves, so the table is not a blind test; the prior",
        "  was set from the literature before, and not moved after.",
        "- The cable TV curve has no share in the source; it is divided by the 92.8 million US households",
        "  of 1989 (an external denominator, so no held-out value leaks into training).",
        "- The Brazilian farmers' toa 20 row mixes the survey year with non-adopters and is dropped.",
        "- Each Windows generation whose launch is in the w3schools series (Vista, 7, 8, 10) is its",
        "  first 60 months after it appears (Windows 10: the 19 months the series holds): real rollouts",
        "  of which three faded as the next came; the textbook Bass cannot fall, the early-warning",
        "  curve's discontinuance can. The visitors of a web developers' site are a biased sample.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path)
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--frame", type=Path,
                        help="also keep the scored rows in this pickle, to look into them afterwards")
    args = parser.parse_args()
    frame = evaluate_all()
    if args.frame:
        frame.to_pickle(args.frame)
    coverage = coverage_trials(args.trials)
    print(coverage)
    text = markdown(frame, coverage, args.trials)
    if args.write:
        args.write.write_text(text)
    else:
        print(text)


if __name__ == "__main__":
    main()
