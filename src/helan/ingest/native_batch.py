"""Many native telemetry messages validated at once: the MQTT hot path.

A message is a handful of points, so validating each on its own costs Python overhead per point
(``decode_native``: ~100 µs for ten points). Here the messages that arrived together (one socket
read delivers hundreds) are flattened into columns and checked by the vectorised rules of
:func:`helan.ingest.bulk.validate`, with one directory lookup per distinct device. A message
keeps all-or-nothing treatment: if any of its points is rejected, or it is not the plain
``{"ts": <epoch ms>, "values": {...}}`` shape, it goes through :func:`decode_native` instead,
which gives it the same per-message error report as before. Both paths apply the same rules
(``tests/ingest/test_ingest_bulk.py::test_rows_and_native_agree``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import orjson
import pyarrow as pa

from helan.config import Settings
from helan.core.thing import DeviceDirectory, DeviceRef
from helan.ingest.bulk import (
    Candidate,
    Pair,
    classify_values,
    device_state,
    metric_entry,
    validate,
)
from helan.ingest.checks import T_FLOAT
from helan.ingest.native import Decoded, DevicePoints, decode_native
from helan.ingest.pipeline import points_table
from helan.ingest.reasons import Reason
from helan.protocol.native import MAX_POINTS_PER_MESSAGE

# Timestamps beyond this are left to decode_native, which reports them as out of the window
# (numpy's int64 cannot hold every JSON integer).
_TS_BOUND = 2**62


class SpecCache:
    """Per device, the checks for its points by the shape of its last message: a device sends
    the same metrics every time, so the per-(device, metric) resolution is done once, not in
    every batch. An entry is used only while the directory returns the very same
    :class:`DeviceRef` (a changed device, disabled or with a new thing model, is a new ref)."""

    def __init__(self, limit: int = 100_000) -> None:
        self.limit = limit
        self._devices: dict[tuple[str, str], tuple[DeviceRef | None, tuple[str, ...], list[Pair]]]
        self._devices = {}

    def entries(
        self, tenant: str, device: str, names: tuple[str, ...], directory: DeviceDirectory
    ) -> list[Pair]:
        """The entry of each of ``names`` (one message's metrics) for ``device``."""
        key = (tenant, device)
        hit = self._devices.get(key)
        if hit is not None and hit[1] == names and hit[0] is directory.lookup(tenant, device):
            return hit[2]
        status, ref = device_state(device, tenant, directory)
        if status == Reason.OK and ref is not None:
            entries = [metric_entry(ref, name) for name in names]
        else:
            entries = [(status, T_FLOAT, -np.inf, np.inf, None)] * len(names)
        if len(self._devices) >= self.limit:
            self._devices.clear()
        self._devices[key] = (ref, names, entries)
        return entries


@dataclass(slots=True)
class _Tenant:
    """One tenant's plain messages as flat columns."""

    devices: dict[str, int] = field(default_factory=dict)
    message: list[int] = field(default_factory=list)  # index into the batch, per message
    device: list[int] = field(default_factory=list)  # device code, per message
    ts: list[int] = field(default_factory=list)  # per message
    count: list[int] = field(default_factory=list)  # points, per message
    metrics: list[str] = field(default_factory=list)  # per point
    values: list[object] = field(default_factory=list)  # per point
    specs: list[Pair] = field(default_factory=list)  # per point


@dataclass(slots=True)
class BatchDecoded:
    """Accepted points of a batch, and what must be told about the messages that had faults."""

    tables: list[pa.Table] = field(default_factory=list)
    accepted: int = 0
    # (index in the batch, decode_native's result) of each message with a rejected point
    faults: list[tuple[int, Decoded]] = field(default_factory=list)

    def table(self) -> pa.Table | None:
        if not self.accepted:
            return None
        return self.tables[0] if len(self.tables) == 1 else pa.concat_tables(self.tables)

    def reasons(self) -> dict[str, Counter[str]]:
        """Rejected points (or messages) by tenant and reason code."""
        out: dict[str, Counter[str]] = {}
        for _, decoded in self.faults:
            if decoded.reasons:
                out.setdefault(decoded.points.tenant, Counter()).update(decoded.reasons)
        return out


def decode_batch(
    messages: Sequence[tuple[str, str, bytes]],
    *,
    directory: DeviceDirectory,
    settings: Settings,
    now_ms: int,
    specs: SpecCache | None = None,
) -> BatchDecoded:
    """Validate ``(tenant, device, payload)`` telemetry messages; never raises. ``specs`` keeps
    the devices' resolved metric checks from one batch to the next."""
    if specs is None:
        specs = SpecCache()
    tenants: dict[str, _Tenant] = {}
    slow: list[int] = []
    limit = settings.max_payload_bytes
    for i, (tenant, device, payload) in enumerate(messages):
        if len(payload) > limit:
            slow.append(i)
            continue
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError:
            slow.append(i)
            continue
        if type(doc) is not dict:
            slow.append(i)
            continue
        values = doc.get("values")
        ts = doc.get("ts")
        if ts is None:
            ts = now_ms
        if (
            type(values) is not dict
            or type(ts) is not int
            or not -_TS_BOUND < ts < _TS_BOUND
            or len(values) > MAX_POINTS_PER_MESSAGE
        ):
            slow.append(i)
            continue
        if not values:
            continue
        cols = tenants.get(tenant)
        if cols is None:
            cols = tenants[tenant] = _Tenant()
        code = cols.devices.get(device)
        if code is None:
            code = cols.devices[device] = len(cols.devices)
        cols.message.append(i)
        cols.device.append(code)
        cols.ts.append(ts)
        cols.count.append(len(values))
        names = tuple(values)
        cols.metrics += names
        cols.values += values.values()
        cols.specs += specs.entries(tenant, device, names, directory)
    out = BatchDecoded()
    for tenant, cols in tenants.items():
        slow += _validate_plain(tenant, cols, out, directory, settings, now_ms)
    singles: list[DevicePoints] = []
    for i in sorted(slow):
        tenant, device, payload = messages[i]
        decoded = decode_native(
            payload,
            tenant=tenant,
            device=device,
            ref=directory.lookup(tenant, device),
            now_ms=now_ms,
            settings=settings,
        )
        if decoded.points.ts:
            singles.append(decoded.points)
            out.accepted += len(decoded.points.ts)
        if decoded.reasons:
            out.faults.append((i, decoded))
    if singles:
        out.tables.append(points_table(singles))
    return out


def _validate_plain(
    tenant: str,
    cols: _Tenant,
    out: BatchDecoded,
    directory: DeviceDirectory,
    settings: Settings,
    now_ms: int,
) -> list[int]:
    """Check one tenant's plain messages as arrays; keep those fully accepted and return the
    batch indices of the others (they are decoded again, one by one, for their reports)."""
    counts = np.array(cols.count, dtype=np.int64)
    names = pa.array(cols.metrics, pa.string()).dictionary_encode()
    kind, value, text = classify_values(cols.values)
    candidate = Candidate(
        devices=list(cols.devices),
        device_idx=np.repeat(np.array(cols.device, dtype=np.int32), counts),
        metrics=names.dictionary.to_pylist(),
        metric_idx=names.indices.to_numpy(),
        ts=np.repeat(np.array(cols.ts, dtype=np.int64), counts),
        kind=kind,
        value=value,
        text=text,
    )
    result = validate(
        candidate,
        tenant=tenant,
        directory=directory,
        settings=settings,
        now_ms=now_ms,
        specs=cols.specs,
    )
    table = result.table
    faulty: list[int] = []
    if result.rejected_at is not None:
        owner = np.repeat(np.arange(len(counts)), counts)
        bad = np.unique(owner[result.rejected_at])
        accepted = np.ones(len(owner), dtype=np.bool_)
        accepted[result.rejected_at] = False
        table = table.filter(pa.array(~np.isin(owner[accepted], bad)))
        faulty = [cols.message[j] for j in bad.tolist()]
    if table.num_rows:
        out.tables.append(table)
        out.accepted += table.num_rows
    return faulty
