"""How big an upload may be, checked before the work each limit bounds (the `CHASM_UPLOAD_*` settings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from db.config import StoreSettings

TOO_MANY_ROWS = "the file has more than {limit:,} rows, over the limit: split it into smaller files"
TOO_MANY_COLUMNS = "this row has {count:,} values, over the limit of {limit:,} columns"
LINE_TOO_LONG = "this line is {length} long, over the {limit} limit"
UNPACKED_TOO_BIG = "the workbook unpacks to {size}, over the {limit} limit"
TOO_COMPRESSED = (
    "the workbook unpacks to {ratio:,} times its size, over the limit of {limit:,} times: "
    "it is not an ordinary spreadsheet"
)
# Below this the compression ratio says nothing: tiny workbooks of repeated cells pack tightly.
RATIO_FLOOR_BYTES = 1_048_576


@dataclass(frozen=True)
class Limits:
    """The limits of one upload; the defaults are those of `StoreSettings`."""

    max_rows: int = 1_000_000
    max_columns: int = 100
    max_line_bytes: int = 128 * 1024
    max_unpacked_bytes: int = 200 * 1024 * 1024
    max_compression_ratio: int = 100
    problems_per_column: int = 100
    earliest_week: date = date(2000, 1, 3)

    @classmethod
    def from_settings(cls, settings: StoreSettings) -> Limits:
        """The limits the settings (`CHASM_UPLOAD_*`, `CHASM_EARLIEST_WEEK`) set."""
        return cls(
            max_rows=settings.upload_max_rows,
            max_columns=settings.upload_max_columns,
            max_line_bytes=settings.upload_max_line_bytes,
            max_unpacked_bytes=settings.upload_max_unpacked_bytes,
            max_compression_ratio=settings.upload_max_compression_ratio,
            problems_per_column=settings.upload_problems_per_column,
            earliest_week=settings.earliest_week,
        )


def human_size(n: int) -> str:
    """Bytes as people read them: 512 bytes, 4.8 KB, 19.0 MB."""
    if n >= 1_048_576:
        return f"{n / 1_048_576:.1f} MB"
    return f"{n / 1024:.1f} KB" if n >= 1024 else f"{n} bytes"
