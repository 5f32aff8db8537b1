"""MQTT ingest: subscribe to every device's topics and acknowledge each QoS 1 message only once
its points and events are durable (ack after commit).

Messages are taken in as they are read from the socket and handled together: whatever arrived
within DRAIN_DELAY_S (50 ms; hundreds of messages) is decoded and validated as
one batch (:mod:`helan.ingest.native_batch`), handed to the pipeline as one Arrow table, and
acknowledged with one write of PUBACKs once the pipeline says it is durable
(:mod:`helan.connect.mqtt.batch_ack`). The batch's events (:mod:`helan.ingest.events`) are
written in the same step, in a worker thread, and the PUBACKs wait for them too. Batches are
acknowledged in the order they arrived.
The session is persistent (fixed client id, clean start off, session expiry "never"), so a
crash leaves unacknowledged messages with the broker, which sends them again on reconnect;
the stores' (tenant, device, metric | event, ts) de-duplication makes the repeat harmless. MQTT 5
with a large Receive Maximum lets many messages wait for their batch at once (Mosquitto allows
only 20 in flight to an MQTT 3.1.1 client), and several connections in one shared subscription
keep Mosquitto reading PUBACKs as fast as devices publish.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from typing import Any

import orjson
import pyarrow as pa
from gmqtt import Client, Subscription

from helan.config import Settings
from helan.connect.mqtt.batch_ack import AckChannel, BatchAckClient
from helan.connect.mqtt.service import broker_address
from helan.core.errors import StorageUnavailable
from helan.core.events import EventRow
from helan.core.tasks import wait_set
from helan.core.thing import DeviceDirectory
from helan.ingest.events import DecodedEvents, decode_events
from helan.ingest.live import LiveState, now_ms
from helan.ingest.native_batch import SpecCache, decode_batch
from helan.ingest.pipeline import IngestPipeline
from helan.ingest.reasons import BAD_TOPIC, EVENTS_UNAVAILABLE, MALFORMED, TOO_LARGE
from helan.protocol.topics import (
    BadTopic,
    DeviceTopic,
    errors_topic,
    ingest_filters,
    parse_topic,
)
from helan.security.assets.identification import BadIdentification, IdentificationRecorder

log = logging.getLogger(__name__)

SESSION_NEVER_EXPIRES = 0xFFFFFFFF
# Messages the broker may have in flight to each connection, waiting for their batch's commit.
# Times SCALE_OUT_CONNECTIONS, 32 s of 10,000 devices' traffic is ridden out without loss while the
# store stalls; beyond it Mosquitto queues max_queued_messages more, then drops.
RECEIVE_MAXIMUM = 20_000
# Connections for high-rate ingest from Mosquitto, in one shared subscription. Mosquitto 2.0 reads
# one packet per connection per pass of its event loop, so one connection's PUBACKs are read no
# faster than any single device's messages; with several, acknowledgements keep up with the
# devices (docs/ingest.md: "Why several connections"). Not the default: Mosquitto 2.0 does not
# restore shared subscriptions after it restarts (settings.mqtt_ingest_connections).
SCALE_OUT_CONNECTIONS = 16
MAX_ATTRIBUTES = 1000
SUBACK_TIMEOUT_S = 10.0
# Messages are gathered for up to DRAIN_DELAY_S (or DRAIN_MESSAGES of them) and then decoded as one
# batch: a batch costs a fixed ~1 ms of array set-up, so batches of a few dozen messages (what one
# turn of the loop brings from 10,000 devices) cost several times more per message. The delay is
# small next to the pipeline's ingest_batch_ms, which the acknowledgement waits for anyway.
DRAIN_DELAY_S = 0.05
DRAIN_MESSAGES = 5000
_TOPIC_CACHE_MAX = 100_000
Delivery = tuple[str, bytes, int | None, AckChannel]  # topic, payload, packet id, channel


class MqttIngest:
    def __init__(
        self,
        url: str,
        pipeline: IngestPipeline,
        directory: DeviceDirectory,
        live: LiveState,
        settings: Settings,
        *,
        client_id: str = "helan-ingest",
        tenants: Sequence[str] = ("+",),
        share_group: str | None = None,
        receive_maximum: int = RECEIVE_MAXIMUM,
        connections: int | None = None,
        identification: IdentificationRecorder | None = None,
    ) -> None:
        """Device events are stored through the pipeline's event sink; a pipeline without one
        has valid events refused with a report (``events_unavailable``) rather than
        acknowledged and lost. ``identification`` keeps the attribute of that name (what a
        gateway read off the PLC) on the device row for the asset inventory."""
        self.identification = identification
        self.url = url
        self.pipeline = pipeline
        self.counters = pipeline.counters
        self.directory = directory
        self.live = live
        self.settings = settings
        self.client_id = client_id
        self.receive_maximum = receive_maximum
        embedded = broker_address(url).embedded
        wanted = settings.mqtt_ingest_connections if connections is None else connections
        self.connections = 1 if embedded else wanted
        if self.connections > 1 and share_group is None:
            share_group = client_id
        self.filters = [f for t in tenants for f in ingest_filters(t, share_group)]
        self._clients: list[BatchAckClient] = []
        self._topics: dict[str, DeviceTopic | BadTopic] = {}
        self._specs = SpecCache()
        self._inbox: list[Delivery] = []
        self._drain_at: asyncio.Handle | None = None  # the scheduled _drain of the inbox
        self._last_commit: asyncio.Task[None] | None = None
        self._commits = 0  # batches handed to the pipeline and not yet acknowledged
        self.acknowledged = 0  # QoS 1 messages handled and acknowledged (their points durable)
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self._recovery: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        """Every connection to the broker is up (for readiness)."""
        return bool(self._clients) and all(c.is_connected for c in self._clients)

    def _client_ids(self) -> list[str]:
        if self.connections == 1:
            return [self.client_id]
        return [f"{self.client_id}-{i}" for i in range(self.connections)]

    async def start(self) -> None:
        address = broker_address(self.url)
        self._stopping = False
        for client_id in self._client_ids():
            client = BatchAckClient(
                client_id,
                self._receive,
                clean_session=False,
                session_expiry_interval=SESSION_NEVER_EXPIRES,
                receive_maximum=self.receive_maximum,
            )
            client.set_auth_credentials(address.username, address.password)
            client.on_connect = self._on_connect
            subscribed = asyncio.Event()
            client.on_subscribe = lambda *_, done=subscribed: done.set()
            self._clients.append(client)
            await client.connect(
                address.host, address.port, ssl=address.tls, version=address.protocol
            )
            # Started means receiving: a fresh session gets nothing published before its SUBACK.
            await asyncio.wait_for(subscribed.wait(), SUBACK_TIMEOUT_S)
        log.info(
            "MQTT ingest %r connected to %s:%d (%d connections)",
            self.client_id,
            address.host,
            address.port,
            self.connections,
        )

    async def stop(self, drain_s: float = 10.0) -> None:
        """Finish (and acknowledge) messages already being handled, then disconnect; messages
        arriving meanwhile are left unacknowledged for the next start."""
        self._stopping = True
        if self._recovery is not None:
            self._recovery.cancel()
        self._drain()  # what is in hand now is decoded, stored and acknowledged
        await wait_set(self._idle, drain_s)
        clients, self._clients = self._clients, []
        await asyncio.gather(*(c.disconnect() for c in clients))

    async def forget_sessions(self) -> None:
        """End this ingest's broker sessions for good (a benchmark's or a retired worker's):
        connect each client id once with a clean start and no expiry. Call after :meth:`stop`."""
        address = broker_address(self.url)
        for client_id in self._client_ids():
            client = Client(client_id, clean_session=True, session_expiry_interval=0)
            client.set_auth_credentials(address.username, address.password)
            await asyncio.wait_for(
                client.connect(
                    address.host, address.port, ssl=address.tls, version=address.protocol
                ),
                10,
            )
            await client.disconnect()

    def _on_connect(self, client: BatchAckClient, flags: int, rc: int, properties: Any) -> None:
        client.new_connection()
        client.subscribe([Subscription(f, qos=1) for f in self.filters])

    def _topic(self, topic: str) -> DeviceTopic | BadTopic:
        parsed = self._topics.get(topic)
        if parsed is None:
            try:
                parsed = parse_topic(topic)
            except BadTopic as exc:
                parsed = exc
            if len(self._topics) >= _TOPIC_CACHE_MAX:
                self._topics.clear()
            self._topics[topic] = parsed
        return parsed

    def _receive(self, topic: str, payload: bytes, mid: int | None, channel: AckChannel) -> None:
        """Called by the clients for every message, in arrival order, without awaiting."""
        if self._stopping:
            return  # no PUBACK: the broker delivers it again to the next session
        inbox = self._inbox
        inbox.append((topic, payload, mid, channel))
        if len(inbox) == 1:
            self._drain_at = asyncio.get_running_loop().call_later(DRAIN_DELAY_S, self._drain)
        elif len(inbox) == DRAIN_MESSAGES and self._drain_at is not None:
            self._drain_at.cancel()
            self._drain_at = asyncio.get_running_loop().call_soon(self._drain)

    def _drain(self) -> None:
        """Handle everything received since the last drain as one batch."""
        if self._drain_at is not None:
            self._drain_at.cancel()
            self._drain_at = None
        batch, self._inbox = self._inbox, []
        if not self._clients or not batch:
            return
        client = self._clients[0]  # publishes error reports
        now = now_ms()
        telemetry: list[tuple[str, str, bytes]] = []
        events: list[tuple[str, str, bytes]] = []
        messages: Counter[str] = Counter()
        devices: set[tuple[str, str]] = set()
        for topic, payload, _, _ in batch:
            where = self._topic(topic)
            if isinstance(where, BadTopic):
                self.counters.rejected("-", {BAD_TOPIC: 1})
                log.debug("dropped message on bad topic: %s", where)
                continue
            messages[where.tenant] += 1
            devices.add((where.tenant, where.device))
            if where.kind == "telemetry":
                telemetry.append((where.tenant, where.device, payload))
            elif where.kind == "events":
                events.append((where.tenant, where.device, payload))
            elif self.directory.lookup(where.tenant, where.device) is None:
                self.counters.rejected(where.tenant, {"unknown_device": 1})
            else:
                self._attributes(client, where, payload)
        for tenant, n in messages.items():
            self.counters.message(tenant, n)
        for tenant, device in devices:
            if self.directory.lookup(tenant, device) is not None:
                self.live.seen(tenant, device, now)
        decoded = decode_batch(
            telemetry,
            directory=self.directory,
            settings=self.settings,
            now_ms=now,
            specs=self._specs,
        )
        for tenant, reasons in decoded.reasons().items():
            self.counters.rejected(tenant, reasons)
        for i, fault in decoded.faults:
            tenant, device, _ = telemetry[i]
            self._publish(client, errors_topic(tenant, device), fault.report())
        rows = self._decode_events(client, events, now)
        self._commits += 1
        self._idle.clear()
        self._last_commit = asyncio.create_task(
            self._commit(decoded.table(), rows, batch, self._last_commit)
        )

    def _decode_events(
        self, client: Client, messages: list[tuple[str, str, bytes]], now: int
    ) -> list[EventRow]:
        """The batch's valid events; each message's rejected ones are counted and reported."""
        rows: list[EventRow] = []
        for tenant, device, payload in messages:
            decoded = decode_events(
                payload,
                tenant=tenant,
                device=device,
                ref=self.directory.lookup(tenant, device),
                now_ms=now,
                settings=self.settings,
            )
            if self.pipeline.events is None and decoded.rows:
                decoded.refuse(
                    EVENTS_UNAVAILABLE, "this ingest process has no event store: not stored"
                )
            self._report_events(client, decoded)
            rows += decoded.rows
        return rows

    def _report_events(self, client: Client, decoded: DecodedEvents) -> None:
        if decoded.reasons:
            self.counters.events_rejected(decoded.tenant, decoded.reasons)
        if decoded.needs_report:
            self._publish(client, errors_topic(decoded.tenant, decoded.device), decoded.report())

    async def _commit(
        self,
        table: pa.Table | None,
        events: list[EventRow],
        batch: list[Delivery],
        previous: asyncio.Task[None] | None,
    ) -> None:
        """Acknowledge ``batch`` once its points and events are durable and the batch before it
        is done. Either store failing leaves the whole batch unacknowledged; the broker sends
        it again and both stores skip what they already hold."""
        try:
            stored = asyncio.ensure_future(self.pipeline.submit_events(events)) if events else None
            failed = False
            if table is not None:
                try:
                    await self.pipeline.submit(table)
                except StorageUnavailable:
                    failed = True
            if stored is not None:
                try:
                    await stored
                except StorageUnavailable:
                    failed = True
            if failed:
                self._recover()  # no PUBACK: the broker keeps the messages
                return
            if previous is not None:
                await previous
            self._acknowledge(batch)
        finally:
            self._commits -= 1
            if not self._commits:
                self._idle.set()

    def _acknowledge(self, batch: list[Delivery]) -> None:
        """PUBACK per connection, each in the order its messages arrived."""
        by_channel: dict[AckChannel, list[int]] = {}
        for _, _, mid, channel in batch:
            if mid is not None:
                mids = by_channel.get(channel)
                if mids is None:
                    mids = by_channel[channel] = []
                mids.append(mid)
        for channel, mids in by_channel.items():
            if channel.acknowledge(mids):
                self.acknowledged += len(mids)

    def _attributes(self, client: Client, where: DeviceTopic, payload: bytes) -> None:
        problem = self._object_problem(payload)
        if isinstance(problem, dict) and len(problem) <= MAX_ATTRIBUTES:
            if self.identification is not None and "identification" in problem:
                try:
                    self.identification.offer(where.tenant, where.device, problem["identification"])
                except BadIdentification as exc:
                    del problem["identification"]  # the other attributes still count
                    self._reject_message(client, where, f"{MALFORMED}: {exc}")
            self.live.set_attributes(where.tenant, where.device, problem)
            return
        message = problem if isinstance(problem, str) else f"more than {MAX_ATTRIBUTES} attributes"
        self._reject_message(client, where, message)

    def _object_problem(self, payload: bytes) -> dict[str, object] | str:
        """The payload as a JSON object, or why it is not one."""
        if len(payload) > self.settings.max_payload_bytes:
            return f"{TOO_LARGE}: payload exceeds {self.settings.max_payload_bytes} bytes"
        try:
            doc = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return f"{MALFORMED}: not valid JSON: {exc}"
        if not isinstance(doc, dict):
            return f"{MALFORMED}: expected a JSON object"
        return doc

    def _reject_message(self, client: Client, where: DeviceTopic, message: str) -> None:
        code = message.split(":", 1)[0] if ":" in message else MALFORMED
        self.counters.rejected(where.tenant, {code: 1})
        body = {"accepted": 0, "rejected": 1, "error": {"code": code, "message": message}}
        self._publish(client, errors_topic(where.tenant, where.device), body)

    @staticmethod
    def _publish(client: Client, topic: str, body: dict[str, object]) -> None:
        client.publish(topic, orjson.dumps(body), qos=0)

    def _recover(self) -> None:
        """After a failed write, reconnect (once, after a pause) so the broker resends what
        was left unacknowledged: a persistent session redelivers only on a new connection."""
        if self._recovery is None or self._recovery.done():
            self._recovery = asyncio.create_task(self._reconnect(), name="helan-mqtt-recover")

    async def _reconnect(self, pause_s: float = 1.0) -> None:
        await asyncio.sleep(pause_s)
        if not self._clients or self._stopping:
            return
        log.warning("reconnecting MQTT ingest so the broker redelivers unacknowledged messages")
        address = broker_address(self.url)
        for client in self._clients:
            await client.disconnect()
            await client.connect(
                address.host, address.port, ssl=address.tls, version=address.protocol
            )
