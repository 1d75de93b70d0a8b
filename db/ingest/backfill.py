"""A history loaded in one go (`chasm backfill`): many files, any size, in one transaction.

A backfill is the upload path (`read.py`, `validate.py`, `upsert.py`) run over a CSV file a chunk
of lines at a time, so memory stays bounded however long the file: each chunk is read, validated
and written inside the one write transaction of the whole backfill, and the next chunk replaces
it. Every file gets its audit record. A problem anywhere rolls back every file of the backfill;
the file, row, column and value are reported as for an upload. The lifecycle summary is rebuilt
once at the end instead of being extended per chunk. XLSX files are read whole, within the upload
limits.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, UniqueConstraint, select, update
from sqlalchemy.schema import AddConstraint, CreateIndex, DropConstraint, DropIndex

from db import summary
from db.config import StoreSettings, get_settings
from db.engine import write_transaction
from db.errors import IngestError, Problem
from db.ingest.columns import FACILITY_WEEK, KINDS, TECHNICIAN_WEEK, detect_kind
from db.ingest.limits import Limits
from db.ingest.pipeline import IngestReport, _record_upload
from db.ingest.problems import ProblemLog
from db.ingest.read import TextTable, UnreadableFile, read_table
from db.ingest.upsert import SPECS, apply_changes, create_facilities, plan_changes
from db.ingest.validate import DUPLICATE, ValidatedUpload, validate_table
from db.models import TechnicianWeek, Upload, table_of
from db.pseudonym_key import PseudonymKeyError, technician_secret

CHUNK_ROWS = 50_000
"""Data lines read, validated and written at a time."""
NOTHING_STORED = "nothing from this backfill was stored"
NO_FILES = "no CSV or XLSX files in {paths}"

_SUFFIXES = (".csv", ".xlsx")
_HEAD_LINES = 50  # where the header is looked for (exports put titles above it)
_BLOCK = 1 << 23  # bytes read at a time when cutting a file into pieces
_NEWLINE, _QUOTE = ord("\n"), ord('"')


@dataclass
class BackfillReport:
    """What a backfill stored: one report per file, in the order loaded."""

    reports: list[IngestReport] = field(default_factory=list)

    @property
    def inserted(self) -> int:
        """Rows inserted over every file."""
        return sum(r.inserted for r in self.reports)

    @property
    def updated(self) -> int:
        """Rows updated over every file."""
        return sum(r.updated for r in self.reports)

    @property
    def unchanged(self) -> int:
        """Rows already stored as they are, over every file."""
        return sum(r.unchanged for r in self.reports)


def backfill_files(paths: list[Path]) -> list[Path]:
    """The files a backfill of `paths` loads: files as given, folders' CSV and XLSX files by name."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix.lower() in _SUFFIXES and p.is_file())
        else:
            files.append(path)
    return files


def backfill(
    paths: list[Path],
    *,
    engine: Engine,
    kind: str | None = None,
    uploaded_by: str | None = None,
    today: date | None = None,
    settings: StoreSettings | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Callable[[int, int, int], None] | None = None,
) -> BackfillReport:
    """Load files (and folders of files) into the store, all or nothing, a chunk at a time.

    Args:
        paths: Files, or folders whose CSV and XLSX files are loaded in name order.
        engine: The store's engine.
        kind: `facility-week` or `technician-week` for every file; default guessed per file.
        uploaded_by: Who is loading it (the audit log); default the operating-system user.
        today: Weeks starting after this day are rejected as future; default today.
        settings: Store settings; default read from the environment.
        chunk_rows: Data lines held in memory at a time.
        progress: Told (files done, files, rows done) after each chunk.

    Returns:
        One report per file.

    Raises:
        IngestError: A file was rejected: nothing from the backfill is stored, and the audit log
            records the rejected file.
        ValueError: `kind` is unknown or `paths` holds no file.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown upload kind {kind!r}: use one of {', '.join(KINDS)}")
    files = backfill_files(paths)
    if not files:
        raise ValueError(NO_FILES.format(paths=", ".join(str(p) for p in paths)))
    settings = settings or get_settings()
    limits = Limits.from_settings(settings)
    kinds = [kind or _head_kind(path, limits) for path in files]
    loader = _Loader(kinds, limits, uploaded_by, today or date.today(), chunk_rows, progress)
    try:
        if TECHNICIAN_WEEK in kinds:  # before the write transaction, which making the key would wait on
            try:
                loader.secret = technician_secret(engine, settings)
            except PseudonymKeyError as refused:
                loader.reject(files[kinds.index(TECHNICIAN_WEEK)], TECHNICIAN_WEEK, [refused.problem])
        with write_transaction(engine) as conn, _smaller_sqlite_cache(conn):
            empty = {k for k in set(kinds) if _empty(conn, k)}
            with _constraints_checked_at_the_end(conn, kinds, empty) as unindexed:
                out = BackfillReport(loader.load(conn, files, empty, unindexed))
            if any(r.kind == TECHNICIAN_WEEK and r.changed_anything for r in out.reports):
                summary.rebuild(conn)
    except _Rejected as rejected:  # the transaction rolled back: audit the rejected file on its own
        with write_transaction(engine) as conn:
            report = IngestReport(rejected.path.name, rejected.kind, _file_sha256(rejected.path))
            _record_upload(conn, report, "rejected", uploaded_by, json.dumps([p.as_dict() for p in
                                                                              rejected.error.problems]))
        raise rejected.error from None
    return out


# A backfill writes rows in index order and sorts once for the summary: its pages are touched once,
# so SQLite's 64 MB page cache (db.engine, for uploads in any order) buys it nothing. The cache,
# and the sorter whose memory it also bounds, held about 110 MB of the enterprise backfill's peak:
# 442 and 459 MB at 64 MB against 333 MB at 16 MB, in the same time (27-30 s).
_BACKFILL_SQLITE_CACHE_KB = 16_384


@contextmanager
def _smaller_sqlite_cache(conn: Connection) -> Iterator[None]:
    """On SQLite, a 16 MB page cache for the block; the connection's own size again after it."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = int(conn.exec_driver_sql("PRAGMA cache_size").scalar_one())
    conn.exec_driver_sql(f"PRAGMA cache_size=-{_BACKFILL_SQLITE_CACHE_KB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={before}")


@contextmanager
def _constraints_checked_at_the_end(
    conn: Connection, kinds: list[str], empty: set[str]
) -> Iterator[set[str]]:
    """PostgreSQL: check the technician-weeks' foreign keys once, set-based, instead of row by row.

    PostgreSQL checks a foreign key with a trigger per inserted row: two per technician-week (its
    facility and its upload), about a third of a backfill's time. Inside the backfill's transaction
    the constraints are dropped and added back at the end, which checks every row in one join; a row
    that broke them fails the whole backfill, which rolls back with the constraints as they were.

    Into a table that was empty (its kind in `empty`), the indexes (primary and unique keys, the
    facility index) are also built once at the end: sorting 1.9 million rows into each index costs
    3.2 s, keeping them while copying 7.8 s. Yields the kinds whose table has no indexes meanwhile,
    for which no insert order is worth keeping. A piece that must read stored rows (a later file correcting
    an earlier one) meanwhile scans the table, and the unique key, added back, checks that no
    technician-week was written twice. Meanwhile readers of `technician_week` wait for the
    backfill to commit (the tracker reads the summary tables and does not).
    """
    if conn.dialect.name != "postgresql" or TECHNICIAN_WEEK not in kinds:
        yield set()
        return
    table = table_of(TechnicianWeek)
    foreign_keys = sorted(table.foreign_key_constraints, key=lambda c: str(c.name))
    unindexed = empty & {TECHNICIAN_WEEK}
    keys = [table.primary_key, *sorted(
        (c for c in table.constraints if isinstance(c, UniqueConstraint)), key=lambda c: str(c.name))
    ] if unindexed else []
    indexes = sorted(table.indexes, key=lambda i: str(i.name)) if unindexed else []
    for foreign_key in foreign_keys:
        conn.execute(DropConstraint(foreign_key))
    for index in indexes:
        conn.execute(DropIndex(index))
    for key in keys:
        conn.execute(DropConstraint(key))
    yield unindexed
    for key in keys:
        conn.execute(AddConstraint(key))
    for index in indexes:
        conn.execute(CreateIndex(index))
    for foreign_key in foreign_keys:
        conn.execute(AddConstraint(foreign_key))


class _Rejected(Exception):
    """Unwinds the write transaction (rolling it back) after a file was rejected."""

    def __init__(self, path: Path, kind: str, error: IngestError) -> None:
        super().__init__(str(error))
        self.path, self.kind, self.error = path, kind, error


def _file_sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _head_kind(path: Path, limits: Limits) -> str:
    """The kind an upload of this file would be guessed as, from its first lines."""
    with path.open("rb") as file:
        content = file.read() if path.suffix.lower() == ".xlsx" else b"".join(_head_lines(file))
    try:
        return detect_kind(read_table(content, limits).headers)
    except UnreadableFile:  # its first piece says why
        return FACILITY_WEEK


@dataclass
class _Loader:
    kinds: list[str]
    limits: Limits
    uploaded_by: str | None
    today: date
    chunk_rows: int
    progress: Callable[[int, int, int], None] | None
    secret: bytes = b""
    rows_done: int = 0

    def load(
        self, conn: Connection, files: list[Path], empty: set[str], unindexed: set[str]
    ) -> list[IngestReport]:
        """Write every file's pieces in `conn`'s transaction.

        `empty`: the kinds whose table held no rows; `unindexed`: those whose indexes are built at
        the end, so no insert order is kept.

        The next piece is read and validated in a thread meanwhile: the database works while
        Python validates.
        """
        reports = [IngestReport(path.name, kind, "") for path, kind in zip(files, self.kinds, strict=True)]
        written = _WrittenKeys(empty)
        seen, current = _SeenKeys(), 0
        for number, validated, sha256 in _prefetched(self._pieces(files)):
            report = reports[number]
            if number != current:
                seen, current = _SeenKeys(), number
            if validated is not None:
                self._write(conn, report, validated, seen, written, files[number], unindexed)
                if self.progress is not None:
                    self.progress(number, len(files), self.rows_done)
                continue
            report.sha256 = sha256
            upload = table_of(Upload)
            conn.execute(update(upload).where(upload.c.id == report.upload_id).values(
                sha256=sha256, inserted=report.inserted, updated=report.updated, unchanged=report.unchanged))
            if self.progress is not None:
                self.progress(number + 1, len(files), self.rows_done)
        return reports

    def _pieces(self, files: list[Path]) -> Iterator[tuple[int, ValidatedUpload | None, str]]:
        """(file number, a validated piece, "") for each piece, then (file number, None, its SHA-256)."""
        for number, path in enumerate(files):
            digest = hashlib.sha256()
            for content, offset in _chunks(path, self.chunk_rows, digest, self.limits):
                yield number, self._validate(path, self.kinds[number], content, offset), ""
            yield number, None, digest.hexdigest()

    def _validate(self, path: Path, kind: str, content: bytes, offset: int) -> ValidatedUpload:
        try:
            table = read_table(content, self.limits)
        except UnreadableFile as unreadable:
            self.reject(path, kind, [_shifted(unreadable.problem, offset)])
        if offset:
            _shift(table, offset)
        validated = validate_table(table, kind=kind, today=self.today, secret=self.secret, limits=self.limits)
        if validated.problems:
            self.reject(path, kind, validated.problems, validated.warnings, validated.total)
        return validated

    def _write(self, conn: Connection, report: IngestReport, validated: ValidatedUpload, seen: _SeenKeys,
               written: _WrittenKeys, path: Path, unindexed: set[str]) -> None:
        if report.upload_id is None:
            report.warnings = list(validated.warnings)
            report.upload_id = _record_upload(conn, report, "accepted", self.uploaded_by, None)
        frame, kind = validated.frame, report.kind
        hashes = _key_hashes(frame, kind)
        read_stored = written.maybe_stored(kind, frame["week_start"], hashes)
        plan = plan_changes(conn, kind, frame, validated.present, read_stored=read_stored)
        if plan.new_facilities:
            create_facilities(conn, plan.new_facilities)
            plan = plan_changes(conn, kind, frame, validated.present, read_stored=read_stored)
        repeated = seen.repeats(frame, kind, plan.stored_by == report.upload_id, hashes)
        if repeated:
            self.reject(path, kind, repeated)
        apply_changes(conn, kind, plan, report.upload_id, summary_kept=False,
                      index_order=kind not in unindexed)
        written.add(kind, frame["week_start"], hashes)
        report.inserted += len(plan.inserts)
        report.updated += len(plan.updates)
        report.unchanged += plan.unchanged
        self.rows_done += len(validated.frame)

    @staticmethod
    def reject(path: Path, kind: str, problems: list[Problem], warnings: list[Problem] | None = None,
               total: int | None = None) -> NoReturn:
        error = IngestError(f"{path.name} ({NOTHING_STORED})", problems, warnings, total)
        raise _Rejected(path, kind, error)


def _prefetched[T](items: Iterator[T]) -> Iterator[T]:
    """The items of `items`, the next one made in a thread while the caller uses the current one."""
    end = object()
    with ThreadPoolExecutor(1, thread_name_prefix="chasm-backfill") as pool:
        coming = pool.submit(next, items, end)
        while (item := coming.result()) is not end:
            coming = pool.submit(next, items, end)
            yield item  # type: ignore[misc]  # not `end`, checked above


def _shifted(problem: Problem, offset: int) -> Problem:
    """A problem of a piece (its header is row 1) as a problem of the file."""
    row = problem.row + offset if problem.row > 1 else problem.row
    return Problem(row, problem.column, problem.value, problem.message)


def _shift(table: TextTable, offset: int) -> None:
    """Number a piece's rows, and the problems found reading it, as the file's."""
    table.rows = table.rows + offset
    if table.problems is not None and len(table.problems):
        shifted = ProblemLog(table.problems.per_column)
        shifted.extend([_shifted(p, offset) for p in table.problems.listing()])
        table.problems = shifted


class _SeenKeys:
    """The keys of a file's earlier chunks, as 64-bit hashes with their rows (16 bytes a row).

    Kept chunk by chunk and joined only when a chunk repeats a key (rarely): joining them at every
    chunk copied 30 MB at a time by the end of a 1.9-million-row file, both copies held at once.
    """

    def __init__(self) -> None:
        self._hashes: list[np.ndarray] = []
        self._rows: list[np.ndarray] = []

    def repeats(
        self, frame: pd.DataFrame, kind: str, stored_here: pd.Series, hashes: np.ndarray
    ) -> list[Problem]:
        """Rows whose key an earlier chunk of this file already wrote, then remember this chunk's."""
        repeated = np.flatnonzero(stored_here.fillna(False).to_numpy(dtype=bool))
        problems = self._problems(frame, kind, repeated, hashes) if len(repeated) else []
        self._hashes.append(hashes)
        self._rows.append(frame["row"].to_numpy(dtype=np.int64, copy=True))  # not a view of the chunk
        return problems

    def _problems(
        self, frame: pd.DataFrame, kind: str, repeated: np.ndarray, hashes: np.ndarray
    ) -> list[Problem]:
        what = "technician" if kind == TECHNICIAN_WEEK else "facility"
        seen = np.concatenate([np.empty(0, dtype=np.uint64), *self._hashes])
        rows = np.concatenate([np.empty(0, dtype=np.int64), *self._rows])
        problems = []
        for i in repeated:
            at = np.flatnonzero(seen == hashes[i])
            earlier = int(rows[at[0]]) if len(at) else 0
            message = DUPLICATE.format(what=what, first=earlier) if earlier else (
                f"the same {what} and week already appear on an earlier row")
            problems.append(Problem(int(frame["row"].iloc[i]), "week_start", str(frame["week_start"].iloc[i]),
                                    message))
        return problems


def _key_hashes(frame: pd.DataFrame, kind: str) -> np.ndarray:
    """64-bit hashes of a validated piece's keys (technician or facility, and week), row by row.

    A technician's key is an HMAC written in hex, so its first 16 digits already are a uniform
    64-bit number: reading them costs a third of hashing the string (8 ms against 24 ms a piece).
    """
    if kind != TECHNICIAN_WEEK:
        return pd.util.hash_pandas_object(frame[["facility_key", "week_start"]], index=False).to_numpy()
    digits = np.frombuffer(frame["technician"].to_numpy(dtype="S16").tobytes(), dtype=np.uint8)
    technicians = np.bitwise_or.reduce(_HEX_VALUE[digits.reshape(-1, 16)] << _NIBBLE_SHIFTS, axis=1)
    codes, weeks = pd.factorize(frame["week_start"])
    return technicians ^ pd.util.hash_array(np.array([w.toordinal() for w in weeks], dtype=np.int64))[codes]


_HEX_VALUE = np.zeros(256, dtype=np.uint64)
_HEX_VALUE[np.frombuffer(b"0123456789abcdef", dtype=np.uint8)] = np.arange(16, dtype=np.uint64)
_NIBBLE_SHIFTS = np.arange(60, -4, -4, dtype=np.uint64)


def _empty(conn: Connection, kind: str) -> bool:
    """Whether the table of `kind` holds no rows."""
    table = SPECS[kind].table
    return conn.execute(select(table.c.id).limit(1)).first() is None


class _WrittenKeys:
    """The keys this backfill wrote, by week, for the kinds whose table was empty when it began.

    A piece of an initial load whose keys none of the earlier pieces wrote has no stored row to
    compare with, so the stored rows of its weeks need not be read: a fifth of a second a piece,
    3.6 s of a history of 1.9 million rows. A piece that shares a key, or a hash, with an earlier one
    (a repeated row, or a later file correcting an earlier one) reads them as any upload does.
    """

    def __init__(self, empty_kinds: set[str]) -> None:
        self.by_week: dict[str, dict[Any, np.ndarray]] = {kind: {} for kind in empty_kinds}

    def maybe_stored(self, kind: str, weeks: pd.Series, hashes: np.ndarray) -> bool:
        """Whether some stored row may have one of these keys."""
        if kind not in self.by_week:
            return True
        written = self.by_week[kind]
        pieces = _by_week(weeks, hashes)
        return any(week in written and np.isin(mine, written[week]).any() for week, mine in pieces)

    def add(self, kind: str, weeks: pd.Series, hashes: np.ndarray) -> None:
        if kind in self.by_week:
            written = self.by_week[kind]
            for week, mine in _by_week(weeks, hashes):
                written[week] = np.concatenate([written[week], mine]) if week in written else mine


def _by_week(weeks: pd.Series, hashes: np.ndarray) -> Iterator[tuple[Any, np.ndarray]]:
    """(week, the hashes of its rows) for each week of a piece."""
    codes, uniques = pd.factorize(weeks, use_na_sentinel=False)
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes, minlength=len(uniques)))[:-1]
    return zip(uniques, np.split(hashes[order], ends), strict=True)


def _head_lines(file: Any) -> list[bytes]:
    """The first lines of an open file, where the header is looked for."""
    return [line for _, line in zip(range(_HEAD_LINES), file, strict=False)]


def _chunks(path: Path, chunk_rows: int, digest: Any, limits: Limits) -> Iterator[tuple[bytes, int]]:
    """The file as (header lines + up to `chunk_rows` data lines, row offset) pieces.

    The first piece is the file's first lines as they are (titles above the header included);
    later ones repeat the header line, and the offset turns their row numbers into the file's. A
    piece ends only where no quoted cell is open, so a quoted line break never splits a row.
    """
    if path.suffix.lower() == ".xlsx":
        content = path.read_bytes()
        digest.update(content)
        yield content, 0
        return
    with path.open("rb") as file:
        head = _head_lines(file)
        if not head:
            yield b"", 0  # read as an upload: "the file is empty"
            return
        header = _header_line(head, limits)
        yield from _split(file, head, header, chunk_rows, digest)


def _split(
    file: Any, head: list[bytes], header: bytes, chunk_rows: int, digest: Any, block_size: int = _BLOCK
) -> Iterator[tuple[bytes, int]]:
    """The rest of the file after its first lines, cut into pieces of at least `chunk_rows` lines.

    Read a block at a time: numpy finds the line ends and whether a quoted cell is open at each
    (an odd count of quotes so far), where a loop over 1.9 million lines cost 2 s.
    """
    parts, line_number, first_line = list(head), len(head), 1  # lines seen; where the piece starts
    quoted = 0  # quotes seen since the first lines, modulo 2
    while block := file.read(block_size):
        data = np.frombuffer(block, dtype=np.uint8)
        ends = np.flatnonzero(data == _NEWLINE)
        quotes = np.flatnonzero(data == _QUOTE)
        open_after = (quoted + np.searchsorted(quotes, ends)) % 2  # at each line end
        start, done = 0, 0  # where this block's unassigned bytes start; line ends used
        while (at := done + max(chunk_rows - (line_number - first_line + 1), 1) - 1) < len(ends):
            closed = np.flatnonzero(open_after[at:] == 0)
            if not len(closed):
                break
            cut = at + int(closed[0])
            parts.append(block[start:ends[cut] + 1])
            line_number += cut + 1 - done
            yield from _pieces(parts, first_line, header, digest)
            parts, first_line = [], line_number + 1
            start, done = int(ends[cut]) + 1, cut + 1
        parts.append(block[start:])
        line_number += len(ends) - done
        quoted = (quoted + len(quotes)) % 2
    yield from _pieces(parts, first_line, header, digest)


def _pieces(lines: list[bytes], first_line: int, header: bytes, digest: Any) -> Iterator[tuple[bytes, int]]:
    """The piece of these lines, if any; the file's digest takes them.

    A piece at a time: a digest update per line cost seconds on a long file.
    """
    data = b"".join(lines)
    digest.update(data)
    if not lines or (first_line > 1 and not data.strip()):
        return  # blank lines at the end: nothing to read (an upload skips them too)
    if first_line == 1:
        yield data, 0
    else:
        yield header + data, first_line - 2  # the header is row 1 of the piece


def _header_line(head: list[bytes], limits: Limits) -> bytes:
    """The header line among the first lines, found as an upload finds it."""
    try:
        line = head[read_table(b"".join(head), limits).header_row - 1]
    except (UnreadableFile, IndexError):  # the first piece reports what is wrong
        return head[0] if head else b""
    return line if line.endswith(b"\n") else line + b"\n"
