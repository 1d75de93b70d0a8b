"""Run every benchmark and write the results table (python -m bench.run --write docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
from datetime import date
from pathlib import Path

MODULES = ("bench.bench_model", "bench.bench_store", "bench.bench_forecast", "bench.bench_app",
           "bench.bench_hostile", "bench.bench_enterprise", "bench.bench_facilities")

HEADER = """# Benchmarks

Measured with `make bench` (which runs `python -m bench.run --write docs/benchmarks.md`) on this
project's 2-core, 24 GiB machine. Each figure is the median of n timed runs; the n column says what
one run is (the workload is in the benchmark's name). A speed-up is a ratio against a baseline
measured in the same process. Targets come from the issues.

The machine's speed is not constant from day to day: the same per-agent Mesa oracle run took 8.4 s
to 19.8 s on different days of this project. Absolute seconds move with it; the speed-ups much less.
The simulator's weekly step is compiled (numba, model/kernel.py) and split over both cores; its
first call in a fresh checkout compiles it (a few seconds, then cached in __pycache__), which the
untimed warm-up absorbs. Read the table below as one day's measurement, and rerun it.
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--write", type=Path, help="write the Markdown table to this file")
    parser.add_argument("--only", help="run only modules whose name contains this")
    args = parser.parse_args()
    rows = []
    for name in MODULES:
        if args.only and args.only not in name:
            continue
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue
        for row in module.run():
            verdict = "meets" if row["median_s"] <= row["target_s"] else "MISSES"
            print(f"{row['name']}: {row['median_s']:.3f} s (target {row['target_s']} s, {verdict}; "
                  f"median of {row['n']} {row['n_counts']}); {row['note']}", flush=True)
            rows.append(row | {"verdict": verdict})
    if args.write:
        lines = [HEADER, f"Last run: {date.today()}, Python {platform.python_version()}, "
                 f"{os.cpu_count()} cores.\n",
                 "| benchmark | median | target | result | n | notes |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['name']} | {r['median_s']:.3f} s | <= {r['target_s']} s | {r['verdict']} | "
                  f"{r['n']} {r['n_counts']} | {r['note']} |" for r in rows]
        args.write.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
