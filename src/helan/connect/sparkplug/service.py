"""Platform-side Sparkplug B ingest: a host application subscribed to ``spBv1.0/+/#``.

Its own gmqtt client with a persistent session (fixed client id, clean start off) subscribes
at QoS 1 and acknowledges a message only after its points are durable, like the native ingest.
What that buys depends on the publisher: the Sparkplug spec has edge nodes publish NDATA/DDATA
at QoS 0 (the broker may drop them, and the sequence-number check then notices the gap and asks
for a rebirth, but the lost values are gone); births and deaths arrive at QoS 0 or 1. Helan's own
gateway publishes everything at QoS 1 from its SQLite buffer, so its data is at-least-once end to
end, and the store's (device, metric, ts) de-duplication absorbs the repeats.

Births and deaths are kept in the metadata database (:mod:`.births`) before the message that
carried them is acknowledged, and loaded again at start: DATA the broker queued for the
persistent session while the platform was down is then decoded with the aliases it was sent
with, and each such node is asked for a rebirth because its sequence could not be followed.

Messages are decided in arrival order (one lock around the session logic and the metadata
writes of births) and written concurrently, so a node's DBIRTH is learnt before its DDATA.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pyarrow as pa
from gmqtt import Client, Subscription

from helan.config import Settings
from helan.connect.mqtt.service import broker_address
from helan.connect.sparkplug.births import load_births, save_births
from helan.connect.sparkplug.host import Outcome, Sample, SparkplugHost
from helan.connect.sparkplug.names import REBIRTH, valid_tenant
from helan.connect.sparkplug.registry import apply_births
from helan.core.errors import StorageUnavailable
from helan.core.points import POINT_SCHEMA
from helan.core.thing import DeviceDirectory
from helan.ingest.checks import Window, check_value, ts_reason
from helan.ingest.live import LiveState, now_ms
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.reasons import BAD_TOPIC, Reason
from helan.protocol.sparkplug.codec import DataType, Metric, Payload, encode_payload
from helan.protocol.sparkplug.topics import (
    NAMESPACE,
    BadSparkplugTopic,
    SparkplugTopic,
    parse_topic,
)
from helan.storage.meta import MetaStore

log = logging.getLogger(__name__)

SESSION_NEVER_EXPIRES = 0xFFFFFFFF
REBIRTH_EVERY_S = 2.0  # at most one rebirth request per node in this time


class SparkplugIngest:
    def __init__(
        self,
        *,
        url: str,
        pipeline: IngestPipeline,
        directory: DeviceDirectory,
        live: LiveState,
        meta: MetaStore,
        settings: Settings,
        client_id: str = "helan-sparkplug",
        groups: Sequence[str] = ("+",),
        session_expiry_s: int = SESSION_NEVER_EXPIRES,
    ) -> None:
        self.url = url
        self.pipeline = pipeline
        self.directory = directory
        self.live = live
        self.meta = meta
        self.settings = settings
        self.client_id = client_id
        self.groups = tuple(groups)
        self.filters = [f"{NAMESPACE}/{g}/#" for g in groups]
        self.session_expiry_s = session_expiry_s
        self.host = SparkplugHost()
        self.rejected: Counter[str] = Counter()  # every tenant's, for operators and tests
        self.rebirths_requested = 0
        self.acknowledged = 0
        self._client: Client | None = None
        self._order = asyncio.Lock()
        self._last_rebirth: dict[tuple[str, str], float] = {}

    async def start(self) -> None:
        tenants = None if "+" in self.groups else self.groups
        kept = await asyncio.to_thread(load_births, self.meta, tenants)
        for tenant, node_births in kept.items():
            self.host.restore(tenant, node_births)
        if kept:
            log.info("Sparkplug ingest restored %d births", sum(map(len, kept.values())))
        address = broker_address(self.url)
        client = Client(
            self.client_id,
            clean_session=False,
            optimistic_acknowledgement=False,
            session_expiry_interval=self.session_expiry_s,
        )
        client.set_auth_credentials(address.username, address.password)
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        subscribed = asyncio.Event()
        client.on_subscribe = lambda *_: subscribed.set()
        self._client = client
        await client.connect(address.host, address.port, ssl=address.tls, version=address.protocol)
        await asyncio.wait_for(subscribed.wait(), 10)  # started means receiving
        log.info(
            "Sparkplug ingest %r connected to %s:%d", self.client_id, address.host, address.port
        )

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.disconnect()
            self._client = None

    def _on_connect(self, client: Client, flags: int, rc: int, properties: Any) -> None:
        client.subscribe([Subscription(f, qos=1) for f in self.filters])

    async def _on_message(
        self, client: Client, topic: str, payload: bytes, qos: int, properties: Any
    ) -> int:
        try:
            where = parse_topic(topic)
        except BadSparkplugTopic as exc:
            if topic.split("/")[1:2] != ["STATE"]:  # host application state: not for us
                self._count("-", {BAD_TOPIC: 1})
                log.debug("sparkplug: %s", exc)
            return 0
        tenant = where.group
        if not valid_tenant(tenant):
            self._count("-", {BAD_TOPIC: 1})
            return 0
        async with self._order:
            live_rows, historical_rows = await self._decide(tenant, where, payload)
        try:
            if live_rows.num_rows:
                await self.pipeline.submit(live_rows)
            if historical_rows.num_rows:
                await self.pipeline.submit(historical_rows, historical=True)
        except StorageUnavailable:
            raise  # no PUBACK: the broker keeps the message for the next session
        self.acknowledged += 1
        return 0

    async def _decide(
        self, tenant: str, where: SparkplugTopic, payload: bytes
    ) -> tuple[pa.Table, pa.Table]:
        now = now_ms()
        self.pipeline.counters.message(tenant)
        out = self.host.handle(where, payload, now)
        refused: dict[str, str] = {}
        if out.births:
            refused = await asyncio.to_thread(
                apply_births, self.meta, tenant, where.group, out.births
            )
        if out.remember or out.forget:
            await asyncio.to_thread(save_births, self.meta, tenant, out.remember, out.forget)
        for device, up in out.connected:
            if device not in refused and self.directory.lookup(tenant, device) is not None:
                self.live.set_connected(tenant, device, up)
        if out.rebirth:
            self._ask_rebirth(where)
        for problem in out.problems:
            log.info("sparkplug %s: %s", tenant, problem)
        reasons = Counter(out.rejected)
        tables = self._points(tenant, out, refused, reasons, now)
        if reasons:
            self._count(tenant, reasons)
        return tables

    def _points(
        self, tenant: str, out: Outcome, refused: dict[str, str], reasons: Counter[str], now: int
    ) -> tuple[pa.Table, pa.Table]:
        window = Window.around(now, self.settings)
        rows: dict[bool, list[tuple[Sample, float | None, str | None]]] = {False: [], True: []}
        for s in out.samples:
            reason = self._check(tenant, s, refused, window)
            if isinstance(reason, str):
                reasons[reason] += 1
                continue
            rows[s.historical].append((s, *reason))
        return _table(tenant, rows[False]), _table(tenant, rows[True])

    def _check(
        self, tenant: str, s: Sample, refused: dict[str, str], window: Window
    ) -> str | tuple[float | None, str | None]:
        """Why the sample is refused, or its (value, text) columns."""
        if s.device in refused:
            return refused[s.device]
        ref = self.directory.lookup(tenant, s.device)
        if ref is None:
            return Reason.UNKNOWN_DEVICE.code
        if not ref.enabled:
            return Reason.DEVICE_DISABLED.code
        spec = ref.metrics.get(s.metric)
        if spec is None:
            return Reason.UNKNOWN_METRIC.code
        when = ts_reason(s.ts, window)
        if when:
            return when.code
        if s.value is None:  # a bad or missing reading: kept as a quality mark without a value
            return None, None
        if isinstance(s.value, bytes):
            return Reason.BAD_VALUE.code
        reason, value, text = check_value(spec, s.value)
        return reason.code if reason else (value, text)

    def _ask_rebirth(self, where: SparkplugTopic) -> None:
        key = (where.group, where.edge_node)
        loop = asyncio.get_running_loop()
        if loop.time() - self._last_rebirth.get(key, -REBIRTH_EVERY_S) < REBIRTH_EVERY_S:
            return
        self._last_rebirth[key] = loop.time()
        body = Payload(
            timestamp=now_ms(),
            metrics=(Metric(name=REBIRTH, datatype=DataType.BOOLEAN, value=True),),
        )
        topic = str(SparkplugTopic(where.group, "NCMD", where.edge_node))
        if self._client is not None:
            self._client.publish(topic, encode_payload(body), qos=0)
            self.rebirths_requested += 1
            log.info("sparkplug: asked %s/%s for a rebirth", where.group, where.edge_node)

    def _count(self, tenant: str, reasons: Counter[str] | dict[str, int]) -> None:
        self.rejected.update(reasons)
        self.pipeline.counters.rejected(tenant, reasons)


def _table(tenant: str, rows: list[tuple[Sample, float | None, str | None]]) -> pa.Table:
    return pa.table(
        {
            "tenant": pa.array([tenant] * len(rows), pa.string()),
            "device": pa.array([s.device for s, _, _ in rows], pa.string()),
            "metric": pa.array([s.metric for s, _, _ in rows], pa.string()),
            "ts": pa.array([s.ts for s, _, _ in rows], pa.int64()),
            "value": pa.array([v for _, v, _ in rows], pa.float64()),
            "text": pa.array([t for _, _, t in rows], pa.string()),
            "quality": pa.array([int(s.quality) for s, _, _ in rows], pa.int8()),
        },
        schema=POINT_SCHEMA,
    )
