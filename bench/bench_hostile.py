"""Benchmarks of hostile uploads: each bomb must be rejected in under 5 s and 300 MB peak RSS.

Every case runs `chasm ingest`'s code path (`ingest_file` against a migrated SQLite store, the
rejection audited) in a fresh subprocess, so its peak RSS (the child's own VmHWM) is that case's alone.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

TARGET_S = 5.0
TARGET_RSS_MB = 300

_CHILD = """
import json, sys, time
from db.engine import create_store_engine
from db.errors import IngestError
from db.ingest import ingest_file
engine = create_store_engine(sys.argv[1])
start = time.perf_counter()
try:
    ingest_file(sys.argv[2], engine=engine, uploaded_by="bench")
    outcome = "accepted"
except IngestError as error:
    outcome = str(error).splitlines()[1].strip()
seconds = time.perf_counter() - start
# VmHWM is this process's own high-water mark (reset by exec). The parent's ru_maxrss from wait4 is
# not: Linux carries the forking process's peak into the child's, so a big parent inflates it.
hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"seconds": seconds, "outcome": outcome, "peak_rss_mb": hwm_kb / 1024}))
"""


def _workbook(far_cell: str | None = None) -> bytes:
    """A small facility-week workbook with one bad cell (so that it is rejected, not stored)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet: Any = workbook.active
    sheet.append(["facility", "week_start", "technicians", "active_users"])
    sheet.append(["North Plant", "2025-03-03", "twenty", 8])
    if far_cell:
        sheet[far_cell] = "far away"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _rewrite_sheet(content: bytes, change: Callable[[bytes], bytes]) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            data = source.read(member)
            target.writestr(member, change(data) if member.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def claimed_dimension_xlsx(folder: Path) -> Path:
    """A 5 KB workbook whose sheet claims A1:XFD1048576 (17 billion cells) and holds 8."""
    path = folder / "claims_a_huge_sheet.xlsx"
    claim = b'<dimension ref="A1:XFD1048576"/>'
    path.write_bytes(_rewrite_sheet(_workbook(), lambda xml: re.sub(rb"<dimension [^>]*/>", claim, xml)))
    return path


def far_cell_xlsx(folder: Path) -> Path:
    """A 5 KB workbook with a real cell at XFD1048576, the last one Excel has."""
    path = folder / "far_cell.xlsx"
    path.write_bytes(_workbook("XFD1048576"))
    return path


def zip_bomb_xlsx(folder: Path, unpacked_mb: int = 1024) -> Path:
    """A workbook whose sheet unpacks to `unpacked_mb` MB of XML (whitespace inside a row)."""
    path = folder / "zip_bomb.xlsx"
    with (
        zipfile.ZipFile(io.BytesIO(_workbook())) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target,
    ):
        for member in source.infolist():
            if member.filename != "xl/worksheets/sheet1.xml":
                target.writestr(member, source.read(member))
                continue
            with target.open(member.filename, "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">')
                sheet.write(b'<sheetData><row r="1">')
                block = b" " * (1 << 20)
                for _ in range(unpacked_mb):
                    sheet.write(block)
                sheet.write(b"</row></sheetData></worksheet>")
    return path


def one_line_csv(folder: Path, columns: int = 9_500_000) -> Path:
    """A 19 MB CSV of one line with 9.5 million columns."""
    path = folder / "one_line.csv"
    path.write_bytes(b"a," * (columns - 1) + b"a\n")
    return path


def million_bad_rows_csv(folder: Path, rows: int = 1_000_000) -> Path:
    """A 17 MB facility-week CSV whose million rows are all wrong (and all the same facility-week)."""
    path = folder / "million_bad_rows.csv"
    path.write_bytes(b"facility,week_start,technicians,active_users\n" + b"A,2025-03-03,x,y\n" * rows)
    return path


CASES = (
    ("xlsx claiming the dimension A1:XFD1048576", claimed_dimension_xlsx),
    ("xlsx with a cell at XFD1048576", far_cell_xlsx),
    ("zip-bomb xlsx (1 GB of sheet XML)", zip_bomb_xlsx),
    ("19 MB one-line CSV (9.5 million columns)", one_line_csv),
    ("17 MB CSV of a million bad rows", million_bad_rows_csv),
)


def reject_in_child(database_url: str, path: Path) -> dict:
    """Ingest `path` in a fresh interpreter: its rejection time, first line of outcome, peak RSS."""
    env = os.environ | {"CHASM_PSEUDONYM_SECRET": "benchmark", "CHASM_DATABASE_URL": database_url}
    root = Path(__file__).resolve().parents[1]
    process = subprocess.Popen(
        [sys.executable, "-c", _CHILD, database_url, str(path)],
        stdout=subprocess.PIPE,
        cwd=root,
        env=env,
    )
    stdout = process.stdout.read() if process.stdout else b""
    if process.wait() != 0:
        raise RuntimeError(f"the child ingesting {path.name} failed with exit {process.returncode}")
    result: dict = json.loads(stdout)
    return result


def run() -> list[dict]:
    """Reject each hostile file once, in its own process, against a fresh SQLite store."""
    from db.ingest.limits import human_size
    from db.migrate import upgrade

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url = f"sqlite:///{folder / 'chasm.db'}"
        upgrade(url)
        for name, make in CASES:
            path = make(folder)
            result = reject_in_child(url, path)
            rss = result["peak_rss_mb"]
            verdict = "meets" if rss < TARGET_RSS_MB else "MISSES"
            rows.append(
                {
                    "name": f"reject {name}",
                    "median_s": result["seconds"],
                    "target_s": TARGET_S,
                    "n": 1,
                    "n_counts": "rejection, in a fresh process against an empty SQLite store",
                    "peak_rss_mb": rss,
                    "note": f"{human_size(path.stat().st_size)} file; peak RSS {rss:.0f} MB of the "
                    f"whole process ({verdict} < {TARGET_RSS_MB} MB); {result['outcome']}",
                }
            )
            path.unlink()
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
