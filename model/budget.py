"""The simulation budget: the memory and work an ensemble needs, checked before anything is allocated.

The engine keeps its state as (runs x technicians) arrays and the model collects per-facility sums
every week, so both grow with the product of the sizes. `estimate_bytes` counts them with sizes
measured by tracemalloc on seeded runs (peak bytes, rounded up); `check_budget` refuses a scenario
that would not fit, and says how many runs would.
"""

from __future__ import annotations

from dataclasses import dataclass

from model.population import Population, load_population
from model.scenario import Scenario, ScenarioError

BYTES_PER_RUN_TECHNICIAN = 165
"""Peak bytes per technician and replicate: 12 float32, 2 one-byte code and 8 bool state arrays,
the champion's int32 home, the float64 draws that set them up (three uniforms, innovativeness,
trust, fear) and a week's temporaries: two 64-bit draws and the network exposure (measured
139-160)."""
BYTES_PER_TECHNICIAN = 48
"""Per technician, once for all replicates: facility, team, pilot flag, degree (measured 45)."""
BYTES_PER_TIE_END = 48
"""Per tie end (a technician's degree): the sparse adjacency, built from COO in float64 with int64
indices, and its float32 transpose (measured 25-60)."""
BYTES_PER_WEEK_RUN_FACILITY = 265
"""Per week, replicate and facility (and the overall row): ten float32 sums collected each week,
stacked, widened to float64 and turned into eleven float64 shares (measured 258-266)."""
DEFAULT_MAX_BYTES = 2_000_000_000
"""2.0 GB: what one simulation may take by default."""
DEFAULT_MAX_TECHNICIAN_WEEKS = 5_000_000_000
"""Technicians x weeks x runs one simulation may take by default (minutes of one core)."""


class BudgetError(ScenarioError):
    """A simulation bigger than its budget: says what it needs and what would fit."""


@dataclass(frozen=True)
class Size:
    """How big a simulation is: what its memory and work grow with."""

    technicians: int
    ties_per_technician: float
    facilities: int
    weeks: int
    runs: int
    record_facilities: bool = True

    @property
    def fixed_bytes(self) -> int:
        """Bytes that do not grow with the runs: the network."""
        return round(self.technicians * (BYTES_PER_TECHNICIAN + BYTES_PER_TIE_END * self.ties_per_technician))

    @property
    def bytes_per_run(self) -> int:
        """Bytes each replicate adds: its state and its weekly outcomes."""
        cells = self.facilities + 1 if self.record_facilities else 2
        return self.technicians * BYTES_PER_RUN_TECHNICIAN + self.weeks * cells * BYTES_PER_WEEK_RUN_FACILITY

    @property
    def bytes(self) -> int:
        """Peak bytes of the whole simulation."""
        return self.fixed_bytes + self.runs * self.bytes_per_run

    @property
    def technician_weeks(self) -> int:
        """Technicians x weeks x runs: the work of the weekly updates."""
        return self.technicians * self.weeks * self.runs

    def describe(self) -> str:
        """'1,000,000 technicians x 1,040 weeks x 100 runs'."""
        return " x ".join(_count(n, unit) for n, unit in
                          ((self.technicians, "technician"), (self.weeks, "week"), (self.runs, "run")))


def scenario_size(scenario: Scenario, runs: int, weeks: int | None = None, *,
                  population: Population | None = None, record_facilities: bool = True) -> Size:
    """The size of `runs` replicates of a scenario, from its organisation or a loaded network.

    Args:
        scenario: the validated scenario.
        runs: replicates in the ensemble.
        weeks: weeks to simulate; the scenario's own horizon if None.
        population: the network to run on, when it is loaded rather than generated.
        record_facilities: whether per-facility outcomes are collected (`run_ensemble`'s flag).

    Returns:
        The simulation's size; nothing is built.
    """
    weeks = scenario.weeks if weeks is None else weeks
    if population is not None:
        n = population.size
        return Size(n, population.adjacency.nnz / max(n, 1), population.n_facilities, weeks, runs,
                    record_facilities)
    org = scenario.organisation
    per_facility = -(-org.technicians // org.facilities)
    ties = min(org.neighbours, max(per_facility - 1, 0)) + org.cross_facility_ties
    return Size(org.technicians, ties, org.facilities, weeks, runs, record_facilities)


def estimate_bytes(scenario: Scenario, runs: int, weeks: int | None = None) -> int:
    """Peak bytes of `runs` replicates of a scenario on its generated network (an estimate)."""
    return scenario_size(scenario, runs, weeks).bytes


def check_budget(scenario: Scenario, runs: int, weeks: int | None = None, *,
                 max_bytes: int = DEFAULT_MAX_BYTES,
                 max_technician_weeks: int = DEFAULT_MAX_TECHNICIAN_WEEKS,
                 record_facilities: bool = True) -> Population | None:
    """Refuse a simulation that cannot fit, before its state is allocated.

    A generated network is sized from the organisation alone; an edge-list network is loaded (it
    holds the count of technicians), and returned so that the run reuses it.

    Args:
        scenario: the validated scenario.
        runs: replicates in the ensemble.
        weeks: weeks to simulate; the scenario's own horizon if None.
        max_bytes: the memory the simulation may take.
        max_technician_weeks: the technicians x weeks x runs it may take.
        record_facilities: whether per-facility outcomes are collected (`run_ensemble`'s flag).

    Returns:
        The loaded network to pass to `run_ensemble` (`population=`), or None for a generated one.

    Raises:
        BudgetError: what the simulation needs, the budget, and how many runs would fit.
        ScenarioError: the edge list cannot be read.
    """
    org = scenario.organisation
    population = None if org.network == "generated" else load_population(org.network, org)
    size = scenario_size(scenario, runs, weeks, population=population, record_facilities=record_facilities)
    problems = []
    if size.bytes > max_bytes:
        fit = (max_bytes - size.fixed_bytes) // size.bytes_per_run
        problems.append((fit, f"this scenario needs about {_amount(size.bytes)} ({size.describe()}), "
                              f"over the {_amount(max_bytes)} budget: {_advice(fit)}"))
    if size.technician_weeks > max_technician_weeks:
        fit = max_technician_weeks // (size.technicians * size.weeks)
        problems.append((fit, f"this scenario is {size.technician_weeks:,} technician-weeks "
                              f"({size.describe()}), over the budget of {max_technician_weeks:,} "
                              f"technician-weeks: {_advice(fit)}"))
    if problems:
        raise BudgetError(min(problems)[1])
    return population


def _advice(runs_that_fit: int) -> str:
    if runs_that_fit < 1:
        return "even 1 run does not fit; simulate fewer technicians or weeks"
    return f"run at most {_count(runs_that_fit, 'run')}, or fewer technicians or weeks"


def _count(n: int, unit: str) -> str:
    return f"{n:,} {unit}" + ("" if n == 1 else "s")


def _amount(n_bytes: int) -> str:
    if n_bytes >= 1_000_000_000:
        return f"{n_bytes / 1e9:.1f} GB"
    if n_bytes >= 1_000_000:
        return f"{round(n_bytes / 1e6):,} MB"
    return f"{max(1, round(n_bytes / 1e3)):,} kB"
