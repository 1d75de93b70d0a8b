"""One upload, start to finish: read -> validate -> plan -> write in one transaction, audited."""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import NoReturn, TypedDict

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import DataError
from sqlmodel import col

from db.config import StoreSettings, get_settings
from db.engine import write_transaction
from db.errors import IngestError, Problem
from db.ingest.columns import KINDS, TECHNICIAN_WEEK, detect_kind
from db.ingest.limits import Limits, human_size
from db.ingest.problems import ProblemLog, printable, shown
from db.ingest.read import UnreadableFile, read_table
from db.ingest.upsert import ChangePlan, apply_changes, create_facilities, plan_changes
from db.ingest.validate import ValidatedUpload, validate_table
from db.models import Upload, table_of
from db.pseudonym_key import PseudonymKeyError, technician_secret

TOO_BIG = "the file is {size}, over the {limit} limit"
SEEN_BEFORE = "this exact file was already accepted as upload {id} on {when:%Y-%m-%d %H:%M} UTC"
NEW_FACILITY = "new facility, created by this upload"
UPLOADER_TOO_LONG = "the name is longer than {limit} characters, more than the audit log keeps"
STORE_REFUSED = "the database refused a value of this file ({reason}): nothing was stored"

_UPLOADER_CHARS = 200  # upload.uploaded_by


class _Options(TypedDict):
    """The options `ingest_file` passes on to `ingest_bytes`."""

    kind: str | None
    dry_run: bool
    uploaded_by: str | None
    today: date | None


@dataclass
class IngestReport:
    """What an accepted upload did (or, with `dry_run`, would do)."""

    file_name: str
    kind: str
    sha256: str
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[Problem] = field(default_factory=list)
    dry_run: bool = False
    upload_id: int | None = None

    @property
    def changed_anything(self) -> bool:
        """Whether the upload inserted or updated any row."""
        return bool(self.inserted or self.updated)

    def as_json(self) -> dict:
        """The report in the `chasm ingest --json` shape."""
        return {
            "outcome": "accepted",
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "errors": [],
            "warnings": [w.as_dict() for w in self.warnings],
        }


def ingest_file(
    path: Path | str,
    *,
    engine: Engine,
    kind: str | None = None,
    dry_run: bool = False,
    uploaded_by: str | None = None,
    today: date | None = None,
    settings: StoreSettings | None = None,
) -> IngestReport:
    """Validate and store one CSV or XLSX file; the options are those of `ingest_bytes`.

    Args:
        path: The file; its name is what the audit log records.
        engine: The store's engine.
        kind: `facility-week` or `technician-week`; default: guessed from the headers.
        dry_run: Validate and count what would change, writing nothing.
        uploaded_by: Who uploaded it; default the operating-system user.
        today: Weeks starting after this day are rejected as future; default today.
        settings: Store settings; default read from the environment.

    Returns:
        The report of an accepted file.

    Raises:
        IngestError: The file was rejected; nothing but the audit record was written.
    """
    path = Path(path)
    settings = settings or get_settings()
    size = path.stat().st_size
    if size > settings.upload_max_bytes:
        # Say so without loading a file that may be huge.
        with path.open("rb") as file:
            digest = hashlib.file_digest(file, "sha256").hexdigest()
        attempt = _Attempt(engine, path.name, digest, kind or "", dry_run, uploaded_by)
        attempt.reject([_too_big(size, settings.upload_max_bytes)])
    options: _Options = {"kind": kind, "dry_run": dry_run, "uploaded_by": uploaded_by, "today": today}
    return ingest_bytes(path.read_bytes(), path.name, engine=engine, settings=settings, **options)


def ingest_bytes(
    content: bytes,
    file_name: str,
    *,
    engine: Engine,
    kind: str | None = None,
    dry_run: bool = False,
    uploaded_by: str | None = None,
    today: date | None = None,
    settings: StoreSettings | None = None,
) -> IngestReport:
    """Validate and store one upload, all or nothing.

    Args:
        content: The file's bytes.
        file_name: Name recorded in the audit log and used in messages.
        engine: The store's engine.
        kind: `facility-week` or `technician-week`; default: guessed from the headers.
        dry_run: Validate and count what would change, writing nothing (not even the audit).
        uploaded_by: Who uploaded it; default the operating-system user.
        today: Weeks starting after this day are rejected as future; default today.
        settings: Store settings; default read from the environment.

    Returns:
        The report of an accepted file.

    Raises:
        IngestError: The file was rejected; the metrics are exactly as before and, unless
            `dry_run`, the audit log records the rejection with its error report.
        ValueError: `kind` is not a known kind.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"unknown upload kind {kind!r}: use one of {', '.join(KINDS)}")
    settings = settings or get_settings()
    limits = Limits.from_settings(settings)
    attempt = _Attempt(engine, file_name, _sha256(content), kind or "", dry_run, uploaded_by)
    if uploaded_by is not None and len(uploaded_by) > _UPLOADER_CHARS:
        message = UPLOADER_TOO_LONG.format(limit=_UPLOADER_CHARS)
        attempt.reject([Problem(0, "uploader", shown(uploaded_by), message)])
    if len(content) > settings.upload_max_bytes:
        attempt.reject([_too_big(len(content), settings.upload_max_bytes)])
    try:
        table = read_table(content, limits)
    except UnreadableFile as unreadable:
        attempt.reject([unreadable.problem])
    attempt.kind = kind or detect_kind(table.headers)
    try:
        technician = attempt.kind == TECHNICIAN_WEEK
        secret = technician_secret(engine, settings, create=not dry_run) if technician else b""
    except PseudonymKeyError as refused:
        attempt.reject([refused.problem])
    validated = validate_table(
        table, kind=attempt.kind, today=today or date.today(), secret=secret, limits=limits
    )
    if validated.problems:
        attempt.reject(validated.problems, validated.warnings, validated.total)
    report = IngestReport(file_name, attempt.kind, attempt.sha256, dry_run=dry_run)
    report.warnings = list(validated.warnings)
    if dry_run:
        with engine.connect() as conn:
            plan = plan_changes(conn, attempt.kind, validated.frame, validated.present)
            _fill_report(report, plan, limits)
        return report
    try:
        return _store(engine, report, validated, uploaded_by, limits)
    except DataError as refused:  # a value validation let through: still a rejection, not a traceback
        reason = str(refused.orig).strip().splitlines()[0] if refused.orig else "invalid value"
        attempt.reject([Problem(0, "", "", STORE_REFUSED.format(reason=reason))], validated.warnings)


@dataclass
class _Attempt:
    """An upload on its way in: enough to audit its rejection."""

    engine: Engine
    file_name: str
    sha256: str
    kind: str
    dry_run: bool
    uploaded_by: str | None

    def reject(
        self, problems: list[Problem], warnings: list[Problem] | None = None, total: int | None = None
    ) -> NoReturn:
        if not self.dry_run:
            report = IngestReport(self.file_name, self.kind, self.sha256)
            errors = json.dumps([p.as_dict() for p in problems])
            with write_transaction(self.engine) as conn:
                _record_upload(conn, report, "rejected", self.uploaded_by, errors)
        raise IngestError(self.file_name, problems, warnings, total)


def _store(
    engine: Engine, report: IngestReport, validated: ValidatedUpload, uploaded_by: str | None, limits: Limits
) -> IngestReport:
    with write_transaction(engine) as conn:
        earlier = _previous_acceptance(conn, report.sha256)
        plan = plan_changes(conn, report.kind, validated.frame, validated.present)
        _fill_report(report, plan, limits)
        create_facilities(conn, plan.new_facilities)
        if plan.new_facilities:
            plan = plan_changes(conn, report.kind, validated.frame, validated.present)
        report.upload_id = _record_upload(conn, report, "accepted", uploaded_by, None)
        apply_changes(conn, report.kind, plan, report.upload_id)
    if earlier is not None:
        message = SEEN_BEFORE.format(id=earlier[0], when=earlier[1])
        report.warnings.append(Problem(0, "", report.sha256[:12], message))
    return report


def _fill_report(report: IngestReport, plan: ChangePlan, limits: Limits) -> None:
    report.inserted, report.updated = len(plan.inserts), len(plan.updates)
    report.unchanged = plan.unchanged
    names, new = plan.new_facilities, ProblemLog(limits.problems_per_column, "warning")
    new.add_each("facility", range(len(names)), lambda i: Problem(0, "facility", names[i], NEW_FACILITY))
    report.warnings.extend(new.listing(by_row=False))


def _record_upload(
    conn: Connection, report: IngestReport, outcome: str, by: str | None, errors: str | None
) -> int:
    values = {
        "file_name": _audit_text(report.file_name, 500),
        "sha256": report.sha256,
        "uploaded_by": _audit_text(by or _current_user(), _UPLOADER_CHARS),
        "uploaded_at": datetime.now(UTC),
        "kind": report.kind,
        "inserted": report.inserted,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "outcome": outcome,
        "error_report": errors,
    }
    key = conn.execute(insert(table_of(Upload)).values(values)).inserted_primary_key
    if key is None:  # SQLAlchemy gives one for every single-row INSERT, which this is
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def _previous_acceptance(conn: Connection, sha256: str) -> tuple[int, datetime] | None:
    query = (
        select(col(Upload.id), col(Upload.uploaded_at))
        .where(col(Upload.sha256) == sha256, col(Upload.outcome) == "accepted")
        .order_by(col(Upload.id))
        .limit(1)
    )
    row = conn.execute(query).first()
    if row is None or row[0] is None:  # (a stored id is never None: it is the primary key)
        return None
    return row[0], row[1]


def _too_big(size: int, limit: int) -> Problem:
    message = TOO_BIG.format(size=human_size(size), limit=human_size(limit))
    return Problem(0, "", f"{size} bytes", message)


def _audit_text(text: str, limit: int) -> str:
    """Text as an audit column can hold it: control characters (NUL) written out, then cut."""
    return printable(text)[:limit]


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
