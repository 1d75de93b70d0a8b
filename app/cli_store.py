"""`chasm` commands over the metrics store (db/): ingest, metrics, uploads, db, demo, scheduler."""

from __future__ import annotations

from app.cli import app  # noqa: F401  (commands register themselves on the shared Typer app)
