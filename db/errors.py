"""Specific exceptions of the store; the CLI and pages turn them into messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong (or worth saying) about one cell of an uploaded file.

    `row` is the row number the user sees in the file (the header is row 1); 0 means the file
    as a whole. `column` is the header as written in the file, or the expected column's name.
    """

    row: int
    column: str
    value: str
    message: str

    def as_dict(self) -> dict[str, int | str]:
        """The problem as a JSON-ready dict."""
        return asdict(self)

    def __str__(self) -> str:
        if self.row == 0 and self.column and not self.value:
            return self.message  # a count of problems left out: "and 12 more problem(s) in column ..."
        if self.row == 0:
            return (
                f"{self.column.capitalize()} '{self.value}': {self.message}"
                if self.column
                else (f"File: {self.message}")
            )
        where = f"Row {self.row}, column '{self.column}'" if self.column else f"Row {self.row}"
        value = f", value '{self.value}'" if self.value else ""
        return f"{where}{value}: {self.message}"


class StoreError(Exception):
    """Base class of every error the store raises on purpose."""


class SchemaOutOfDateError(StoreError):
    """The database schema is behind (or ahead of) the code."""

    def __init__(self, current: str | None, head: str | None) -> None:
        self.current = current
        self.head = head
        state = "empty" if current is None else f"at revision {current}"
        super().__init__(
            f"The database schema is out of date ({state}, this version of Chasm needs {head}). "
            "Run `chasm db upgrade` first."
        )


class IngestError(StoreError):
    """An uploaded file was rejected; nothing was written to the metrics tables."""

    def __init__(
        self,
        file_name: str,
        problems: list[Problem],
        warnings: list[Problem] | None = None,
        total: int | None = None,
    ) -> None:
        self.file_name = file_name
        self.problems = problems
        self.warnings = warnings or []
        # Big reports keep the first problems of each column and say how many more there are.
        self.total = len(problems) if total is None else total
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{file_name} was rejected ({self.total} problem(s)):\n{lines}")

    def as_json(self) -> dict:
        """The rejection in the `chasm ingest --json` shape."""
        return {
            "outcome": "rejected",
            "inserted": 0,
            "updated": 0,
            "unchanged": 0,
            "errors": [p.as_dict() for p in self.problems],
            "warnings": [w.as_dict() for w in self.warnings],
        }


class SchedulerLockedError(StoreError):
    """Another scheduler already runs against this database."""
