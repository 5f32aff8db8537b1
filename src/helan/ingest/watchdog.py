"""Online/offline transitions as device events, so rules and apps can react to them.

A device is online while its connection is up (Sparkplug birth) or it was heard from within
``device_offline_after_s`` (:meth:`helan.ingest.live.LiveState.online`). Every second the
watchdog compares each known device's state with the last one it saw and raises, through the
ingest facade (stored like any event, then on the committed-data stream):

- ``device_online`` (level ``info``) at the time the device was first heard from again;
- ``device_offline`` (level ``warning``) at ``last seen + timeout``: the moment the rule fired.

Both times come from what the device did, not from when the check ran, so a restart or a second
watchdog raises the same event at the same ts and the store keeps one (events are idempotent by
tenant, device, name and ts). The first sighting after the platform starts counts as coming
online; a device not heard from since the start raises nothing (its state is unknown). Only
devices in the directory are watched, so a deleted device leaves no trail.
"""

from __future__ import annotations

import asyncio
import logging

from helan.core.errors import StorageUnavailable
from helan.core.events import EventRow
from helan.core.tasks import cancel
from helan.core.thing import DeviceDirectory
from helan.ingest.live import LiveState, now_ms
from helan.ingest.pipeline import IngestPipeline

log = logging.getLogger(__name__)

DEVICE_ONLINE = "device_online"
DEVICE_OFFLINE = "device_offline"


class OnlineWatchdog:
    name = "watchdog"

    def __init__(
        self,
        live: LiveState,
        pipeline: IngestPipeline,
        directory: DeviceDirectory,
        *,
        every_s: float = 1.0,
    ) -> None:
        self.live = live
        self.pipeline = pipeline
        self.directory = directory
        self.every_s = every_s
        self._online: dict[tuple[str, str], bool] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="helan-watchdog")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.every_s)
            try:
                await self.check(now_ms())
            except StorageUnavailable as exc:  # the transitions are raised again next tick
                log.warning("watchdog: events not stored (%s); retrying", exc)
            except Exception:  # a bug here must not end the watch
                log.exception("watchdog check failed")

    def transitions(self, at_ms: int) -> list[EventRow]:
        """The events due at ``at_ms``; the new states are taken only once they are stored."""
        rows: list[EventRow] = []
        timeout = self.live.offline_after_ms
        for tenant in self.live.tenants():
            for device, state in self.live.devices(tenant).items():
                if state.last_seen_ms is None or self.directory.lookup(tenant, device) is None:
                    continue
                online = self.live.online(state, at_ms)
                if self._online.get((tenant, device)) == online:
                    continue
                if online:
                    data: dict[str, object] = {"connected": state.connected}
                    ts = state.last_seen_ms
                    rows.append(EventRow(tenant, device, ts, DEVICE_ONLINE, "info", data))
                else:
                    ts = state.last_seen_ms + timeout
                    data = {"last_seen_ms": state.last_seen_ms, "timeout_s": timeout // 1000}
                    rows.append(EventRow(tenant, device, ts, DEVICE_OFFLINE, "warning", data))
        return rows

    async def check(self, at_ms: int) -> list[EventRow]:
        rows = self.transitions(at_ms)
        if rows:
            await self.pipeline.submit_events(rows)
            for r in rows:
                self._online[(r.tenant, r.device)] = r.event == DEVICE_ONLINE
        return rows
