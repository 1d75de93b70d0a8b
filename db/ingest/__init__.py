"""Validated writes: a CSV or XLSX upload is read, checked whole, and stored in one transaction.

`read.py` turns bytes into text cells, `validate.py` finds every problem, `upsert.py` writes on
the natural key with revisions, `pipeline.py` ties them together with the audit log.
"""

from db.ingest.columns import FACILITY_WEEK, KINDS, TECHNICIAN_WEEK
from db.ingest.pipeline import IngestReport, ingest_bytes, ingest_file

__all__ = [
    "FACILITY_WEEK",
    "KINDS",
    "TECHNICIAN_WEEK",
    "IngestReport",
    "ingest_bytes",
    "ingest_file",
]
