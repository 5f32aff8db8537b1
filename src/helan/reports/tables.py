"""One device's metrics as a table (one row per timestamp or bucket, one column per metric),
and that table as CSV or XLSX: what the console's exports and the PDF reports both read.

Bounded on purpose: a table stops at :data:`MAX_ROWS` rows, and a query that would give more is
refused before any byte is written, with a message saying how to ask for less (a coarser
interval or a shorter range); a half-written export that looks complete is worse than none.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any, Literal

import xlsxwriter  # type: ignore[import-untyped]  # ships no type information

from helan.core import ids
from helan.core.errors import ValidationFailed
from helan.core.thing import DeviceRef, typed_value
from helan.storage.telemetry.base import MAX_PAGE, AggFn, AggQuery, RawQuery, TelemetryStore

MAX_ROWS = MAX_PAGE  # 100,000: what one store query returns
MAX_METRICS = 20
CSV_CHUNK_ROWS = 2_000


@dataclass(frozen=True, slots=True)
class SeriesTable:
    """``rows``: [ts, value of metrics[0], value of metrics[1], ...], ordered by ts."""

    device: str
    metrics: list[str]
    units: list[str | None]
    start_ms: int
    end_ms: int
    bucket_ms: int | None
    fn: str | None
    rows: list[list[Any]]

    @property
    def header(self) -> list[str]:
        names = [
            m if u is None else f"{m} ({u})" for m, u in zip(self.metrics, self.units, strict=True)
        ]
        return ["time (UTC)", *names]


class TooManyRows(ValidationFailed):
    code = "export_too_large"


def _metrics(names: Sequence[str]) -> list[str]:
    unique = list(dict.fromkeys(ids.metric_name(m) for m in names))
    if not unique:
        raise ValidationFailed("metrics: name at least one")
    if len(unique) > MAX_METRICS:
        raise ValidationFailed(f"metrics: at most {MAX_METRICS}, got {len(unique)}")
    return unique


def series_table(
    store: TelemetryStore,
    ref: DeviceRef | None,
    tenant: str,
    device: str,
    metrics: Sequence[str],
    start_ms: int,
    end_ms: int,
    *,
    bucket_ms: int | None = None,
    fn: AggFn = "avg",
    max_rows: int = MAX_ROWS,
) -> SeriesTable:
    """Raw points (``bucket_ms`` None) or bucketed aggregates, pivoted to one column per metric.
    Blocks (store queries): run it in a thread."""
    names = _metrics(metrics)
    if end_ms <= start_ms:
        raise ValidationFailed("the range is empty: 'to' must be after 'from'")
    units = [(ref.metrics[m].unit if ref is not None and m in ref.metrics else None) for m in names]
    by_ts: dict[int, list[Any]] = {}
    if bucket_ms is not None:
        buckets = -(-(end_ms - start_ms) // bucket_ms)
        if buckets > max_rows:
            raise TooManyRows(
                f"{buckets} intervals of {bucket_ms} ms in this range, more than the "
                f"{max_rows} rows an export holds: choose a coarser interval or a shorter range"
            )
        table = store.aggregate(
            AggQuery(
                tenant=tenant,
                device=device,
                metrics=names,
                start_ms=start_ms,
                end_ms=end_ms,
                bucket_ms=bucket_ms,
                fn=fn,
            )
        )
        column = {m: i for i, m in enumerate(names)}
        for b, metric, value in zip(
            *(table.column(c).to_pylist() for c in ("bucket", "metric", "value")), strict=True
        ):
            by_ts.setdefault(b, [None] * len(names))[column[metric]] = value
    else:
        for i, metric in enumerate(names):
            q = RawQuery(
                tenant=tenant,
                device=device,
                metric=metric,
                start_ms=start_ms,
                end_ms=end_ms,
                limit=min(max_rows, MAX_PAGE),
            )
            table = store.raw(q)
            if table.num_rows >= max_rows and _more(store, q, max_rows):
                raise TooManyRows(
                    f"more than {max_rows} points of {metric!r} in this range: give an "
                    "interval (e.g. interval=1m) or a shorter range"
                )
            spec = ref.metrics.get(metric) if ref is not None else None
            for ts, value, text in zip(
                table["ts"].to_pylist(),
                table["value"].to_pylist(),
                table["text"].to_pylist(),
                strict=True,
            ):
                by_ts.setdefault(ts, [None] * len(names))[i] = typed_value(value, text, spec)
            if len(by_ts) > max_rows:
                raise TooManyRows(
                    f"more than {max_rows} distinct times in this range: give an interval "
                    "or a shorter range"
                )
    rows = [[ts, *values] for ts, values in sorted(by_ts.items())]
    return SeriesTable(
        device, names, units, start_ms, end_ms, bucket_ms, fn if bucket_ms else None, rows
    )


def _more(store: TelemetryStore, q: RawQuery, after: int) -> bool:
    """Whether a point follows the first ``after`` (one more row, not a count of all)."""
    probe = RawQuery(
        tenant=q.tenant,
        device=q.device,
        metric=q.metric,
        start_ms=q.start_ms,
        end_ms=q.end_ms,
        limit=1,
        offset=after,
    )
    return bool(store.raw(probe).num_rows > 0)


def iso(ts_ms: int) -> str:
    return (
        datetime.fromtimestamp(ts_ms / 1000, UTC)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _cell(value: Any) -> Any:
    # A text value starting with = + - @ would be a formula in a spreadsheet: quote it.
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def csv_chunks(table: SeriesTable) -> Iterator[bytes]:
    """UTF-8 with a BOM (Excel then reads Chinese units right), in chunks of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    buffer.write("\ufeff")
    writer.writerow(table.header)
    for n, row in enumerate(table.rows, 1):
        writer.writerow([iso(row[0]), *(_cell(v) for v in row[1:])])
        if n % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def write_xlsx(table: SeriesTable, out: IO[bytes], *, title: str | None = None) -> None:
    """One sheet: a header row, times as Excel dates (UTC), numbers as numbers."""
    book = xlsxwriter.Workbook(
        out,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
    sheet = book.add_worksheet(
        (title or table.device)[:31].translate(str.maketrans("[]:*?/\\", "_______"))
    )
    bold = book.add_format({"bold": True})
    when = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss.000"})
    sheet.write_row(0, 0, table.header, bold)
    sheet.set_column(0, 0, 24)
    sheet.set_column(1, len(table.metrics), 14)
    for r, row in enumerate(table.rows, 1):
        sheet.write_datetime(
            r, 0, datetime.fromtimestamp(row[0] / 1000, UTC).replace(tzinfo=None), when
        )
        for c, value in enumerate(row[1:], 1):
            if value is None:
                continue
            if isinstance(value, bool):
                sheet.write_boolean(r, c, value)
            elif isinstance(value, int | float):
                sheet.write_number(r, c, value)
            else:
                sheet.write_string(r, c, str(value))
    sheet.freeze_panes(1, 1)
    book.close()


def xlsx_file(table: SeriesTable) -> IO[bytes]:
    """The workbook in a spooled temporary file, rewound (memory up to 8 MB, then disk)."""
    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 << 20)  # noqa: SIM115 - caller closes
    try:
        write_xlsx(table, spool)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool


Format = Literal["csv", "xlsx"]
