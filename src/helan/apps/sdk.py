"""What an app may touch: an async SDK instead of the raw stores.

An app gets one :class:`AppSDK`; ``sdk.tenant(t)`` gives a :class:`TenantScope` only for a
tenant that installed the app, and every scope call checks that again (an uninstall takes
effect at the next call, not at the next restart). Blocking store calls run in worker threads,
so an app cannot stall the event loop that acknowledges device messages. Derived metrics go
through the same ingest entry as device data (durable before the call returns); jobs go to the
platform's scheduler under the app's id.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

from helan.apps.catalogue.store import read_config
from helan.apps.installs import AppInstalls
from helan.core import ids
from helan.core.errors import Forbidden, ValidationFailed
from helan.core.events import EventRow
from helan.core.points import batch_from_columns
from helan.ingest.live import Latest, LiveState
from helan.ingest.pipeline import IngestPipeline
from helan.jobs import JobSpec, Scheduler
from helan.security.policy import app_may_act
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Asset, Device, DeviceEvent
from helan.storage.telemetry.base import AggFn, AggQuery, RawQuery, TelemetryStore

EVENT_LEVELS = ("info", "warning", "fault", "critical")
MAX_WRITE_POINTS = 100_000
MAX_EVENTS_PAGE = 1000


@dataclass(frozen=True, slots=True, kw_only=True)
class AppServices:
    """The platform parts behind every app's SDK (one set, shared by all apps)."""

    meta: MetaStore
    telemetry: TelemetryStore
    live: LiveState
    ingest: IngestPipeline  # the one ingest entry: durable on return, then on the stream
    scheduler: Scheduler
    installs: AppInstalls


@dataclass(frozen=True, slots=True, kw_only=True)
class DerivedPoint:
    """A point an app computed: numeric ``value`` or ``text``, at ``ts`` (epoch ms)."""

    device: str
    metric: str
    ts: int
    value: float | None = None
    text: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceInfo:
    id: str
    name: str
    device_type: str | None
    asset: str | None
    enabled: bool
    # The device's own attributes (e.g. ``ideal_cycle_s`` of a machine, read by the OEE app).
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AssetInfo:
    """A node of the tenant's plant tree (site → line → cell / device group)."""

    id: str
    name: str
    kind: str
    parent: str | None


class AppSDK:
    """One app's view of the platform."""

    def __init__(self, app_id: str, services: AppServices) -> None:
        self.app_id = app_id
        self.log = logging.getLogger(f"helan.apps.{app_id}")
        self._services = services

    def tenants(self) -> frozenset[str]:
        """The tenants that have installed (and enabled) this app."""
        return self._services.installs.tenants(self.app_id)

    def tenant(self, tenant: str) -> TenantScope:
        """The app's access to ``tenant``; :class:`Forbidden` unless the tenant installed it."""
        scope = TenantScope(self, tenant)
        scope.check()
        return scope

    def schedule(self, spec: JobSpec) -> str:
        """Add a job to the platform's scheduler as ``{app id}:{spec.id}``; returns that id."""
        job_id = f"{self.app_id}:{spec.id}"
        self._services.scheduler.add(JobSpec(id=job_id, trigger=spec.trigger, run=spec.run))
        return job_id

    def unschedule(self, job_id: str) -> None:
        """Remove a job this app scheduled (``job_id`` as :meth:`schedule` returned it)."""
        if not job_id.startswith(f"{self.app_id}:"):
            raise Forbidden(f"job {job_id!r} is not this app's")
        self._services.scheduler.remove(job_id)


class TenantScope:
    """One app acting in one tenant; each call re-checks the install."""

    def __init__(self, sdk: AppSDK, tenant: str) -> None:
        self.sdk = sdk
        self.tenant = tenant
        self._s = sdk._services

    def check(self) -> None:
        decision = app_may_act(self.sdk.app_id, self.tenant, self.sdk.tenants())
        if not decision:
            raise Forbidden(decision.reason)

    async def query(
        self, device: str, metric: str, start_ms: int, end_ms: int, *, limit: int = 1000
    ) -> pa.Table:
        """Raw points of one series in [start_ms, end_ms): columns ts, value, text, quality."""
        self.check()
        q = RawQuery(
            tenant=self.tenant,
            device=device,
            metric=metric,
            start_ms=start_ms,
            end_ms=end_ms,
            limit=limit,
        )
        return await asyncio.to_thread(self._s.telemetry.raw, q)

    async def aggregate(
        self,
        device: str,
        metrics: Sequence[str],
        start_ms: int,
        end_ms: int,
        *,
        bucket_ms: int,
        fn: AggFn = "avg",
    ) -> pa.Table:
        """Buckets of numeric points: columns bucket, metric, value."""
        self.check()
        q = AggQuery(
            tenant=self.tenant,
            device=device,
            metrics=metrics,
            start_ms=start_ms,
            end_ms=end_ms,
            bucket_ms=bucket_ms,
            fn=fn,
        )
        return await asyncio.to_thread(self._s.telemetry.aggregate, q)

    async def config(self) -> dict[str, Any]:
        """The tenant's configuration of this app (the catalogue's, checked against the
        app's manifest when it was saved); empty when none was given."""
        self.check()
        found, _ = await asyncio.to_thread(read_config, self._s.meta, self.tenant, self.sdk.app_id)
        return found

    async def latest(self, device: str) -> dict[str, Latest]:
        """The newest value of each of the device's metrics (from live state, not the store)."""
        self.check()
        await self._s.live.ensure_warm(self.tenant, self._s.telemetry)
        live = self._s.live.device(self.tenant, device)
        return {} if live is None else dict(live.values)

    async def devices(self) -> list[DeviceInfo]:
        """The tenant's registered devices, by id."""
        self.check()
        return await asyncio.to_thread(self._devices)

    def _devices(self) -> list[DeviceInfo]:
        with self._s.meta.session() as s:
            rows = s.scalars(
                sa.select(Device).where(Device.tenant_id == self.tenant).order_by(Device.id)
            ).all()
            return [
                DeviceInfo(
                    id=d.id,
                    name=d.name,
                    device_type=d.device_type_id,
                    asset=d.asset_id,
                    enabled=d.enabled,
                    attributes=dict(d.attributes or {}),
                )
                for d in rows
            ]

    async def assets(self) -> list[AssetInfo]:
        """The tenant's asset tree as nodes with their parent, by id."""
        self.check()
        return await asyncio.to_thread(self._assets)

    def _assets(self) -> list[AssetInfo]:
        with self._s.meta.session() as s:
            rows = s.scalars(
                sa.select(Asset).where(Asset.tenant_id == self.tenant).order_by(Asset.id)
            ).all()
            return [AssetInfo(id=a.id, name=a.name, kind=a.kind, parent=a.parent_id) for a in rows]

    async def events(
        self, *, device: str | None = None, since_ms: int = 0, limit: int = 100
    ) -> list[EventRow]:
        """Stored device events at or after ``since_ms``, newest first."""
        self.check()
        if not 1 <= limit <= MAX_EVENTS_PAGE:
            raise ValidationFailed(f"limit must be 1..{MAX_EVENTS_PAGE}")
        return await asyncio.to_thread(self._events, device, since_ms, limit)

    def _events(self, device: str | None, since_ms: int, limit: int) -> list[EventRow]:
        where = [DeviceEvent.tenant_id == self.tenant, DeviceEvent.ts >= since_ms]
        if device is not None:
            where.append(DeviceEvent.device_id == device)
        stmt = (
            sa.select(DeviceEvent)
            .where(*where)
            .order_by(DeviceEvent.ts.desc(), DeviceEvent.id.desc())
            .limit(limit)
        )
        with self._s.meta.session() as s:
            return [
                EventRow(e.tenant_id, e.device_id, e.ts, e.event, e.level, dict(e.data))
                for e in s.scalars(stmt)
            ]

    async def write_metrics(self, points: Sequence[DerivedPoint]) -> int:
        """Write derived points through the ingest entry; returns once they are durable.

        Every point must name a device of this tenant and a valid metric, and carry exactly
        one finite value or a text, or the whole call is refused (nothing is written)."""
        self.check()
        if len(points) > MAX_WRITE_POINTS:
            raise ValidationFailed(f"at most {MAX_WRITE_POINTS} points per call")
        if not points:
            return 0
        for p in points:
            _check_point(p)
        known = {d.id for d in await self.devices()}
        unknown = sorted({p.device for p in points} - known)
        if unknown:
            raise ValidationFailed(f"not devices of tenant {self.tenant!r}: {unknown[:5]}")
        batch = batch_from_columns(
            [self.tenant] * len(points),
            [p.device for p in points],
            [p.metric for p in points],
            [p.ts for p in points],
            [p.value for p in points],
            [p.text for p in points],
        )
        return await self._s.ingest.submit(batch)

    async def raise_event(
        self,
        device: str,
        event: str,
        *,
        level: str = "info",
        data: dict[str, object] | None = None,
        ts_ms: int | None = None,
    ) -> bool:
        """Store an event on ``device`` as the app's; False if the same one was stored."""
        self.check()
        ids.device_id(device)
        ids.metric_name(event)
        if level not in EVENT_LEVELS:
            raise ValidationFailed(f"level must be one of {', '.join(EVENT_LEVELS)}")
        if device not in {d.id for d in await self.devices()}:
            raise ValidationFailed(f"no device {device!r} in tenant {self.tenant!r}")
        ts = time.time_ns() // 1_000_000 if ts_ms is None else ts_ms
        row = EventRow(
            self.tenant, device, ts, event, level, {"app": self.sdk.app_id, **(data or {})}
        )
        return len(await self._s.ingest.submit_events([row])) == 1


def _check_point(p: DerivedPoint) -> None:
    ids.device_id(p.device)
    ids.metric_name(p.metric)
    if (p.value is None) == (p.text is None):
        raise ValidationFailed(f"point {p.device}/{p.metric}: give a value or a text, not both")
    if p.value is not None and not math.isfinite(p.value):
        raise ValidationFailed(f"point {p.device}/{p.metric}: value must be finite")
    if p.ts < 0:
        raise ValidationFailed(f"point {p.device}/{p.metric}: ts must be epoch ms")
