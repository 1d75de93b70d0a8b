"""`chasm` commands over the metrics store (db/): ingest, metrics, uploads, db, demo, scheduler."""

from __future__ import annotations

import json
import logging
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli import app
from app.cli.common import fail, open_store

if TYPE_CHECKING:
    from db.ingest.pipeline import IngestReport

db_app = typer.Typer(help="Manage the metrics database.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo organisation.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")


class UploadKind(StrEnum):
    facility_week = "facility-week"
    technician_week = "technician-week"


class Job(StrEnum):
    ingest_inbox = "ingest-inbox"
    refresh_forecast = "refresh-forecast"
    check_deviation = "check-deviation"


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations up to the latest schema."""
    from app.services.settings import get_settings
    from db.engine import get_engine
    from db.migrate import current_revision, upgrade

    upgrade()
    url = get_settings().store.resolved_database_url
    revision = current_revision(get_engine())
    typer.echo(f"Database {_safe(url)} is at schema revision {revision}.")


@db_app.command("rebuild-summaries")
def db_rebuild_summaries() -> None:
    """Recompute the tracker's lifecycle summary from the stored technician-weeks."""
    from db.summary import rebuild_store

    technicians, weeks = rebuild_store(open_store())
    typer.echo(f"Rebuilt the lifecycle summary: {technicians:,} technicians over {weeks:,} weeks.")


def _safe(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    kind: Annotated[UploadKind | None, typer.Option(help="Default: guessed from headers.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Validate only.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    by: Annotated[str | None, typer.Option(help="Who is uploading (audit log).")] = None,
) -> None:
    """Validate a CSV/XLSX upload and store it (all or nothing). Exit 1 if rejected."""
    from db.errors import IngestError
    from db.ingest import ingest_file

    engine = open_store()
    try:
        report = ingest_file(
            file, engine=engine, kind=kind.value if kind else None, dry_run=dry_run, uploaded_by=by
        )
    except IngestError as error:
        if as_json:
            typer.echo(json.dumps(error.as_json(), indent=2))
            raise typer.Exit(1) from None
        warnings = "".join(f"\n  warning: {w}" for w in error.warnings)
        raise fail(f"{error}{warnings}") from None
    if as_json:
        typer.echo(json.dumps(report.as_json(), indent=2))
        return
    typer.echo(_accepted_text(report))
    for warning in report.warnings:
        typer.echo(f"  warning: {warning}")


@app.command()
def backfill(
    paths: Annotated[list[Path], typer.Argument(exists=True, readable=True, help="Files or folders.")],
    kind: Annotated[UploadKind | None, typer.Option(help="Default: guessed per file.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
    by: Annotated[str | None, typer.Option(help="Who is loading it (audit log).")] = None,
    chunk_rows: Annotated[int, typer.Option(min=1000, help="Rows held in memory at a time.")] = 50_000,
) -> None:
    """Load a history of any size (files, or folders of CSV/XLSX files) in one transaction, all or nothing."""
    from db.errors import IngestError
    from db.ingest.backfill import backfill as run_backfill

    def progress(done: int, files: int, rows: int) -> None:
        typer.echo(f"  {done} of {files} files, {rows:,} rows read", err=True)

    try:
        report = run_backfill(paths, engine=open_store(), kind=kind.value if kind else None, uploaded_by=by,
                              chunk_rows=chunk_rows, progress=None if as_json else progress)
    except ValueError as error:
        raise fail(str(error)) from None
    except IngestError as error:
        if as_json:
            typer.echo(json.dumps(error.as_json(), indent=2))
            raise typer.Exit(1) from None
        raise fail(str(error)) from None
    if as_json:
        files = [{"file": r.file_name, "kind": r.kind, **r.as_json()} for r in report.reports]
        typer.echo(json.dumps({"outcome": "accepted", "inserted": report.inserted, "updated": report.updated,
                               "unchanged": report.unchanged, "files": files}, indent=2))
        return
    typer.echo(f"Backfilled {len(report.reports)} file(s): {report.inserted:,} inserted, {report.updated:,} "
               f"updated, {report.unchanged:,} unchanged.")


def _accepted_text(report: IngestReport) -> str:
    counts = f"{report.inserted} inserted, {report.updated} updated, {report.unchanged} unchanged"
    if report.dry_run:
        name = f"{report.file_name} ({report.kind})"
        return f"Dry run: {name} would be accepted: {counts}. Nothing was written."
    nothing = "" if report.changed_anything else " Nothing changed."
    return f"Accepted {report.file_name} ({report.kind}): {counts}.{nothing}"


@app.command()
def metrics(
    facility: Annotated[str | None, typer.Option(help="Only this facility.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    csv: Annotated[Path | None, typer.Option("--csv", help="Write CSV to this file.")] = None,
) -> None:
    """Print the stored weekly facility metrics."""
    from db import queries

    if as_json and csv:
        raise typer.BadParameter("use either --json or --csv, not both")
    frame = queries.weekly_metrics(open_store(), facility=facility)
    if as_json:
        frame["week_start"] = frame["week_start"].map(lambda d: d.isoformat())
        typer.echo(frame.astype(object).where(frame.notna(), None).to_json(orient="records", indent=2))
    elif csv:
        from db.csvsafe import write_csv

        write_csv(frame, csv)  # facility names like "=HYPERLINK(...)" are escaped for spreadsheets
        typer.echo(f"Wrote {len(frame)} rows to {csv}.")
    elif frame.empty:
        typer.echo("No weekly metrics stored" + (f" for {facility}." if facility else "."))
    else:
        typer.echo(frame.to_string(index=False))


@app.command()
def uploads(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the upload audit log, newest first."""
    from db import queries

    frame = queries.uploads(open_store())
    frame["uploaded_at"] = frame["uploaded_at"].map(lambda t: t.strftime("%Y-%m-%d %H:%M"))
    if as_json:
        typer.echo(frame.to_json(orient="records", indent=2))
    elif frame.empty:
        typer.echo("No uploads yet.")
    else:
        frame["sha256"] = frame["sha256"].str.slice(0, 12)
        typer.echo(frame.to_string(index=False))


@demo_app.command("load")
def demo_load() -> None:
    """Load the demo organisation through the ingest path (idempotent)."""
    from db.demo import load_demo

    loaded = load_demo(open_store())
    for report in loaded.reports:
        typer.echo(_accepted_text(report))
    typer.echo(f"Intervention log: {loaded.new_interventions} new entries.")


@app.command()
def scheduler(
    run_once: Annotated[Job | None, typer.Option(help="Run this job now and exit.")] = None,
) -> None:
    """Run the scheduler (its own process; one per database), or one job now."""
    from app.jobs import JOBS, LOG_FORMAT, run_scheduler
    from db.errors import SchedulerLockedError

    open_store()
    if run_once is None:
        logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
        typer.echo("Scheduler starting (Ctrl-C to stop); jobs are kept in the database.")
        try:
            run_scheduler()
        except SchedulerLockedError as error:
            raise fail(str(error)) from None
        return
    for outcome in JOBS[run_once.value]():
        typer.echo(f"{outcome.file_name}: {outcome.outcome} ({outcome.summary})")
