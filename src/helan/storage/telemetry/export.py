"""Stream Arrow record batches into CSV or Parquet, one batch in memory at a time."""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO, Literal

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from helan.core.errors import ValidationFailed

ExportFormat = Literal["csv", "parquet"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")
# How ``ts`` is written: epoch milliseconds (exact, what the API takes back) or ISO 8601 UTC
# with milliseconds, for spreadsheets and people.
TimeFormat = Literal["epoch_ms", "iso8601"]


def check_format(fmt: str) -> ExportFormat:
    if fmt not in EXPORT_FORMATS:
        raise ValidationFailed(f"format must be one of {', '.join(EXPORT_FORMATS)}, not {fmt!r}")
    return "csv" if fmt == "csv" else "parquet"


def iso_times(batch: pa.RecordBatch) -> pa.RecordBatch:
    """``ts`` (epoch ms) as ISO 8601 UTC text: ``2024-05-01T00:00:00.123Z``."""
    at = batch.schema.get_field_index("ts")
    stamps = batch.column(at).cast(pa.timestamp("ms", tz="UTC"))
    text = pc.strftime(stamps, format="%Y-%m-%dT%H:%M:%SZ")
    return batch.set_column(at, pa.field("ts", pa.string()), text)


def write_batches(
    schema: pa.Schema,
    batches: Iterable[pa.RecordBatch],
    fmt: ExportFormat,
    out: BinaryIO,
    *,
    times: TimeFormat = "epoch_ms",
) -> int:
    """Write every batch to ``out``; an empty range still yields a header / a valid file.
    Parquet keeps ``ts`` as epoch ms whatever ``times`` says: it is typed, not text."""
    iso = fmt == "csv" and times == "iso8601"
    if iso:
        schema = schema.set(schema.get_field_index("ts"), pa.field("ts", pa.string()))
    rows = 0
    writer: pa_csv.CSVWriter | pq.ParquetWriter
    if fmt == "csv":
        writer = pa_csv.CSVWriter(out, schema)
    else:
        writer = pq.ParquetWriter(out, schema, compression="zstd")
    with writer:
        for batch in batches:
            if batch.num_rows:
                writer.write_batch(iso_times(batch) if iso else batch)
                rows += batch.num_rows
    return rows
