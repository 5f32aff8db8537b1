"""Stream Arrow record batches into CSV or Parquet, one batch in memory at a time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, Literal

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from helan.core.errors import ValidationFailed

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")


def check_format(fmt: str) -> ExportFormat:
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    return "csv" if fmt == "csv" else "parquet"


def write_batches(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], fmt: ExportFormat, out: BinaryIO
) -> int:
    """Write every batch to ``out``; an empty range still yields a header / a valid file."""
    rows = 0
    writer: pa_csv.CSVWriter | pq.ParquetWriter
    if fmt == "csv":
        writer = pa_csv.CSVWriter(out, schema)
    else:
        writer = pq.ParquetWriter(out, schema, compression="zstd")
    with writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows
