"""Bulk ingest bodies → :class:`~helan.ingest.bulk.Candidate`.

Four forms: JSON rows ``[{"device","metric","ts","value"}]``; JSON columns
``{"device", "ts": [...], "values": {"m": [...]}}`` (or a list of those: the fast form, each
list becomes one numpy array); Arrow IPC stream; CSV with header ``device,metric,ts,value``.
A body that cannot be read at all raises :class:`BodyError` (HTTP 400); anything wrong with
single points is left to validation, which reports it per point.
"""

from __future__ import annotations

import io

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from helan.ingest.bulk import Candidate, classify_values, name_codes
from helan.ingest.checks import K_BAD, K_BOOL, K_RAW, K_STR, parse_rfc3339, parse_ts

JSON = "application/json"
ARROW = "application/vnd.apache.arrow.stream"
CSV = "text/csv"
# Bulk bodies are bounded by their byte size (settings.max_payload_bytes); this caps the points
# one body may expand to, so a small body cannot demand huge arrays.
MAX_POINTS_PER_BODY = 10_000_000


class BodyError(ValueError):
    """The body cannot be read as the declared content type (HTTP 400)."""


def decode(body: bytes, content_type: str, *, tenant: str, now_ms: int) -> Candidate:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == JSON:
        return decode_json(body, now_ms=now_ms)
    if kind == ARROW:
        return decode_arrow(body, tenant=tenant)
    if kind == CSV:
        return decode_csv(body, now_ms=now_ms)
    raise LookupError(kind)


def _timestamps(values: list[object], now_ms: int) -> tuple[np.ndarray, np.ndarray | None]:
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        arr = None
    if (
        arr is not None
        and arr.null_count == 0
        and pa.types.is_integer(arr.type)
        and set(map(type, values)) == {int}
    ):
        return arr.to_numpy().astype(np.int64, copy=False), None
    ts = np.zeros(len(values), np.int64)
    bad = np.zeros(len(values), np.bool_)
    for i, raw in enumerate(values):
        parsed = parse_ts(raw, now_ms)
        if parsed is None or not -(2**62) < parsed < 2**62:
            bad[i] = True
        else:
            ts[i] = parsed
    return ts, bad


def _text_or_none(parts: list[pa.Array | None], lengths: list[int]) -> pa.Array | None:
    if all(p is None for p in parts):
        return None
    return pa.concat_arrays(
        [
            p if p is not None else pa.nulls(n, pa.string())
            for p, n in zip(parts, lengths, strict=True)
        ]
    )


def decode_json(body: bytes, *, now_ms: int) -> Candidate:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BodyError(f"not valid JSON: {exc}") from exc
    if isinstance(doc, list) and doc and isinstance(doc[0], dict) and "metric" in doc[0]:
        return _rows(doc, now_ms)
    blocks = doc if isinstance(doc, list) else [doc]
    return _columns(blocks, now_ms)


def _rows(rows: list[object], now_ms: int) -> Candidate:
    if len(rows) > MAX_POINTS_PER_BODY:
        raise BodyError(f"{len(rows)} rows in one body; the limit is {MAX_POINTS_PER_BODY}")
    empty: dict[str, object] = {}
    dicts = [r if type(r) is dict else empty for r in rows]
    devices, device_idx = name_codes([r.get("device") for r in dicts])
    metrics, metric_idx = name_codes([r.get("metric") for r in dicts])
    ts, ts_bad = _timestamps([r.get("ts") for r in dicts], now_ms)
    kind, value, text = classify_values([r.get("value") for r in dicts])
    return Candidate(devices, device_idx, metrics, metric_idx, ts, kind, value, text, ts_bad)


def _columns(blocks: list[object], now_ms: int) -> Candidate:
    devices: dict[str, int] = {}
    metrics: dict[str, int] = {}
    dev_parts, met_parts, ts_parts, bad_parts, kind_parts, value_parts = [], [], [], [], [], []
    text_parts: list[pa.Array | None] = []
    lengths: list[int] = []
    total = 0
    for b, block in enumerate(blocks):
        if not isinstance(block, dict):
            raise BodyError(f"block {b}: expected an object with device, ts and values")
        device, ts_list, values = block.get("device"), block.get("ts"), block.get("values")
        if not isinstance(device, str) or not isinstance(ts_list, list):
            raise BodyError(f"block {b}: 'device' must be a string and 'ts' a list")
        if not isinstance(values, dict):
            raise BodyError(f"block {b}: 'values' must be an object of lists")
        total += len(ts_list) * len(values)
        if total > MAX_POINTS_PER_BODY:
            raise BodyError(f"more than {MAX_POINTS_PER_BODY} points in one body")
        ts, bad = _timestamps(ts_list, now_ms)
        d = devices.setdefault(device, len(devices))
        for metric, column in values.items():
            if not isinstance(column, list) or len(column) != len(ts_list):
                raise BodyError(
                    f"block {b}: values[{metric!r}] must be a list as long as ts ({len(ts_list)})"
                )
            m = metrics.setdefault(metric, len(metrics))
            n = len(column)
            kind, value, text = classify_values(column)
            dev_parts.append(np.full(n, d, np.int32))
            met_parts.append(np.full(n, m, np.int32))
            ts_parts.append(ts)
            bad_parts.append(bad if bad is not None else np.zeros(n, np.bool_))
            kind_parts.append(kind)
            value_parts.append(value)
            text_parts.append(text)
            lengths.append(n)
    if not lengths:
        return _empty()
    ts_bad = np.concatenate(bad_parts)
    return Candidate(
        list(devices),
        np.concatenate(dev_parts),
        list(metrics),
        np.concatenate(met_parts),
        np.concatenate(ts_parts),
        np.concatenate(kind_parts),
        np.concatenate(value_parts),
        _text_or_none(text_parts, lengths),
        ts_bad if ts_bad.any() else None,
    )


def _empty() -> Candidate:
    none32 = np.zeros(0, np.int32)
    return Candidate(
        [], none32, [], none32, np.zeros(0, np.int64), np.zeros(0, np.int8), np.zeros(0)
    )


def _names(column: pa.ChunkedArray) -> tuple[list[str | None], np.ndarray]:
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)) and not (
        pa.types.is_dictionary(column.type)
    ):
        raise BodyError(f"column of type {column.type} where names (strings) were expected")
    encoded = pc.dictionary_encode(column.combine_chunks().cast(pa.string()))
    dictionary: list[str | None] = encoded.dictionary.to_pylist()
    indices = encoded.indices
    if indices.null_count:
        dictionary.append(None)
        indices = pc.fill_null(indices, len(dictionary) - 1)
    return dictionary, indices.to_numpy().astype(np.int32)


def _from_table(table: pa.Table, *, text_first: bool) -> Candidate:
    missing = {"device", "metric", "ts", "value"} - set(table.column_names)
    if missing:
        raise BodyError(f"missing column(s): {', '.join(sorted(missing))}")
    if table.num_rows > MAX_POINTS_PER_BODY:
        raise BodyError(f"{table.num_rows} rows in one body; the limit is {MAX_POINTS_PER_BODY}")
    devices, device_idx = _names(table["device"])
    metrics, metric_idx = _names(table["metric"])
    ts_col = table["ts"].combine_chunks()
    if pa.types.is_timestamp(ts_col.type):
        ts_col = ts_col.cast(pa.timestamp("ms", tz=ts_col.type.tz)).cast(pa.int64())
    if not pa.types.is_integer(ts_col.type):
        raise BodyError(f"ts must be int64 epoch ms or an Arrow timestamp, not {ts_col.type}")
    ts_bad = ts_col.is_null().to_numpy(zero_copy_only=False)
    ts = pc.fill_null(ts_col.cast(pa.int64()), 0).to_numpy()
    value_col = table["value"].combine_chunks()
    n = table.num_rows
    text = None
    if pa.types.is_boolean(value_col.type):
        kind = np.full(n, K_BOOL, np.int8)
        value = pc.fill_null(value_col, False).cast(pa.float64()).to_numpy()
    elif pa.types.is_floating(value_col.type) or pa.types.is_integer(value_col.type):
        kind = np.zeros(n, np.int8)
        value = value_col.cast(pa.float64()).to_numpy(zero_copy_only=False)
    elif pa.types.is_string(value_col.type) or pa.types.is_large_string(value_col.type):
        kind = np.full(n, K_STR, np.int8)
        value = np.full(n, np.nan)
        text = value_col.cast(pa.string())
    else:
        raise BodyError(f"value column of type {value_col.type} is not number, bool or string")
    value_null = value_col.is_null().to_numpy(zero_copy_only=False)
    if "text" in table.column_names and text is None:
        text = table["text"].combine_chunks().cast(pa.string())
        has_text = text.is_valid().to_numpy(zero_copy_only=False)
        kind[value_null & has_text] = K_STR
        value_null &= ~has_text
    kind[value_null] = K_BAD
    quality = None
    if "quality" in table.column_names:
        quality = pc.fill_null(table["quality"].combine_chunks(), -1).cast(pa.int16())
        quality = np.clip(quality.to_numpy(), -1, 3).astype(np.int8)
    return Candidate(
        devices, device_idx, metrics, metric_idx, ts, kind, value, text,
        ts_bad if ts_bad.any() else None, None, quality,
    )  # fmt: skip


def decode_arrow(body: bytes, *, tenant: str) -> Candidate:
    try:
        table = pa.ipc.open_stream(body).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise BodyError(f"not an Arrow IPC stream: {exc}") from exc
    if "tenant" in table.column_names:
        others = pc.count_distinct(pc.drop_null(table["tenant"])).as_py()
        if (
            table["tenant"].null_count
            or others > 1
            or (others == 1 and table["tenant"][0].as_py() != tenant)
        ):
            raise BodyError(f"the tenant column must be absent or {tenant!r} on every row")
    return _from_table(table, text_first=False)


def decode_csv(body: bytes, *, now_ms: int) -> Candidate:
    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in ("device", "metric", "ts", "value")},
                strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise BodyError(f"not valid CSV with header device,metric,ts,value: {exc}") from exc
    missing = {"device", "metric", "ts", "value"} - set(table.column_names)
    if missing:
        raise BodyError(f"missing CSV column(s): {', '.join(sorted(missing))}")
    raw_ts = table["ts"].combine_chunks()
    try:
        ts = raw_ts.cast(pa.int64()).to_numpy()
        ts_bad = None
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        parsed = [_csv_ts(t, now_ms) for t in raw_ts.to_pylist()]
        ts_bad = np.array([p is None for p in parsed])
        ts = np.array([p if p is not None else 0 for p in parsed], np.int64)
    text = table["value"].combine_chunks()
    try:
        value = text.cast(pa.float64()).to_numpy(zero_copy_only=False)
        numeric = np.ones(len(value), np.bool_)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        value, numeric = _csv_values(text.to_pylist())
    devices, device_idx = _names(table["device"])
    metrics, metric_idx = _names(table["metric"])
    kind = np.full(len(value), K_RAW, np.int8)
    return Candidate(
        devices, device_idx, metrics, metric_idx, ts, kind, value, text, ts_bad, numeric
    )


def _csv_ts(text: str, now_ms: int) -> int | None:
    stripped = text.strip()
    if stripped.lstrip("-").isdigit():
        return int(stripped)
    return parse_rfc3339(stripped)


def _csv_values(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: a float when it is a number, 1/0 for true/false (for bool metrics only)."""
    value = np.full(len(cells), np.nan)
    numeric = np.zeros(len(cells), np.bool_)
    for i, cell in enumerate(cells):
        try:
            value[i] = float(cell)
            numeric[i] = True
        except ValueError:
            lowered = cell.strip().lower()
            if lowered in ("true", "false"):
                value[i] = 1.0 if lowered == "true" else 0.0
    return value, numeric
