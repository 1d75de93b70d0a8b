"""Run batches of simulations on this process, a local process pool or a Dask cluster.

Work is cut into fixed chunks, each with its own seed spawned from the caller's seed, and the
results are put back in order: the same seed gives the same result whichever executor ran it.
`map` returns every result at once; `imap` yields them in order as they are done (for a progress
bar), and closing it early (a cancelled page) cancels the tasks not yet started.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, Protocol

import numpy as np

CHUNK = 250  # parameter sets per task: big enough to stay vectorised, small enough to spread


class Executor(Protocol):
    """Maps a function over argument tuples and returns the results in order."""

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> list[Any]:
        """Apply fn(*a) for each a, in order."""
        ...

    def imap(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> Generator[Any, None, None]:
        """fn(*a) for each a, yielded in order; closing the generator cancels the tasks not started."""
        ...


class InProcess:
    """Runs every task here, one after another."""

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> list[Any]:
        """Apply fn(*a) for each a, in order."""
        return [fn(*a) for a in args]

    def imap(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> Generator[Any, None, None]:
        """fn(*a) for each a, one at a time as the generator is read."""
        return (fn(*a) for a in args)


# Workers start from a fresh interpreter (forkserver where the platform has it, else spawn), never
# by fork: the web app and the scheduler are threaded, and forking a threaded process may deadlock.
START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class LocalPool:
    """A pool of worker processes on this machine (the default for calibration and sweeps)."""

    def __init__(self, workers: int | None = None, start_method: str = START_METHOD):
        self.workers = workers
        self.start_method = start_method
        self._pool: ProcessPoolExecutor | None = None

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> list[Any]:
        """Apply fn(*a) for each a in worker processes, in order."""
        return list(self._started().map(_star, [(fn, a) for a in args]))

    def imap(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> Generator[Any, None, None]:
        """fn(*a) for each a in worker processes, yielded in order.

        All are submitted on the first read; closing the generator cancels those no worker has started.
        """
        futures: list[Future[Any]] = []
        try:
            pool = self._started()
            futures = [pool.submit(fn, *a) for a in args]
            for future in futures:
                yield future.result()
        finally:
            for future in futures:
                future.cancel()

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            context = multiprocessing.get_context(self.start_method)
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool

    def close(self) -> None:
        """Stop the worker processes."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None


class DaskCluster:
    """Tasks on a Dask cluster, e.g. the scheduler at CHASM_DASK_ADDRESS."""

    def __init__(self, address_or_client: Any):
        from distributed import Client

        self.client = (address_or_client if isinstance(address_or_client, Client)
                       else Client(address_or_client))

    def map(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> list[Any]:
        """Apply fn(*a) for each a on the cluster, in order."""
        futures = [self.client.submit(fn, *a, pure=False) for a in args]
        results: list[Any] = self.client.gather(futures)
        return results

    def imap(self, fn: Callable[..., Any], args: Iterable[tuple[Any, ...]]) -> Generator[Any, None, None]:
        """fn(*a) for each a on the cluster, yielded in order.

        All are submitted on the first read; closing the generator cancels those not yet done.
        """
        futures: list[Any] = []
        try:
            futures = [self.client.submit(fn, *a, pure=False) for a in args]
            for future in futures:
                yield future.result()
        finally:
            self.client.cancel(futures)


def _star(item: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
    fn, args = item
    return fn(*args)


def chunked_map(fn: Callable[[np.ndarray, int], np.ndarray], thetas: np.ndarray, seed: int,
                executor: Executor | None = None) -> np.ndarray:
    """fn(chunk, chunk_seed) over fixed chunks of the rows of `thetas`, concatenated in order."""
    starts = range(0, len(thetas), CHUNK)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    args = [(thetas[s:s + CHUNK], int(ss.generate_state(1)[0])) for s, ss in zip(starts, seeds, strict=True)]
    return np.concatenate((executor or InProcess()).map(fn, args))
