"""Binary COPY of a batch into the ``staging`` table, built with numpy instead of a row loop.

Numeric points (value set, text null) are the bulk of telemetry and have a fixed width in
PostgreSQL's binary COPY format, so their tuples are one structured numpy array; the few
string or null points go through psycopg's ``write_row``.
"""

from __future__ import annotations

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc

STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS staging (series int4, ts int8, value float8, text text, "
    "quality int2, seq int8) ON COMMIT DELETE ROWS"
)
COPY_SQL = "COPY staging (series, ts, value, text, quality, seq) FROM STDIN (FORMAT BINARY)"
_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
_TRAILER = b"\xff\xff"
_TUPLE = np.dtype(
    [
        ("fields", ">i2"),
        ("series_len", ">i4"),
        ("series", ">i4"),
        ("ts_len", ">i4"),
        ("ts", ">i8"),
        ("value_len", ">i4"),
        ("value", ">f8"),
        ("text_len", ">i4"),
        ("quality_len", ">i4"),
        ("quality", ">i2"),
        ("seq_len", ">i4"),
        ("seq", ">i8"),
    ]
)


def copy_batch(
    cur: psycopg.Cursor[tuple[object, ...]], batch: pa.Table, series: np.ndarray
) -> None:
    """COPY ``batch`` (POINT_SCHEMA) with its per-row series ids into ``staging``."""
    n = batch.num_rows
    seq = np.arange(n, dtype=np.int64)
    numeric = pc.and_(pc.is_valid(batch.column("value")), pc.is_null(batch.column("text")))
    fast = np.asarray(numeric.to_numpy(zero_copy_only=False), dtype=bool)
    ts = batch.column("ts").to_numpy()
    quality = batch.column("quality").to_numpy()
    if fast.any():
        rows = np.empty(int(fast.sum()), dtype=_TUPLE)
        rows["fields"] = 6
        rows["series_len"], rows["ts_len"], rows["value_len"] = 4, 8, 8
        rows["text_len"], rows["quality_len"], rows["seq_len"] = -1, 2, 8
        rows["series"] = series[fast]
        rows["ts"] = ts[fast]
        rows["value"] = batch.column("value").to_numpy(zero_copy_only=False)[fast]
        rows["quality"] = quality[fast]
        rows["seq"] = seq[fast]
        with cur.copy(COPY_SQL) as copy:
            copy.write(_HEADER + rows.tobytes() + _TRAILER)
    if not fast.all():
        slow = np.flatnonzero(~fast)
        values = batch.column("value").take(pa.array(slow)).to_pylist()
        texts = batch.column("text").take(pa.array(slow)).to_pylist()
        with cur.copy(COPY_SQL) as copy:
            copy.set_types(["int4", "int8", "float8", "text", "int2", "int8"])
            for i, value, text in zip(slow.tolist(), values, texts, strict=True):
                copy.write_row(
                    (int(series[i]), int(ts[i]), value, text, int(quality[i]), int(seq[i]))
                )
