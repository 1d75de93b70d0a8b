"""Local pools start workers from a fresh interpreter, never by fork (the app and scheduler are threaded)."""

import numpy as np

from model.parallel import START_METHOD, InProcess, LocalPool, chunked_map


def _sum_rows(chunk: np.ndarray, seed: int) -> np.ndarray:
    return chunk.sum(axis=1) + np.random.default_rng(seed).random(len(chunk))


def test_local_pool_never_forks_and_matches_in_process():
    assert START_METHOD in {"forkserver", "spawn"}
    pool = LocalPool(2)
    try:
        thetas = np.arange(1200, dtype=float).reshape(600, 2)
        here = chunked_map(_sum_rows, thetas, seed=5, executor=InProcess())
        there = chunked_map(_sum_rows, thetas, seed=5, executor=pool)
        assert pool._pool is not None
        assert pool._pool._mp_context.get_start_method() == START_METHOD
        np.testing.assert_array_equal(here, there)
    finally:
        pool.close()
