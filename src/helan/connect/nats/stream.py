"""The committed-data stream across processes, through NATS JetStream.

The roles of the platform run in separate processes: ``ingest`` commits, ``rules``, ``apps`` and
``api`` consume. :class:`JetStreamOut` copies each item of a process's
:class:`~helan.ingest.stream.CommittedStream` into the JetStream stream ``HELAN_COMMITTED``
(file storage: kept on disk for ``max_age_s``); :class:`JetStreamIn` feeds another process's
:class:`CommittedStream` from it, acknowledging a message only once every local subscriber has
handled it, so a durable consumer is at-least-once across restarts of either side.

Messages: ``helan.committed.points`` carries an Arrow IPC stream of POINT_SCHEMA rows (a table
larger than the server's ``max_payload`` goes as several messages of consecutive rows),
``helan.committed.events`` a JSON list of event rows. Headers: ``Helan-Origin`` (the process
that committed, whose own messages its :class:`JetStreamIn` skips), ``Helan-Historical``
(``0``/``1``) and ``Helan-Committed-Ms``. Items a :class:`JetStreamIn` relays into a process are
not sent out again by that process's :class:`JetStreamOut`: no echo between processes.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import uuid
import weakref
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import nats
import nats.errors
import nats.js.errors
import orjson
import pyarrow as pa
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.client import JetStreamContext
from prometheus_client import REGISTRY
from prometheus_client.core import CounterMetricFamily, Metric

from helan.connect.mqtt.service import SERVICE_SECRET, SERVICE_USERNAME
from helan.core.events import EventRow
from helan.core.points import POINT_SCHEMA
from helan.core.tasks import cancel
from helan.ingest.stream import (
    Committed,
    CommittedBatch,
    CommittedEvents,
    CommittedStream,
    Subscription,
)

log = logging.getLogger(__name__)

ACK_WAIT_S = 4.0  # a durable consumer's redelivery delay for what was fetched and not acked

STREAM_NAME = "HELAN_COMMITTED"
SUBJECT_PREFIX = "helan.committed"
SUBSCRIBER = "jetstream"  # JetStreamOut's name among the local stream's subscribers
ORIGIN, HISTORICAL, COMMITTED_MS = "Helan-Origin", "Helan-Historical", "Helan-Committed-Ms"
FETCH_BATCH = 64
CONNECT_TIMEOUT_S = 15.0
CONSUMER_CHECK_S = 10.0  # how often an idle JetStreamIn checks that its consumer still exists
# max_payload bounds headers and payload together: room for ours and JetStream's.
HEADER_ROOM = 1024
_STREAM_NAME_IN_USE = 10058  # JetStream's error code: a stream of that name exists (other config)
# ids of the items a JetStreamIn has published and not yet seen handled (it holds them, so an id
# is not reused meanwhile): JetStreamOut does not send them back to JetStream.
_relayed: set[int] = set()


class MalformedMessage(ValueError):
    """A message on the committed subjects that is not one JetStreamOut writes."""


def service_nats_url(nats_url: str) -> str:
    """``nats_url`` with the platform services' credential in it (replacing any): how a role
    process connects to the embedded broker's NATS port, where the auth callout grants it the
    committed-data stream and the JetStream API."""
    parts = urlsplit(nats_url)
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise ValueError(f"NATS URL {nats_url!r}: expected nats://host:port")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{quote(SERVICE_USERNAME, safe='')}:{quote(SERVICE_SECRET, safe='')}@{host}"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


async def connect(url: str, name: str, timeout_s: float = CONNECT_TIMEOUT_S) -> Nats:
    """A connection that reconnects forever. The credential of ``nats://user:pass@host`` is
    URL-decoded here (nats-py would send it percent-encoded)."""
    parts = urlsplit(url)
    if parts.scheme not in ("nats", "tls") or not parts.hostname:
        raise ValueError(f"NATS URL {url!r}: expected nats://[user:pass@]host:port")
    netloc = parts.netloc.rsplit("@", 1)[-1]
    server = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    credential: dict[str, Any] = {}
    if parts.username is not None:
        credential = {"user": unquote(parts.username), "password": unquote(parts.password or "")}

    async def error(exc: Exception) -> None:
        log.warning("NATS %s (%s): %s", name, netloc, exc)

    async def disconnected() -> None:  # also on close; a failing reconnect goes to error()
        log.info("NATS %s disconnected from %s", name, netloc)

    async def reconnected() -> None:
        log.info("NATS %s reconnected to %s", name, netloc)

    connecting = nats.connect(
        servers=[server],
        name=name,
        max_reconnect_attempts=-1,
        reconnect_time_wait=1,
        error_cb=error,
        disconnected_cb=disconnected,
        reconnected_cb=reconnected,
        **credential,
    )
    try:  # nats-py would try the first connect forever too: a process that starts says why not
        return await asyncio.wait_for(connecting, timeout_s)
    except TimeoutError:
        raise ConnectionError(f"NATS at {netloc} not reachable in {timeout_s:.0f} s") from None


def _points_ipc(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return bytes(sink.getvalue().to_pybytes())


def point_payloads(table: pa.Table, limit: int) -> Iterator[bytes]:
    """``table`` as Arrow IPC streams of at most ``limit`` bytes each, rows in order: slices sized
    from the table's bytes per row, a slice that still does not fit halved."""
    per_row = max(table.nbytes / max(table.num_rows, 1), 1.0)
    rows = max(1, int(limit * 0.8 / per_row))
    for start in range(0, table.num_rows, rows):
        yield from _fitting(table.slice(start, rows), limit)


def _fitting(part: pa.Table, limit: int) -> Iterator[bytes]:
    data = _points_ipc(part)
    if len(data) <= limit:
        yield data
    elif part.num_rows <= 1:
        raise ValueError(f"one point takes {len(data)} bytes, over NATS's max_payload {limit}")
    else:
        half = part.num_rows // 2
        yield from _fitting(part.slice(0, half), limit)
        yield from _fitting(part.slice(half), limit)


def event_payloads(rows: Sequence[EventRow], limit: int) -> Iterator[bytes]:
    """``rows`` as JSON lists of at most ``limit`` bytes each, in order."""
    data = orjson.dumps(list(rows))  # orjson writes dataclasses as objects of their fields
    if len(data) <= limit:
        yield data
    elif len(rows) <= 1:
        raise ValueError(f"one event takes {len(data)} bytes, over NATS's max_payload {limit}")
    else:
        half = len(rows) // 2
        yield from event_payloads(rows[:half], limit)
        yield from event_payloads(rows[half:], limit)


def decode(msg: Msg, prefix: str = SUBJECT_PREFIX) -> tuple[str, Committed]:
    """(origin, item) of a message JetStreamOut wrote; MalformedMessage otherwise."""
    headers = msg.headers or {}
    origin, historical = headers.get(ORIGIN), headers.get(HISTORICAL)
    if not origin or historical not in ("0", "1"):
        raise MalformedMessage(f"{msg.subject}: missing or bad {ORIGIN}/{HISTORICAL} headers")
    try:
        committed_ms = int(headers.get(COMMITTED_MS, "0"))
    except ValueError:
        raise MalformedMessage(f"{msg.subject}: bad {COMMITTED_MS} header") from None
    kind = msg.subject.removeprefix(prefix + ".")
    if kind == "points":
        try:
            table = pa.ipc.open_stream(msg.data).read_all()
        except (pa.ArrowException, OSError) as exc:
            raise MalformedMessage(f"{msg.subject}: not an Arrow IPC stream ({exc})") from None
        if not table.schema.equals(POINT_SCHEMA):
            raise MalformedMessage(f"{msg.subject}: the table is not in POINT_SCHEMA")
        return origin, CommittedBatch(table, historical == "1", committed_ms)
    if kind == "events":
        return origin, CommittedEvents(_event_rows(msg), historical == "1", committed_ms)
    raise MalformedMessage(f"{msg.subject}: unknown subject")


_EVENT_FIELDS = {"tenant": str, "device": str, "ts": int, "event": str, "level": str, "data": dict}


def _event_rows(msg: Msg) -> list[EventRow]:
    try:
        raw = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        raise MalformedMessage(f"{msg.subject}: not JSON") from None
    if not isinstance(raw, list):
        raise MalformedMessage(f"{msg.subject}: not a list of events")
    rows = []
    for r in raw:
        if (
            not isinstance(r, dict)
            or r.keys() != _EVENT_FIELDS.keys()
            or not all(isinstance(r[k], t) for k, t in _EVENT_FIELDS.items())
            or isinstance(r["ts"], bool)
        ):
            raise MalformedMessage(f"{msg.subject}: an event without the fields of EventRow")
        rows.append(EventRow(**r))
    return rows


class _BridgeExporter:
    """``helan_stream_jetstream_messages_total{direction, outcome}``: the bridges' counts, read
    at scrape time from every live bridge of the process (held weakly)."""

    OUTCOMES: ClassVar[dict[str, tuple[str, ...]]] = {
        "out": ("published", "retries"),
        "in": ("received", "skipped_own", "malformed", "errors"),
    }

    def __init__(self) -> None:
        self.live: weakref.WeakSet[JetStreamOut | JetStreamIn] = weakref.WeakSet()

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "helan_stream_jetstream_messages",
            "Committed-stream messages through JetStream, by direction and outcome.",
            labels=["direction", "outcome"],
        )
        totals: collections.Counter[tuple[str, str]] = collections.Counter()
        for bridge in list(self.live):
            direction = "out" if isinstance(bridge, JetStreamOut) else "in"
            for outcome in self.OUTCOMES[direction]:
                totals[(direction, outcome)] += getattr(bridge, outcome)
        for (direction, outcome), value in sorted(totals.items()):
            family.add_metric([direction, outcome], value)
        yield family


_EXPORTER = _BridgeExporter()
REGISTRY.register(_EXPORTER)


class JetStreamOut:
    """Publishes the local stream's items to JetStream, each acknowledged by JetStream before the
    next: a failure is retried with backoff (the local subscriber queue, bounded, holds what
    comes meanwhile), never dropped silently."""

    def __init__(
        self,
        url: str,
        stream: CommittedStream,
        *,
        origin: str,
        max_age_s: float = 86400,
        max_bytes: int = 1 << 30,
        stream_name: str = STREAM_NAME,
        subject_prefix: str = SUBJECT_PREFIX,
        ack_timeout_s: float = 5.0,
        max_backoff_s: float = 5.0,
    ) -> None:
        self.url = url
        self.stream = stream
        self.origin = origin
        self.max_age_s = max_age_s
        self.max_bytes = max_bytes
        self.stream_name = stream_name
        self.subject_prefix = subject_prefix
        self.ack_timeout_s = ack_timeout_s
        self.max_backoff_s = max_backoff_s
        self.published = 0  # messages JetStream acknowledged
        self.retries = 0  # publishes that failed and were tried again
        _EXPORTER.live.add(self)
        # Nats-Msg-Id: JetStream drops the repeat of a publish whose ack was lost.
        self._ids = itertools.count()
        self._nonce = uuid.uuid4().hex[:12]
        self._nc: Nats | None = None
        self._js: JetStreamContext | None = None
        self._sub: Subscription | None = None

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    async def start(self) -> None:
        self._nc = await connect(self.url, f"helan-stream-out-{self.origin}")
        self._js = self._nc.jetstream()
        try:
            await self._ensure_stream()
        except BaseException:
            await self._close()
            raise
        self._sub = self.stream.subscribe(SUBSCRIBER, self._handle)

    async def _ensure_stream(self) -> None:
        assert self._js is not None
        config = StreamConfig(
            name=self.stream_name,
            subjects=[f"{self.subject_prefix}.>"],
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=self.max_age_s,
            max_bytes=self.max_bytes,
        )
        try:
            await self._js.add_stream(config)
        except nats.js.errors.BadRequestError as exc:
            if exc.err_code != _STREAM_NAME_IN_USE:
                raise
            await self._js.update_stream(config)

    async def stop(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (up to ``timeout_s``), then stop."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        sub, self._sub = self._sub, None
        while sub is not None and not sub.idle and loop.time() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        await self.stream.unsubscribe(SUBSCRIBER)
        await self._close()

    async def _close(self) -> None:
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None and not nc.is_closed:
            try:
                await asyncio.wait_for(nc.drain(), 5)
            except (TimeoutError, nats.errors.Error, OSError):
                with contextlib.suppress(nats.errors.Error, OSError):
                    await nc.close()

    async def _handle(self, item: Committed) -> None:
        if id(item) in _relayed:
            return
        assert self._nc is not None
        limit = self._nc.max_payload - HEADER_ROOM
        if isinstance(item, CommittedBatch):
            subject = f"{self.subject_prefix}.points"
            payloads = point_payloads(item.points, limit)
        else:
            subject = f"{self.subject_prefix}.events"
            payloads = event_payloads(item.rows, limit)
        headers = {
            ORIGIN: self.origin,
            HISTORICAL: "1" if item.historical else "0",
            COMMITTED_MS: str(item.committed_ms),
        }
        for payload in payloads:
            await self._publish(subject, payload, headers)

    async def _publish(self, subject: str, payload: bytes, headers: dict[str, str]) -> None:
        msg_id = f"{self.origin}-{self._nonce}-{next(self._ids)}"
        delay = 0.1
        while True:
            js = self._js
            if js is None:
                raise RuntimeError("JetStreamOut stopped")
            try:
                await js.publish(
                    subject,
                    payload,
                    timeout=self.ack_timeout_s,
                    stream=self.stream_name,
                    headers={**headers, "Nats-Msg-Id": msg_id},
                )
                self.published += 1
                return
            except nats.errors.MaxPayloadError:
                raise  # not transient: the server's max_payload shrank under us; logged upstream
            except (nats.errors.Error, OSError) as exc:
                self.retries += 1
                log.warning(
                    "committed stream: publish to JetStream %s failed (%s: %s), retry in %.1f s",
                    self.stream_name,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff_s)
                if isinstance(exc, nats.js.errors.NoStreamResponseError):
                    with contextlib.suppress(nats.errors.Error, OSError):
                        await self._ensure_stream()  # deleted under us: make it again


class JetStreamIn:
    """Feeds the local stream from JetStream. ``durable``: a named consumer, which resumes where
    it left off after a restart (several processes with one name share the messages); None: an
    ephemeral consumer that delivers only what is published from now on (every API process
    needs every item for its live view)."""

    def __init__(
        self,
        url: str,
        stream: CommittedStream,
        *,
        origin: str,
        durable: str | None,
        stream_name: str = STREAM_NAME,
        subject_prefix: str = SUBJECT_PREFIX,
        batch: int = FETCH_BATCH,
        fetch_timeout_s: float = 1.0,
        ephemeral_inactive_s: float = 60.0,
        consumer_check_s: float = CONSUMER_CHECK_S,
    ) -> None:
        self.url = url
        self.stream = stream
        self.origin = origin
        self.durable = durable
        self.stream_name = stream_name
        self.subject_prefix = subject_prefix
        self.batch = batch
        self.fetch_timeout_s = fetch_timeout_s
        self.ephemeral_inactive_s = ephemeral_inactive_s
        self.consumer_check_s = consumer_check_s
        self.received = 0  # items published into the local stream
        self.skipped_own = 0  # messages this process's JetStreamOut wrote
        self.malformed = 0  # messages terminated as unreadable
        self.errors = 0  # fetch or ack failures the loop survived
        _EXPORTER.live.add(self)
        self._nc: Nats | None = None
        self._js: JetStreamContext | None = None
        self._sub: JetStreamContext.PullSubscription | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected and self._sub is not None

    async def start(self) -> None:
        self._stopping = False
        self._nc = await connect(self.url, f"helan-stream-in-{self.origin}")
        self._js = self._nc.jetstream()
        try:
            await self._subscribe()
        except nats.js.errors.NotFoundError:
            log.warning("JetStream stream %s not there yet: waiting for it", self.stream_name)
        except BaseException:
            await self._close()
            raise
        self._task = asyncio.get_running_loop().create_task(
            self._loop(), name=f"helan-stream-in-{self.stream_name}"
        )

    async def _subscribe(self) -> None:
        assert self._js is not None
        if self.durable:
            config = ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                max_ack_pending=self.batch * 4,
                # A fetch in flight when the process stops takes what is published in the next
                # second to no one: those come again after ack_wait, so keep it short (the
                # delivery loop says "in progress" every ack_wait / 2 while subscribers work).
                ack_wait=ACK_WAIT_S,
            )
        else:
            config = ConsumerConfig(
                deliver_policy=DeliverPolicy.NEW,
                ack_policy=AckPolicy.EXPLICIT,
                inactive_threshold=self.ephemeral_inactive_s,
            )
        self._sub = await self._js.pull_subscribe(
            f"{self.subject_prefix}.>", self.durable, stream=self.stream_name, config=config
        )

    async def stop(self) -> None:
        """Let the fetch in flight finish and its messages be handled and acknowledged: the
        server still delivers to a pull request whose client went away, and what it sends
        there comes again only after ack_wait, behind newer messages (out of order)."""
        self._stopping = True
        task, self._task = self._task, None
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), self.fetch_timeout_s + ACK_WAIT_S)
            except TimeoutError:
                await cancel(task)
            except Exception:  # stopping all the same
                log.exception("committed stream from JetStream %s: loop failed", self.stream_name)
        await self._close()

    async def _close(self) -> None:
        nc, self._nc, self._js, self._sub = self._nc, None, None, None
        if nc is not None and not nc.is_closed:
            with contextlib.suppress(nats.errors.Error, OSError):  # the connection may be lost
                await nc.close()  # not drain: a fetch in flight would deliver what no one acks

    async def _loop(self) -> None:
        delay = 0.1
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while not self._stopping:
            try:
                if self._sub is None:
                    await self._subscribe()
                assert self._sub is not None
                msgs = await self._sub.fetch(self.batch, timeout=self.fetch_timeout_s)
                await self._deliver(msgs)
                delay = 0.1
            except TimeoutError:  # nothing new (nats-py raises its own and asyncio's)
                # A deleted consumer looks the same to a fetch: look now and then.
                if loop.time() - checked > self.consumer_check_s:
                    checked = loop.time()
                    await self._check_consumer()
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - connection lost (nats-py reconnects), consumer gone: go on
                self.errors += 1
                log.warning(
                    "committed stream from JetStream %s: %s: %s (retry in %.1f s)",
                    self.stream_name,
                    type(exc).__name__,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                await self._check_consumer()

    async def _check_consumer(self) -> None:
        """Subscribe again if the consumer is gone (an ephemeral one idle too long while the
        connection was down, a stream made again)."""
        if self._sub is None:
            return
        try:
            await self._sub.consumer_info()
        except nats.js.errors.NotFoundError:
            log.warning("JetStream consumer of %s is gone: subscribing again", self.stream_name)
            with contextlib.suppress(nats.errors.Error):
                await self._sub.unsubscribe()
            self._sub = None
        except (nats.errors.Error, OSError):
            pass  # not reachable: the next fetch tells

    async def _deliver(self, msgs: list[Msg]) -> None:
        ack: list[Msg] = []
        relayed: list[Committed] = []
        last = 0
        for msg in msgs:
            try:
                origin, item = decode(msg, self.subject_prefix)
            except MalformedMessage as exc:
                self.malformed += 1
                log.warning("committed stream: malformed JetStream message dropped: %s", exc)
                await msg.term()
                continue
            ack.append(msg)
            if origin == self.origin:
                self.skipped_own += 1
                continue
            relayed.append(item)
            _relayed.add(id(item))
            last = self.stream.publish(item) or last
            self.received += 1
        try:
            # Only what this batch relayed: local items published meanwhile do not hold it up.
            while last and not await self.stream.handled(last, ACK_WAIT_S / 2):
                log.warning("committed stream: local subscribers slow, JetStream ack waits")
                for msg in ack:
                    await msg.in_progress()
        finally:
            _relayed.difference_update(id(item) for item in relayed)
        for msg in ack:
            await msg.ack()
        if ack and self._nc is not None:
            await self._nc.flush()  # the server has the acks: a restart now repeats nothing
