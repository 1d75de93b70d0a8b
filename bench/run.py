"""Run every benchmark and write the results table (python -m bench.run --write docs/benchmarks.md)."""

from __future__ import annotations

import argparse
import importlib
import os
import platform
from datetime import date
from pathlib import Path

MODULES = ("bench.bench_model", "bench.bench_store", "bench.bench_app")

HEADER = """# Benchmarks

Measured with `make bench` (which runs `python -m bench.run --write docs/benchmarks.md`) on this
project's 2-core, 24 GiB machine. Figures are medians of repeated runs (n); a speed-up is a ratio
against a baseline measured in the same process. Targets come from the issues.

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
            print(f"{row['name']}: {row['median_s']:.3f} s (target {row['target_s']} s, {verdict}); "
                  f"{row['note']}", flush=True)
            rows.append(row | {"verdict": verdict})
    if args.write:
        lines = [HEADER, f"Last run: {date.today()}, Python {platform.python_version()}, "
                 f"{os.cpu_count()} cores.\n",
                 "| benchmark | median | target | result | n | notes |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['name']} | {r['median_s']:.3f} s | <= {r['target_s']} s | {r['verdict']} | "
                  f"{r['n']} | {r['note']} |" for r in rows]
        args.write.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
