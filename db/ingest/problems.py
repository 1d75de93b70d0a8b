"""The problems (or warnings) of one upload, capped: the first few of each column, the rest counted.

A million bad rows must not become a million `Problem` objects, a 200 MB audit record or a page
that never finishes drawing, so every check reports through a `ProblemLog`.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from db.errors import Problem

MORE_PROBLEMS = "and {n:,} more {noun}(s) in {where}, not listed"

_SHOWN_CHARS = 100
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def printable(value: object) -> str:
    r"""`value` as text with its control characters written out: `North\x00Plant`."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m[0]):02x}", str(value))


def shown(value: object) -> str:
    """A cell as a report shows it: `printable`, and cut after 100 characters.

    Args:
        value: The cell (or any value) a problem is about.

    Returns:
        At most 101 characters (a cut value ends with an ellipsis).
    """
    text = printable(value)
    return text if len(text) <= _SHOWN_CHARS else text[:_SHOWN_CHARS] + "…"


class ProblemLog:
    """Problems in the order found, keeping the first `per_column` (by row) of each column."""

    def __init__(self, per_column: int, noun: str = "problem") -> None:
        self.per_column = per_column
        self.noun = noun
        self._kept: dict[str, list[tuple[int, int, Problem]]] = defaultdict(list)
        self._counts: Counter[str] = Counter()
        self._order = 0

    def __len__(self) -> int:
        return sum(self._counts.values())

    def add(self, problem: Problem) -> None:
        """Report one problem."""
        self.add_each(problem.column, [0], lambda _: problem)

    def extend(self, problems: Sequence[Problem]) -> None:
        """Report several problems."""
        for problem in problems:
            self.add(problem)

    def add_each(
        self, column: str, indices: Sequence[int] | np.ndarray, problem: Callable[[int], Problem]
    ) -> None:
        """Count one problem in `column` per index (in file order), building only those kept.

        Args:
            column: The column every one of these problems is in.
            indices: Positions in file order; `problem` turns a position into its `Problem`.
            problem: Called for the first `per_column` positions only.
        """
        self._counts[column] += len(indices)
        kept = self._kept[column]
        for index in indices[: self.per_column]:
            found = problem(int(index))
            kept.append((found.row, self._order, found))
            self._order += 1
        if len(kept) > 4 * self.per_column:  # several checks on one column: keep the earliest rows
            kept.sort(key=lambda k: k[:2])
            del kept[self.per_column :]

    def listing(self, *, by_row: bool = True) -> list[Problem]:
        """The kept problems (by row, or in the order found), then one count per shortened column.

        Args:
            by_row: Sort by row number (ties in the order found); else keep the order found.

        Returns:
            Problems; a column with more than `per_column` ends with "and N more problem(s) ...".
        """
        earliest = (sorted(column, key=lambda k: k[:2])[: self.per_column] for column in self._kept.values())
        kept = [k for column in earliest for k in column]
        kept.sort(key=(lambda k: k[:2]) if by_row else (lambda k: k[1]))
        problems = [k[2] for k in kept]
        for column, count in self._counts.items():
            if count > self.per_column:
                where = f"column '{column}'" if column else "the file"
                more = MORE_PROBLEMS.format(n=count - self.per_column, noun=self.noun, where=where)
                problems.append(Problem(0, column or "file", "", more))
        return problems
