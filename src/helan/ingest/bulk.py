"""Vectorised validation of bulk bodies (HTTP rows, columns, Arrow, CSV) against the thing model.

Every decoder turns its body into a :class:`Candidate`: device and metric names as dictionary
codes, values as numpy arrays. The directory is consulted once per distinct (device, metric)
pair, never per point, and every rule of :func:`helan.ingest.checks.check_arrays` runs over
whole arrays, which is what lets one process validate millions of points a second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from helan.config import Settings
from helan.core.ids import DEVICE_ID, METRIC_NAME
from helan.core.points import POINT_SCHEMA
from helan.core.thing import DeviceDirectory, DeviceRef, MetricSpec
from helan.ingest.checks import (
    K_BAD,
    K_BOOL,
    K_NUM,
    K_RAW,
    K_STR,
    T_FLOAT,
    T_STRING,
    TYPE_CODE,
    Bools,
    Codes,
    Floats,
    Ints,
    Window,
    check_arrays,
    describe,
)
from helan.ingest.reasons import MAX_LISTED_ERRORS, PointError, Reason

Names = npt.NDArray[np.int32]  # dictionary codes into a list of names
Pair = tuple[int, int, float, float, MetricSpec | None]  # status, type, lo, hi, spec

_NUMBER_TYPES = {int, float}
# Above this many (device x metric) combinations the lookup table is built with np.unique
# instead of a dense array.
_DENSE_PAIRS = 1 << 22


@dataclass(slots=True)
class Candidate:
    """Decoded, not yet validated points; arrays are all the same length."""

    devices: list[str | None]
    device_idx: Names
    metrics: list[str | None]
    metric_idx: Names
    ts: Ints
    kind: Codes
    value: Floats
    text: pa.Array | None = None  # string, same length; None when there are no strings
    ts_bad: Bools | None = None
    raw_numeric: Bools | None = None
    quality: Codes | None = None
    decided: Codes | None = None  # reasons the decoder already found (0 = none)

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(slots=True)
class BulkResult:
    table: pa.Table
    rejected: int
    reasons: Counter[str] = field(default_factory=Counter)
    errors: list[PointError] = field(default_factory=list)
    rejected_at: Ints | None = None  # input positions of the rejected points

    @property
    def accepted(self) -> int:
        return int(self.table.num_rows)


def name_codes(names: Sequence[object]) -> tuple[list[str | None], Names]:
    """Dictionary-encode a Python list of names (non-strings become a None entry)."""
    index: dict[object, int] = {}
    out = np.empty(len(names), dtype=np.int32)
    for i, name in enumerate(names):
        key = name if type(name) is str else None
        code = index.get(key)
        if code is None:
            code = index[key] = len(index)
        out[i] = code
    return [k if isinstance(k, str) else None for k in index], out


def classify_values(values: list[object]) -> tuple[Codes, Floats, pa.Array | None]:
    """(kind, value, text) for a JSON list of values; homogeneous lists take the fast path."""
    n = len(values)
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, OverflowError):
        arr = None
    if arr is not None and arr.null_count == 0:
        t = arr.type
        if (pa.types.is_floating(t) or pa.types.is_integer(t)) and set(map(type, values)) <= (
            _NUMBER_TYPES
        ):
            return np.zeros(n, np.int8), arr.to_numpy().astype(np.float64, copy=False), None
        if pa.types.is_boolean(t):
            value = arr.to_numpy(zero_copy_only=False).astype(np.float64)
            return np.full(n, K_BOOL, np.int8), value, None
        if pa.types.is_string(t):
            return np.full(n, K_STR, np.int8), np.full(n, np.nan), arr
    kind = np.empty(n, np.int8)
    value = np.full(n, np.nan)
    text: list[str | None] = [None] * n
    has_text = False
    for i, v in enumerate(values):
        if isinstance(v, bool):
            kind[i] = K_BOOL
            value[i] = 1.0 if v else 0.0
        elif isinstance(v, int | float):
            kind[i] = K_NUM
            value[i] = v
        elif isinstance(v, str):
            kind[i] = K_STR
            text[i] = v
            has_text = True
        else:
            kind[i] = K_BAD
    return kind, value, pa.array(text, pa.string()) if has_text else None


def metric_entry(ref: DeviceRef, name: str | None) -> Pair:
    """The entry of one metric of a device the directory knows and accepts."""
    if name is None or METRIC_NAME.fullmatch(name) is None:
        return (Reason.BAD_NAME, T_FLOAT, -np.inf, np.inf, None)
    spec = ref.metrics.get(name)
    if spec is None:
        return (Reason.UNKNOWN_METRIC, T_FLOAT, -np.inf, np.inf, None)
    lo = -np.inf if spec.min is None else float(spec.min)
    hi = np.inf if spec.max is None else float(spec.max)
    return (Reason.OK, TYPE_CODE[spec.type], lo, hi, spec)


def _pair_specs(
    cand: Candidate, tenant: str, directory: DeviceDirectory
) -> tuple[npt.NDArray[np.int64], list[Pair]]:
    """Per point: index into a list of (status, type, lo, hi, spec) for its (device, metric)."""
    nm = max(len(cand.metrics), 1)
    key = cand.device_idx.astype(np.int64) * nm + cand.metric_idx
    if len(cand.devices) * nm <= _DENSE_PAIRS:
        present = np.flatnonzero(np.bincount(key, minlength=len(cand.devices) * nm))
        lut = np.zeros(len(cand.devices) * nm, dtype=np.int64)
        lut[present] = np.arange(len(present))
        index = lut[key]
        pairs = present
    else:
        pairs, index = np.unique(key, return_inverse=True)
    entries: list[Pair] = []
    refused: dict[int, Pair] = {}  # devices whose every point is rejected
    known: dict[int, tuple[DeviceRef, dict[str | None, Pair]]] = {}
    metrics = cand.metrics
    for pair in pairs.tolist():
        d, m = divmod(pair, nm)
        hit = known.get(d)
        if hit is None:
            if d not in refused:
                status, ref = device_state(cand.devices[d], tenant, directory)
                if status == Reason.OK and ref is not None:
                    known[d] = (ref, {})
                else:
                    refused[d] = (status, T_FLOAT, -np.inf, np.inf, None)
            hit = known.get(d)
            if hit is None:
                entries.append(refused[d])
                continue
        ref, by_name = hit
        name = metrics[m]
        entry = by_name.get(name)
        if entry is None:
            entry = by_name[name] = metric_entry(ref, name)
        entries.append(entry)
    return index, entries


def device_state(
    device: str | None, tenant: str, directory: DeviceDirectory
) -> tuple[int, DeviceRef | None]:
    """(reason, ref) of one device name: a bad or unknown device rejects all its points."""
    if device is None or not DEVICE_ID.fullmatch(device):
        return Reason.BAD_NAME, None
    ref = directory.lookup(tenant, device)
    if ref is None:
        return Reason.UNKNOWN_DEVICE, None
    if not ref.enabled:
        return Reason.DEVICE_DISABLED, ref
    return Reason.OK, ref


def validate(
    cand: Candidate,
    *,
    tenant: str,
    directory: DeviceDirectory,
    settings: Settings,
    now_ms: int,
    specs: list[Pair] | None = None,
) -> BulkResult:
    """Check ``cand``; ``specs`` (the entry of every point, from a caller that resolved them
    already) spares the per-(device, metric) resolution."""
    n = len(cand)
    if n == 0:
        return BulkResult(POINT_SCHEMA.empty_table(), 0)
    if specs is None:
        index, entries = _pair_specs(cand, tenant, directory)
    else:
        index, entries = np.arange(n), specs
    statuses, types, los, his, _ = zip(*entries, strict=True)
    status = np.array(statuses, dtype=np.int8)[index]
    spec_type = np.array(types, dtype=np.int8)[index]
    lo = np.array(los, dtype=np.float64)[index]
    hi = np.array(his, dtype=np.float64)[index]
    text_len = None
    if cand.text is not None:
        text_len = pc.fill_null(pc.utf8_length(cand.text), 0).to_numpy(zero_copy_only=False)
    reasons = check_arrays(
        kind=cand.kind,
        value=cand.value,
        text_len=text_len,
        ts=cand.ts,
        ts_bad=cand.ts_bad,
        raw_numeric=cand.raw_numeric,
        status=status,
        spec_type=spec_type,
        lo=lo,
        hi=hi,
        window=Window.around(now_ms, settings),
    )
    if cand.quality is not None:
        reasons[(reasons == 0) & ((cand.quality < 0) | (cand.quality > 2))] = Reason.BAD_VALUE
    if cand.decided is not None:
        reasons = np.where(cand.decided != 0, cand.decided, reasons).astype(np.int8)
    ok = reasons == 0
    accepted = int(ok.sum())
    result = BulkResult(_accepted_table(cand, tenant, ok, spec_type, accepted), n - accepted)
    if accepted < n:
        result.rejected_at = np.flatnonzero(~ok)
        counts = np.bincount(reasons, minlength=len(Reason))
        for code in np.flatnonzero(counts[1:]) + 1:
            result.reasons[Reason(int(code)).code] = int(counts[code])
        for i in result.rejected_at[:MAX_LISTED_ERRORS].tolist():
            reason = Reason(int(reasons[i]))
            device = cand.devices[int(cand.device_idx[i])]
            metric = cand.metrics[int(cand.metric_idx[i])]
            shown = _shown_value(cand, i)
            message = describe(
                reason,
                tenant=tenant,
                device=device,
                metric=metric,
                spec=entries[int(index[i])][4],
                value=shown,
                ts=int(cand.ts[i]),
                settings=settings,
            )
            result.errors.append(PointError(i, device, metric, reason.code, message))
    return result


def _shown_value(cand: Candidate, i: int) -> object:
    kind = int(cand.kind[i])
    if kind in (K_STR, K_RAW) and cand.text is not None:
        return cand.text[i].as_py()
    if kind == K_BOOL:
        return bool(cand.value[i])
    if kind == K_NUM:
        return float(cand.value[i])
    return None


def _accepted_table(
    cand: Candidate, tenant: str, ok: Bools, spec_type: Codes, accepted: int
) -> pa.Table:
    take = None if accepted == len(cand) else np.flatnonzero(ok)

    def pick(a: np.ndarray) -> np.ndarray:
        return a if take is None else a[take]

    def names(idx: np.ndarray, dictionary: list[str | None]) -> pa.Array:
        return pa.DictionaryArray.from_arrays(
            pa.array(pick(idx).astype(np.int32)), pa.array(dictionary, pa.string())
        ).cast(pa.string())

    is_text = pick(spec_type) == T_STRING
    any_text = bool(is_text.any())
    value = pa.array(pick(cand.value), pa.float64(), mask=is_text if any_text else None)
    if any_text and cand.text is not None:
        text = cand.text if take is None else cand.text.take(pa.array(take))
        text = pc.if_else(pa.array(is_text), text, pa.scalar(None, pa.string()))
    else:
        text = pa.nulls(accepted, pa.string())
    quality = (
        pa.array(pick(cand.quality), pa.int8())
        if cand.quality is not None
        else pa.array(np.zeros(accepted, dtype=np.int8))
    )
    return pa.table(
        [
            pa.repeat(pa.scalar(tenant, pa.string()), accepted),
            names(cand.device_idx, cand.devices),
            names(cand.metric_idx, cand.metrics),
            pa.array(pick(cand.ts), pa.int64()),
            value,
            text,
            quality,
        ],
        schema=POINT_SCHEMA,
    )
