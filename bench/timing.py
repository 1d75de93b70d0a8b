"""Medians of repeated timings."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_seconds(fn: Callable[[], object], repeats: int = 5, warmup: int = 1) -> float:
    """Median wall time of `fn` over `repeats` calls, after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def timed_runs(warmup: int = 1) -> str:
    """What `n` counts for a `median_seconds` row: the timed calls, and the untimed ones before them."""
    return f"timed runs after {warmup} untimed warm-up" if warmup else "timed runs, no warm-up"
