"""The organisation as the engine sees it: technicians in facilities and teams, tied by a network.

The network is generated (small-world teams inside facilities, few cross-facility ties) or loaded
from an edge-list CSV. Technicians are ordered by facility so that per-facility sums are slices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from model.scenario import Organisation, ScenarioError, check_facility_layout

FACILITY_COLUMNS = ("facility", "site", "plant", "city")
MAX_TECHNICIANS = 1_000_000
"""The most technicians a scenario may have (`organisation.technicians`' range)."""


@dataclass(frozen=True)
class Population:
    """Technicians (0..N-1, ordered by facility), their facility, team, pilot flag and network."""

    facility: np.ndarray
    """Facility index of each technician (sorted ascending)."""
    team: np.ndarray
    pilot: np.ndarray
    """True for the pilot's volunteer technicians."""
    adjacency: sp.csr_matrix
    """Symmetric 0/1 adjacency of the social network."""
    facility_names: tuple[str, ...]
    node_labels: np.ndarray
    """Original ids for a loaded network; 0..N-1 for a generated one."""

    @property
    def size(self) -> int:
        """Number of technicians."""
        return int(self.facility.shape[0])

    @property
    def n_facilities(self) -> int:
        """Number of facilities."""
        return len(self.facility_names)

    @property
    def degree(self) -> np.ndarray:
        """Network degree of each technician."""
        return np.asarray(self.adjacency.sum(axis=1)).ravel()

    @property
    def facility_starts(self) -> np.ndarray:
        """Index of each facility's first technician (for np.add.reduceat)."""
        return np.searchsorted(self.facility, np.arange(self.n_facilities))

    @property
    def facility_sizes(self) -> np.ndarray:
        """Technicians per facility."""
        return np.bincount(self.facility, minlength=self.n_facilities)

    def edges(self) -> np.ndarray:
        """The undirected edges as an (E, 2) array with i < j."""
        coo = sp.triu(self.adjacency, k=1).tocoo()
        return np.column_stack([coo.row, coo.col])


def _symmetric(rows: np.ndarray, cols: np.ndarray, n: int) -> sp.csr_matrix:
    keep = rows != cols
    rows, cols = rows[keep], cols[keep]
    data = np.ones(2 * rows.size, dtype=np.float64)
    adj = sp.coo_matrix((data, (np.r_[rows, cols], np.r_[cols, rows])), shape=(n, n)).tocsr()
    adj.data[:] = 1.0  # duplicate ties count once
    adj.sum_duplicates()
    adj.data[:] = 1.0
    return adj


def _facility_sizes(n: int, n_facilities: int) -> np.ndarray:
    sizes = np.full(n_facilities, n // n_facilities)
    sizes[: n % n_facilities] += 1
    return sizes


def _small_world_edges(sizes: np.ndarray, org: Organisation,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Watts-Strogatz inside each facility, vectorised over every facility at once."""
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    n = int(sizes.sum())
    facility = np.repeat(np.arange(sizes.size), sizes)
    local = np.arange(n) - starts[facility]
    fsize = sizes[facility]
    rows, cols = [], []
    for step in range(1, org.neighbours // 2 + 1):
        ok = fsize > step
        src = np.flatnonzero(ok)
        dst = starts[facility[src]] + (local[src] + step) % fsize[src]
        rows.append(src)
        cols.append(dst)
    src = np.concatenate(rows) if rows else np.empty(0, int)
    dst = np.concatenate(cols) if cols else np.empty(0, int)
    rewire = rng.random(src.size) < org.rewire_share
    f = facility[src[rewire]]
    dst[rewire] = starts[f] + (rng.random(rewire.sum()) * sizes[f]).astype(int)
    n_cross = int(round(org.cross_facility_ties * n / 2))
    a = rng.integers(0, n, n_cross)
    b = rng.integers(0, n, n_cross)
    cross = facility[a] != facility[b]
    return np.r_[src, a[cross]], np.r_[dst, b[cross]]


def generate_population(org: Organisation, rng: np.random.Generator) -> Population:
    """Generate facilities, teams and a small-world network for an organisation.

    Args:
        org: the organisation's size and network shape.
        rng: the random generator (the model's `rng`).

    Facilities are named and sized by `org.facility_names` and `org.facility_sizes` where given
    (Facility 01, 02... and as even a split as possible otherwise).

    Returns:
        The population, technicians ordered by facility.

    Raises:
        ScenarioError: the names or sizes do not fit the organisation (`check_facility_layout`).
    """
    org = check_facility_layout(org)
    sizes = (np.asarray(org.facility_sizes, dtype=np.int64) if org.facility_sizes
             else _facility_sizes(org.technicians, org.facilities))
    facility = np.repeat(np.arange(org.facilities), sizes)
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    team = (np.arange(org.technicians) - starts[facility]) // org.team_size
    team = team + np.r_[0, np.cumsum(np.ceil(sizes / org.team_size).astype(int))[:-1]][facility]
    rows, cols = _small_world_edges(sizes, org, rng)
    pilot = np.zeros(org.technicians, dtype=bool)
    pilot[: min(org.pilot_technicians, org.technicians)] = True
    names = org.facility_names or tuple(f"Facility {i + 1:02d}" for i in range(org.facilities))
    return Population(facility, team, pilot, _symmetric(rows, cols, org.technicians), names,
                      np.arange(org.technicians))


def load_population(path: str | Path, org: Organisation) -> Population:
    """Load a network from an edge-list CSV (the first two columns are the tie's ends).

    A column named facility, site, plant or city gives each source node's facility; without one
    every technician is in one facility. Node ids may be any strings or numbers.

    Raises:
        ScenarioError: the file is missing, unreadable, not UTF-8, not CSV, empty, has fewer than two
            columns, a tie without both ends, or more technicians than a scenario may have.
    """
    path = Path(path)
    frame = _read_edge_list(path)
    if frame.shape[1] < 2 or frame.empty:
        raise ScenarioError(f"{path}: an edge list needs rows and two columns (from, to)")
    src, dst = frame.iloc[:, 0].str.strip(), frame.iloc[:, 1].str.strip()
    blank = (src.isna() | dst.isna() | (src == "") | (dst == "")).to_numpy()
    if blank.any():
        line = int(np.argmax(blank)) + 2  # the header is line 1
        raise ScenarioError(f"{path}: not an edge list (line {line}: a tie needs both ends, from and to)")
    n_nodes = len(pd.unique(pd.concat([src, dst], ignore_index=True)))
    if n_nodes > MAX_TECHNICIANS:
        raise ScenarioError(f"{path}: {n_nodes:,} technicians in the edge list; at most {MAX_TECHNICIANS:,}")
    fac_col = next((c for c in frame.columns if c.strip().lower() in FACILITY_COLUMNS), None)
    node_fac = pd.Series(dtype=str)
    if fac_col is not None:
        node_fac = pd.concat([pd.Series(frame[fac_col].values, index=src),
                              pd.Series(frame[fac_col].values, index=dst)])
        node_fac = node_fac[~node_fac.index.duplicated()]
    labels = pd.unique(pd.concat([src, dst], ignore_index=True))
    facs = node_fac.reindex(labels).fillna("1").to_numpy() if fac_col else np.full(len(labels), "1")
    names = sorted(set(facs), key=lambda s: (len(s), s))
    fac_index = np.array([names.index(f) for f in facs])
    order = np.argsort(fac_index, kind="stable")
    labels, fac_index = labels[order], fac_index[order]
    position = pd.Series(np.arange(len(labels)), index=labels)
    rows, cols = position[src].to_numpy(), position[dst].to_numpy()
    n = len(labels)
    pilot = np.zeros(n, dtype=bool)
    pilot[: min(org.pilot_technicians, n)] = True
    team = fac_index.copy()
    return Population(fac_index, team, pilot, _symmetric(rows, cols, n),
                      tuple(f"Facility {s}" for s in names), np.asarray(labels))


def _read_edge_list(path: Path) -> pd.DataFrame:
    """The edge list's cells as text; every way a file can fail to be a CSV is a ScenarioError."""
    try:
        return pd.read_csv(path, dtype=str, encoding="utf-8", encoding_errors="strict")
    except FileNotFoundError:
        raise ScenarioError(f"organisation.network = {str(path)!r}: no such edge-list file") from None
    except UnicodeDecodeError as exc:
        # pandas decodes in chunks: the position would be within one, so only the byte is named
        raise ScenarioError(f"{path}: not an edge list (not UTF-8 text: byte "
                            f"0x{exc.object[exc.start]:02x})") from None
    except pd.errors.EmptyDataError:
        raise ScenarioError(f"{path}: an edge list needs rows and two columns (from, to)") from None
    except pd.errors.ParserError as exc:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        detail = (f"line {found[2]} has {found[3]} fields, the lines before it {found[1]}" if found
                  else "not readable as CSV")
        raise ScenarioError(f"{path}: not an edge list ({detail})") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def build_population(org: Organisation, rng: np.random.Generator) -> Population:
    """The population a scenario describes: generated, or loaded from its edge list.

    Raises:
        ScenarioError: facility names or sizes given with an edge list (the file's facilities rule).
    """
    if org.network == "generated" or org.facility_names or org.facility_sizes:
        return generate_population(org, rng)
    return load_population(org.network, org)
