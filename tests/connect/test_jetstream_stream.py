"""The committed-data stream across processes through JetStream (JetStreamOut -> JetStreamIn):
against the machine's NATS (a unique stream and subjects per test, deleted afterwards), a
private nats-server restarted under a running consumer, and the embedded broker with its auth
callout (the services' NATS rights; devices get none of them)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import nats.errors
import orjson
import pyarrow as pa
import pytest
from mqtt_helpers import Device
from tests.conftest import _reachable, eventually, free_port
from tests.connect.test_nats_mqtt import NATS_SERVER

from helan.connect.mqtt.broker import EmbeddedBroker
from helan.connect.nats.rights import service_rights
from helan.connect.nats.stream import (
    STREAM_NAME,
    JetStreamIn,
    JetStreamOut,
    connect,
    point_payloads,
    service_nats_url,
)
from helan.core.events import EventRow
from helan.core.points import POINT_SCHEMA, batch_from_columns
from helan.ingest.stream import Committed, CommittedBatch, CommittedEvents, CommittedStream


@dataclass
class Names:
    url: str
    stream: str
    prefix: str

    def out(self, stream: CommittedStream, origin: str = "ingest") -> JetStreamOut:
        return JetStreamOut(
            self.url, stream, origin=origin, stream_name=self.stream, subject_prefix=self.prefix
        )

    def into(self, stream: CommittedStream, origin: str, durable: str | None) -> JetStreamIn:
        return JetStreamIn(
            self.url,
            stream,
            origin=origin,
            durable=durable,
            stream_name=self.stream,
            subject_prefix=self.prefix,
        )


@pytest.fixture
async def names(nats_url: str) -> AsyncIterator[Names]:
    """A stream name and subjects of this test's own (subjects of two streams may not overlap)."""
    tag = uuid.uuid4().hex[:10]
    n = Names(nats_url, f"TEST_{tag}", f"test{tag}.committed")
    yield n
    nc = await nats.connect(nats_url)
    with contextlib.suppress(nats.js.errors.NotFoundError):
        await nc.jetstream().delete_stream(n.stream)
    await nc.close()


def points(n: int, *, ts0: int = 1_700_000_000_000) -> pa.Table:
    devices = [f"dev-{i % 100}" for i in range(n)]
    metrics = [("pressure", "temperature", "state")[i % 3] for i in range(n)]
    text = [f"s{i}" if m == "state" else None for i, m in enumerate(metrics)]
    values = [None if m == "state" else i * 0.5 for i, m in enumerate(metrics)]
    return batch_from_columns(
        ["acme"] * n, devices, metrics, [ts0 + i for i in range(n)], values, text
    )


def event(i: int) -> EventRow:
    return EventRow("acme", "dev-1", 1_700_000_000_000 + i, "alarm", "warning", {"n": i, "x": [1]})


class Sink:
    """A local subscriber that keeps what it gets."""

    def __init__(self, stream: CommittedStream) -> None:
        self.items: list[Committed] = []
        self.last = 0.0  # perf_counter at the latest item
        stream.subscribe("test", self.keep)

    def keep(self, item: Committed) -> None:
        self.items.append(item)
        self.last = time.perf_counter()

    def first_ts(self) -> list[int]:
        return [i.points["ts"][0].as_py() for i in self.items if isinstance(i, CommittedBatch)]

    def rows(self) -> int:
        return sum(
            i.points.num_rows if isinstance(i, CommittedBatch) else len(i.rows) for i in self.items
        )


async def messages_in(url: str, stream: str) -> int:
    nc = await nats.connect(url)
    info = await nc.jetstream().stream_info(stream)
    await nc.close()
    return int(info.state.messages)


async def test_200k_points_arrive_sliced_identical_and_in_order(names: Names) -> None:
    a, b = CommittedStream(), CommittedStream()
    out = names.out(a)
    await out.start()
    into = names.into(b, "rules", durable=None)
    await into.start()
    sink = Sink(b)
    table = points(200_000)
    started = time.perf_counter()
    a.publish(CommittedBatch(table, historical=True, committed_ms=1234))
    await eventually(lambda: sink.rows() == 200_000, within=30)
    elapsed = sink.last - started
    print(f"\n200k points out->in: {elapsed:.3f} s, {200_000 / elapsed:,.0f} points/s")
    assert len(sink.items) == out.published > 1  # sliced: over 1 MiB as Arrow IPC
    batches = [i for i in sink.items if isinstance(i, CommittedBatch)]
    assert all(i.historical and i.committed_ms == 1234 for i in batches)
    got = pa.concat_tables([i.points for i in batches])
    assert got.schema.equals(POINT_SCHEMA)
    assert got.equals(table)
    assert into.received == len(batches)
    assert into.malformed == into.skipped_own == 0
    await into.stop()
    await out.stop()


def test_slices_fit_the_payload_limit_even_when_rows_vary() -> None:
    table = points(5000)
    long = table.set_column(5, "text", pa.array(["x" * (i % 700) for i in range(5000)]))
    parts = list(point_payloads(long, 64 * 1024))
    assert len(parts) > 1
    assert all(len(p) <= 64 * 1024 for p in parts)
    back = pa.concat_tables(pa.ipc.open_stream(p).read_all() for p in parts)
    assert back.equals(long)
    huge = table.slice(0, 1).set_column(5, "text", pa.array(["x" * 70_000]))
    with pytest.raises(ValueError, match="max_payload"):
        list(point_payloads(huge, 64 * 1024))


async def test_events_round_trip_with_their_flags(names: Names) -> None:
    a, b = CommittedStream(), CommittedStream()
    out = names.out(a)
    await out.start()
    into = names.into(b, "apps", durable=None)
    await into.start()
    sink = Sink(b)
    live = [event(i) for i in range(3)]
    old = [event(i) for i in range(10, 12)]
    a.publish(CommittedEvents(live, historical=False, committed_ms=5))
    a.publish(CommittedEvents(old, historical=True, committed_ms=6))
    a.publish(CommittedBatch(points(10), committed_ms=7))
    await eventually(lambda: len(sink.items) == 3)
    first, second, third = sink.items
    assert isinstance(first, CommittedEvents)
    assert isinstance(second, CommittedEvents)
    assert (list(first.rows), first.historical, first.committed_ms) == (live, False, 5)
    assert (list(second.rows), second.historical, second.committed_ms) == (old, True, 6)
    assert isinstance(third, CommittedBatch)
    assert not third.historical
    assert third.points.equals(points(10))
    await into.stop()
    await out.stop()


async def test_own_origin_is_skipped_and_nothing_echoes(names: Names) -> None:
    """A process with both ends (rules and api apart from ingest) neither takes back its own
    commits nor sends out again what it received."""
    ingest, other = CommittedStream(), CommittedStream()
    ingest_out = names.out(ingest, origin="p1")
    other_out = names.out(other, origin="p2")
    await ingest_out.start()
    await other_out.start()
    ingest_in = names.into(ingest, "p1", durable=None)
    other_in = names.into(other, "p2", durable=None)
    await ingest_in.start()
    await other_in.start()
    ingest_sink, other_sink = Sink(ingest), Sink(other)
    ingest.publish(CommittedBatch(points(5)))  # committed by p1
    other.publish(CommittedEvents([event(1)]))  # committed by p2 (an app's event)
    await eventually(lambda: ingest_in.skipped_own == 1 and other_in.skipped_own == 1)
    await eventually(lambda: len(ingest_sink.items) == 2 and len(other_sink.items) == 2)
    await asyncio.sleep(0.5)
    assert ingest_in.received == other_in.received == 1
    assert len(ingest_sink.items) == len(other_sink.items) == 2  # its own + the other's
    assert ingest_out.published == other_out.published == 1
    assert await messages_in(names.url, names.stream) == 2
    for part in (ingest_in, other_in, ingest_out, other_out):
        await part.stop()


async def test_durable_consumer_resumes_without_loss_or_repeats(names: Names) -> None:
    a, b = CommittedStream(), CommittedStream()
    out = names.out(a)
    await out.start()
    sink = Sink(b)
    for i in range(3):  # before the consumer exists: a durable one starts at the beginning
        a.publish(CommittedBatch(points(1, ts0=i)))
    into = names.into(b, "rules", durable="rules")
    await into.start()
    await eventually(lambda: len(sink.items) == 3)
    await into.stop()
    for i in range(3, 7):  # while the rules process is down
        a.publish(CommittedBatch(points(1, ts0=i)))
    await eventually(lambda: out.published == 7)
    again = names.into(b, "rules", durable="rules")
    await again.start()
    await eventually(lambda: len(sink.items) == 7)
    await asyncio.sleep(1.5)  # a repeat would come now
    assert sink.first_ts() == list(range(7))
    assert again.received == 4
    await again.stop()
    await out.stop()


async def test_malformed_messages_are_counted_and_the_loop_goes_on(names: Names) -> None:
    a, b = CommittedStream(), CommittedStream()
    out = names.out(a)
    await out.start()
    into = names.into(b, "rules", durable="rules")
    await into.start()
    sink = Sink(b)
    good = {"Helan-Origin": "x", "Helan-Historical": "0", "Helan-Committed-Ms": "1"}
    nc = await nats.connect(names.url)
    js = nc.jetstream()
    bad = [
        ("points", b"not arrow", good),
        ("points", b"", {}),  # no headers
        ("events", b"{bad json", good),
        ("events", orjson.dumps([{"tenant": "acme"}]), good),
        ("events", orjson.dumps([]), {**good, "Helan-Historical": "yes"}),
        ("other", b"[]", good),
    ]
    other_schema = pa.table({"a": [1]})
    sink_buf = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink_buf, other_schema.schema) as w:
        w.write_table(other_schema)
    bad.append(("points", sink_buf.getvalue().to_pybytes(), good))
    for kind, data, headers in bad:
        await js.publish(f"{names.prefix}.{kind}", data, headers=headers or None)
    await nc.close()
    a.publish(CommittedEvents([event(1)]))
    await eventually(lambda: len(sink.items) == 1)
    assert into.malformed == len(bad)
    assert into.received == 1
    await into.stop()
    # Terminated: a restarted consumer does not get them again.
    again = names.into(b, "rules", durable="rules")
    await again.start()
    await asyncio.sleep(1.5)
    assert again.malformed == 0
    assert len(sink.items) == 1
    await again.stop()
    await out.stop()


async def test_a_failed_publish_is_retried(names: Names) -> None:
    """The stream deleted under a running JetStreamOut: no JetStream answers its publish; it
    retries, makes the stream again, and the item lands."""
    a = CommittedStream()
    out = names.out(a)
    await out.start()
    nc = await nats.connect(names.url)
    await nc.jetstream().delete_stream(names.stream)
    a.publish(CommittedEvents([event(1)]))
    await eventually(lambda: out.published == 1, within=15)
    assert out.retries >= 1
    assert (await nc.jetstream().stream_info(names.stream)).state.messages == 1
    await nc.close()
    await out.stop()


async def test_consumer_loop_survives_a_server_restart(tmp_path: Path) -> None:
    port = free_port()
    conf = tmp_path / "nats.conf"
    conf.write_text(f"listen: 127.0.0.1:{port}\njetstream {{ store_dir: {tmp_path / 'js'} }}\n")
    url = f"nats://127.0.0.1:{port}"

    def server() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([NATS_SERVER, "-c", str(conf)], stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while not _reachable("127.0.0.1", port):
            assert time.monotonic() < deadline, "nats-server did not start"
            time.sleep(0.05)
        return proc

    proc = server()
    a, b = CommittedStream(), CommittedStream()
    out = JetStreamOut(url, a, origin="ingest")
    into = JetStreamIn(url, b, origin="rules", durable="rules")
    try:
        await out.start()
        await into.start()
        sink = Sink(b)
        a.publish(CommittedBatch(points(1, ts0=1)))
        await eventually(lambda: len(sink.items) == 1)
        proc.terminate()
        proc.wait(10)
        await asyncio.sleep(1.5)  # fetches fail meanwhile
        a.publish(CommittedBatch(points(1, ts0=2)))  # waits in JetStreamOut's retries
        proc = server()
        await eventually(lambda: 2 in sink.first_ts(), within=30)
        assert into.connected
        assert out.connected
        # At least once: the server may have lost the ack it got just before it stopped.
        assert sink.first_ts() in ([1, 2], [1, 1, 2])
    finally:
        await into.stop()
        await out.stop()
        proc.terminate()
        proc.wait(10)


def test_service_url_carries_the_service_credential() -> None:
    url = service_nats_url("nats://someone:old@127.0.0.1:4333")
    assert url.startswith("nats://%24helan-ingest:")
    assert url.endswith("@127.0.0.1:4333")
    assert "old" not in url
    with pytest.raises(ValueError, match="nats://"):
        service_nats_url("mqtt://127.0.0.1:1883")


async def test_an_unreachable_server_fails_the_start() -> None:
    with pytest.raises(ConnectionError, match="not reachable"):
        await connect(f"nats://127.0.0.1:{free_port()}", "test", timeout_s=1.5)


def test_only_a_service_nats_connection_gets_the_stream() -> None:
    mqtt_publish, _ = service_rights()
    nats_publish, _ = service_rights(nats=True)
    assert not any(s.startswith(("helan.committed", "$JS", "_INBOX")) for s in mqtt_publish)
    assert {"helan.committed.>", "$JS.API.>", "$JS.ACK.>", "_INBOX.>"} <= set(nats_publish)


@pytest.mark.parametrize("durable", ["rules", None])
async def test_a_deleted_consumer_is_made_again(names: Names, durable: str | None) -> None:
    a, b = CommittedStream(), CommittedStream()
    out = names.out(a)
    await out.start()
    into = names.into(b, "rules", durable=durable)
    into.consumer_check_s = 0.5
    await into.start()
    sink = Sink(b)
    a.publish(CommittedBatch(points(1, ts0=1)))
    await eventually(lambda: len(sink.items) == 1)
    nc = await nats.connect(names.url)
    assert into._sub is not None
    await nc.jetstream().delete_consumer(names.stream, into._sub._consumer)
    await nc.close()
    await asyncio.sleep(2)  # noticed, subscribed again
    a.publish(CommittedBatch(points(1, ts0=2)))
    await eventually(lambda: 2 in sink.first_ts())
    await into.stop()
    await out.stop()


@pytest.fixture
async def broker(settings, directory, live) -> AsyncIterator[EmbeddedBroker]:
    b = EmbeddedBroker(
        settings.mqtt_embedded_port, directory, live=live, data_dir=settings.data_dir
    )
    await b.start()
    yield b
    await b.stop()


async def test_through_the_embedded_broker_with_the_service_credential(broker, tenant) -> None:
    url = service_nats_url(broker.nats_url)
    a, b = CommittedStream(), CommittedStream()
    out = JetStreamOut(url, a, origin="ingest")
    into = JetStreamIn(url, b, origin="rules", durable="rules")
    await out.start()
    await into.start()
    sink = Sink(b)
    table = points(30_000)  # sliced
    a.publish(CommittedBatch(table))
    a.publish(CommittedEvents([event(1)]))
    await eventually(lambda: sink.rows() == 30_001)
    got = pa.concat_tables([i.points for i in sink.items if isinstance(i, CommittedBatch)])
    assert got.equals(table)
    assert isinstance(sink.items[-1], CommittedEvents)
    await into.stop()
    # The acks reached the server ($JS.ACK is in the service's rights): nothing comes again.
    again = JetStreamIn(url, b, origin="rules", durable="rules")
    await again.start()
    await asyncio.sleep(1.5)
    assert again.received == 0
    assert again.errors == 0
    await again.stop()
    await out.stop()
    nc = await connect(url, "test")
    assert (await nc.jetstream().stream_info(STREAM_NAME)).config.max_bytes == 1 << 30
    await nc.close()


async def test_a_device_credential_cannot_read_the_stream(broker, tenant) -> None:
    port = int(broker.nats_url.rsplit(":", 1)[1])
    errors: list[Exception] = []

    async def on_error(exc: Exception) -> None:
        errors.append(exc)

    nc = await nats.connect(
        f"nats://127.0.0.1:{port}",
        user=f"{tenant}-dev-0",
        password="secret-0",
        error_cb=on_error,
        allow_reconnect=False,
    )
    got: list[bytes] = []

    async def keep(msg: nats.aio.msg.Msg) -> None:
        got.append(msg.data)

    await nc.subscribe("helan.committed.>", cb=keep)
    await nc.flush()
    violation = 'permissions violation for subscription to "helan.committed.>"'
    await eventually(lambda: any(violation in str(e).lower() for e in errors))
    with pytest.raises(nats.errors.Error):  # nor use the JetStream API
        await nc.jetstream().stream_info(STREAM_NAME)
    # Over MQTT neither: the subscription is refused.
    dev = await asyncio.to_thread(Device, broker.port, f"{tenant}-dev-0", "secret-0", v5=False)
    await eventually(dev.connected.is_set)
    granted: list[list[int]] = []
    dev.client.on_subscribe = lambda c, u, mid, codes, p: granted.append([x.value for x in codes])
    dev.client.subscribe("helan/committed/#", qos=1)
    await eventually(lambda: bool(granted))
    assert granted == [[128]]
    # A service publishes: neither the NATS nor the MQTT device connection sees it.
    a = CommittedStream()
    out = JetStreamOut(service_nats_url(broker.nats_url), a, origin="ingest")
    await out.start()
    a.publish(CommittedEvents([event(1)]))
    await eventually(lambda: out.published == 1)
    await asyncio.sleep(0.3)
    assert got == []
    assert dev.received == []
    await out.stop()
    dev.close()
    await nc.close()
