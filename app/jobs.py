"""The store's scheduled jobs and the scheduler process that runs them (`chasm scheduler`).

Jobs are plain module-level functions so APScheduler can keep them in its SQLAlchemy job store
by reference; tests call them directly. The scheduler runs each in a fresh process that exits when
the job ends, so the scheduler itself holds only APScheduler and the store's engine (about 60 MB)
instead of the ingest and the model it would otherwise keep loaded between nightly runs. This
module imports them only inside the jobs, for the same reason: its `main` is the scheduler process
`chasm serve` starts.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.events import EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ProcessPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select

from db.config import get_settings
from db.engine import get_engine
from db.errors import IngestError, SchedulerLockedError, SchemaOutOfDateError
from db.locks import scheduler_lock
from db.migrate import require_current_schema

log = logging.getLogger("chasm.jobs")
INGEST_INBOX = "ingest-inbox"
_SKIPPED_SUFFIXES = (".part", ".tmp", ".crdownload")
CRASHED = ("{name} could not be ingested: {reason}\n"
           "Nothing was stored. The scheduler's log has the details; once the cause is fixed, put the "
           "file back in the inbox.\n")


@dataclass(frozen=True)
class InboxOutcome:
    """What happened to one inbox file."""

    file_name: str
    outcome: str
    moved_to: Path | None
    summary: str


def ingest_inbox(inbox_dir: str | None = None) -> list[InboxOutcome]:
    """Job `ingest-inbox`: ingest every file waiting in the inbox, oldest name first.

    Accepted files go to `processed/`, rejected ones to `failed/` with `<name>.errors.txt` and
    `<name>.errors.json` beside them. A file whose ingest crashes (anything but a rejection) goes
    to `failed/` too, with the reason in `<name>.errors.txt`, after its first try: it is never
    retried by itself. The kept files hold raw technician ids, so each run first deletes those
    older than `CHASM_RAW_FILE_RETENTION_DAYS` (default 30).
    """
    settings = get_settings()
    inbox = Path(inbox_dir) if inbox_dir else settings.resolved_inbox_dir
    engine = get_engine()
    require_current_schema(engine)
    inbox.mkdir(parents=True, exist_ok=True)
    for deleted in purge_raw_files(inbox, settings.raw_file_retention_days):
        log.info("deleted %s (kept longer than %d days)", deleted, settings.raw_file_retention_days)
    waiting = sorted(p for p in inbox.iterdir() if _is_upload(p))
    return [outcome for path in waiting if (outcome := _ingest_one(engine, path)) is not None]


def _is_upload(path: Path) -> bool:
    return path.is_file() and not path.name.startswith(".") and path.suffix not in _SKIPPED_SUFFIXES


def _ingest_one(engine, path: Path) -> InboxOutcome | None:  # type: ignore[no-untyped-def]
    from db.ingest import ingest_file

    try:
        report = ingest_file(path, engine=engine, uploaded_by="chasm scheduler")
    except IngestError as error:
        target = _move(path, path.parent / "failed")
        errors = [p.as_dict() for p in error.problems]
        Path(f"{target}.errors.txt").write_text(str(error) + "\n", encoding="utf-8")
        Path(f"{target}.errors.json").write_text(json.dumps(errors, indent=2), encoding="utf-8")
        log.warning("%s", error)
        return InboxOutcome(path.name, "rejected", target, f"{len(errors)} problem(s)")
    except FileNotFoundError:
        return None  # another run took it
    except Exception as error:
        log.exception("could not ingest %s; moving it to failed/", path)
        target = _move(path, path.parent / "failed")
        reason = f"{type(error).__name__}: {error}"
        Path(f"{target}.errors.txt").write_text(CRASHED.format(name=path.name, reason=reason),
                                                encoding="utf-8")
        return InboxOutcome(path.name, "error", target, f"moved to failed/ ({reason})")
    target = _move(path, path.parent / "processed")
    summary = f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged"
    return InboxOutcome(path.name, "accepted", target, summary)


def _move(path: Path, folder: Path) -> Path:
    folder.mkdir(exist_ok=True)
    target = folder / path.name
    if target.exists():
        target = folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{path.name}"
    moved = Path(shutil.move(path, target))
    os.utime(moved)  # the retention period counts from now, not from when the file was written
    return moved


def purge_raw_files(inbox: Path, retention_days: int, now: datetime | None = None) -> list[Path]:
    """Delete the files in `processed/` and `failed/` older than `retention_days` (by modification time).

    Args:
        inbox: The inbox folder.
        retention_days: How long a raw file (and its error report) is kept.
        now: The time to count from (tests); default now.

    Returns:
        The deleted files.
    """
    cutoff = (now or datetime.now(UTC)).timestamp() - retention_days * 86_400
    deleted = []
    for folder in (inbox / "processed", inbox / "failed"):
        for path in sorted(folder.iterdir()) if folder.is_dir() else []:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                deleted.append(path)
    return deleted


REFRESH_FORECAST = "refresh-forecast"
CHECK_DEVIATION = "check-deviation"


def refresh_forecast_job() -> list[InboxOutcome]:
    """Job `refresh-forecast`: recalibrate on new data and store a forecast snapshot."""
    from app.services.forecasts import refresh_forecast

    engine = get_engine()
    require_current_schema(engine)
    done = refresh_forecast(engine)
    summary = (f"{'recalibrated' if done['recalibrated'] else 'no new data'}; "
               f"{len(done['snapshots'])} snapshot(s) stored")
    return [InboxOutcome("forecast", "done", None, summary)]


def check_deviation_job() -> list[InboxOutcome]:
    """Job `check-deviation`: alert when adoption leaves the forecast's 80% band two weeks running."""
    from app.services.alerts import check_deviation, email_notifier

    engine = get_engine()
    require_current_schema(engine)
    messages = check_deviation(engine, notify=email_notifier())
    return [InboxOutcome("deviation", "alert", None, m) for m in messages] or [
        InboxOutcome("deviation", "ok", None, "adoption within the forecast band")]


JOBS = {INGEST_INBOX: ingest_inbox, REFRESH_FORECAST: refresh_forecast_job,
        CHECK_DEVIATION: check_deviation_job}


LOG_FORMAT = "%(asctime)s %(name)s %(levelname)s %(message)s"


def _job_process_logging() -> None:
    """A job's process logs as the scheduler does (it starts with no logging set up)."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)


def build_scheduler(scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """A scheduler whose jobs live in the store's own database, each under an explicit id.

    Each run of a job is a new process (spawned, not forked, and gone when the job ends); one job
    runs at a time, another waiting meanwhile (the ingest's file moves and the forecast's
    recalibration must not overlap). When an ingest accepted or rejected a file, the deviation
    check runs next.
    """
    settings = get_settings()
    job_store = SQLAlchemyJobStore(engine=get_engine())
    _forget_other_jobs(job_store)
    job_processes = ProcessPoolExecutor(1, pool_kwargs={
        "mp_context": multiprocessing.get_context("spawn"), "max_tasks_per_child": 1,
        "initializer": _job_process_logging})
    scheduler = scheduler_class(jobstores={"default": job_store}, executors={"default": job_processes})

    def after_ingest(event: JobExecutionEvent) -> None:
        if event.job_id == INGEST_INBOX and event.retval:
            scheduler.modify_job(CHECK_DEVIATION, next_run_time=datetime.now(UTC))

    scheduler.add_job(
        ingest_inbox,
        CronTrigger.from_crontab(settings.ingest_cron),
        id=INGEST_INBOX,
        name="Ingest the upload inbox",
        replace_existing=True,
        coalesce=True,
        misfire_grace_time=3600,
    )
    scheduler.add_job(refresh_forecast_job, CronTrigger.from_crontab(settings.forecast_cron),
                      id=REFRESH_FORECAST, name="Recalibrate and re-forecast on new data",
                      replace_existing=True, coalesce=True, misfire_grace_time=6 * 3600)
    scheduler.add_job(check_deviation_job, CronTrigger.from_crontab(settings.forecast_cron),
                      id=CHECK_DEVIATION, name="Alert when adoption leaves the forecast band",
                      replace_existing=True, coalesce=True, misfire_grace_time=6 * 3600)
    scheduler.add_listener(after_ingest, EVENT_JOB_EXECUTED)
    return scheduler


def _forget_other_jobs(job_store: SQLAlchemyJobStore) -> None:
    """Delete stored jobs that are not ours (e.g. of an older version), unread: they may no longer
    unpickle, and must not run. Ours are rewritten by `replace_existing`, whatever they held."""
    table = job_store.jobs_t
    table.create(job_store.engine, checkfirst=True)
    with job_store.engine.begin() as conn:
        others = conn.execute(select(table.c.id).where(table.c.id.not_in(list(JOBS)))).scalars().all()
        conn.execute(table.delete().where(table.c.id.in_(others)))
    for job_id in others:
        log.warning("removed the stored job %r: not one of this version's jobs", job_id)


def run_scheduler() -> None:
    """Run the scheduler until interrupted, refusing if another one holds the lock."""
    engine = get_engine()
    require_current_schema(engine)
    with scheduler_lock(engine):
        build_scheduler().start()


def main() -> int:
    """The scheduler process of `chasm serve`, without the command line's imports; its exit status."""
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    try:
        run_scheduler()
    except (SchedulerLockedError, SchemaOutOfDateError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0
