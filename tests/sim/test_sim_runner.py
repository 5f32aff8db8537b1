"""The simulated devices on real brokers: the machine's Mosquitto, and a private Mosquitto that
checks device credentials and binds each credential to its own topic."""

from __future__ import annotations

import asyncio
import time
from itertools import pairwise

import pytest
from sim_helpers import PrivateBroker, subscribe

from helan.sim.faults import Outage, ReconnectStorm, StuckSensor
from helan.sim.metrics import KIND_DEFS
from helan.sim.plan import FactoryPlan, SimDevice, anonymous_devices, layout, make_model
from helan.sim.runner import Factory, run_factory

pytestmark = pytest.mark.mosquitto


async def _run_for(factory: Factory, seconds: float, faults=()) -> None:  # type: ignore[no-untyped-def]
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    await factory.run(stop, faults)
    await factory.drain()


async def test_devices_publish_native_json_on_their_topics(mosquitto_url: str, tenant: str) -> None:
    devices = anonymous_devices(FactoryPlan(tenant=tenant, devices=8))
    sub, rec = await subscribe(mosquitto_url, f"helan/v1/{tenant}/+/telemetry")
    factory = Factory(devices, mosquitto_url)
    try:
        await factory.connect_all()
        assert factory.online() == 8
        started = time.time()
        await _run_for(factory, 2.5)
    finally:
        await factory.disconnect_all()
    await asyncio.sleep(0.3)
    await sub.disconnect()

    assert factory.stats.acked == factory.stats.published > 0
    assert len(rec.messages) == factory.stats.acked
    by_device = rec.by_device()
    assert set(by_device) == {d.device_id for d in devices}
    for d in devices:
        kind = d.kind
        for body in by_device[d.device_id]:
            assert set(body) == {"ts", "values"}
            ts = body["ts"]
            assert isinstance(ts, int)
            assert started * 1000 - 2000 < ts < time.time() * 1000 + 1000
            values = body["values"]
            assert isinstance(values, dict)
            assert set(values) == {m.name for m in kind.metrics}
            for m in kind.metrics:
                v = values[m.name]
                if m.type == "string":
                    assert v in ("run", "idle", "down")
                elif m.type == "int":
                    assert isinstance(v, int)
                    assert v >= 0
                else:
                    assert m.min is None or v >= m.min
                    assert m.max is None or v <= m.max
        stamps = [b["ts"] for b in by_device[d.device_id]]
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)


_CRED_TENANT = "simcred"
_CRED_DEVICES = [
    (_CRED_TENANT, s.device_id) for s in layout(FactoryPlan(tenant=_CRED_TENANT, devices=4))
]


@pytest.mark.parametrize("private_broker", [_CRED_DEVICES], indirect=True)
async def test_devices_log_in_with_their_credentials(private_broker: PrivateBroker) -> None:
    plan = FactoryPlan(tenant=_CRED_TENANT, devices=4)
    specs = layout(plan)
    devices = [
        SimDevice(
            tenant=_CRED_TENANT,
            device_id=s.device_id,
            username=f"{s.device_id}@{_CRED_TENANT}",
            password=private_broker.passwords[f"{s.device_id}@{_CRED_TENANT}"],
            model=make_model(s, plan.seed),
        )
        for s in specs
    ]
    # A fifth device with a wrong password must not get in.
    intruder = SimDevice(
        tenant=_CRED_TENANT,
        device_id="pump-00002",
        username=f"{specs[0].device_id}@{_CRED_TENANT}",
        password="wrong-password",
        model=make_model(specs[0], plan.seed),
    )
    sub, rec = await subscribe(
        private_broker.url, "helan/v1/#", "listener", private_broker.passwords["listener"]
    )
    good = Factory(devices, private_broker.url)
    bad = Factory([intruder], private_broker.url)
    try:
        await good.connect_all()
        await bad.connect_all()
        assert good.online() == 4
        assert bad.online() == 0
        assert bad.stats.connect_failures == 1
        await _run_for(good, 2.2)
    finally:
        await good.disconnect_all()
        await bad.disconnect_all()
    await asyncio.sleep(0.3)
    await sub.disconnect()
    # The ACL lets each credential write only its own topic: every device's data arriving
    # under its own id proves each used its own credential.
    assert set(rec.by_device()) == {s.device_id for s in specs}
    assert len(rec.messages) == good.stats.acked > 0


async def test_reconnect_storm_reconnects_every_device(mosquitto_url: str, tenant: str) -> None:
    devices = anonymous_devices(FactoryPlan(tenant=tenant, devices=20))
    sub, rec = await subscribe(mosquitto_url, f"helan/v1/{tenant}/+/telemetry")
    factory = Factory(devices, mosquitto_url)
    try:
        await factory.connect_all()
        storm_at = time.time() + 1.5
        await _run_for(factory, 4.5, [ReconnectStorm(start_s=1.0)])
        assert factory.stats.storms == 1
        assert factory.online() == 20
        assert all(link.connects == 2 for link in factory.links.values())
        assert factory.stats.connects == 40
    finally:
        await factory.disconnect_all()
    await asyncio.sleep(0.3)
    await sub.disconnect()
    after = {topic.split("/")[3] for topic, _, at in rec.messages if at > storm_at + 0.5}
    assert after == {d.device_id for d in devices}  # every device publishes again after it


async def test_outage_silences_one_device_then_it_returns(mosquitto_url: str, tenant: str) -> None:
    devices = anonymous_devices(FactoryPlan(tenant=tenant, devices=3))
    victim = devices[0].device_id
    sub, rec = await subscribe(mosquitto_url, f"helan/v1/{tenant}/+/telemetry")
    factory = Factory(devices, mosquitto_url)
    try:
        await factory.connect_all()
        await _run_for(factory, 5.5, [Outage(device=victim, start_s=1.0, duration_s=2.0)])
    finally:
        await factory.disconnect_all()
    await asyncio.sleep(0.3)
    await sub.disconnect()
    assert factory.stats.outages == 1
    assert factory.stats.skipped >= 1
    assert factory.links[victim].connects == 2  # it dropped its connection and came back
    stamps = sorted(int(b["ts"]) for b in rec.by_device()[victim])
    gaps = [b - a for a, b in pairwise(stamps)]
    assert max(gaps) >= 2000  # silent for the outage
    assert len(rec.by_device()[devices[1].device_id]) > len(stamps)  # others went on


async def test_stuck_sensor_fault_reaches_the_broker(mosquitto_url: str, tenant: str) -> None:
    devices = anonymous_devices(FactoryPlan(tenant=tenant, devices=2, mix={"meter": 1.0}))
    meter = devices[0].device_id
    sub, rec = await subscribe(mosquitto_url, f"helan/v1/{tenant}/+/telemetry")
    stats = await run_factory(
        devices,
        mosquitto_url,
        stop_event=_stop_after(3.5),
        faults=[StuckSensor(device=meter, metric="active_power", start_s=0, duration_s=60)],
    )
    await asyncio.sleep(0.3)
    await sub.disconnect()
    assert stats.acked == stats.published >= 4
    stuck = {b["values"]["active_power"] for b in rec.by_device()[meter]}  # type: ignore[index]
    free = {b["values"]["active_power"] for b in rec.by_device()[devices[1].device_id]}  # type: ignore[index]
    assert len(stuck) == 1
    assert len(free) > 1
    assert KIND_DEFS["meter"].device_type == "power-meter"


def _stop_after(seconds: float) -> asyncio.Event:
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(seconds, stop.set)
    return stop


async def test_machines_publish_their_state_changes_as_events(
    mosquitto_url: str, tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Plant-like dwell times are minutes; shorten them so that a 3 s run sees state changes.
    monkeypatch.setattr("helan.sim.machine.MIN_DWELL_S", 0.3)
    monkeypatch.setattr("helan.sim.machine.MEAN_DWELL_S", {"run": 0.5, "idle": 0.5, "down": 0.5})
    plan = FactoryPlan(tenant=tenant, devices=6, mix={"pump": 0, "meter": 0, "cnc": 1, "press": 1})
    devices = anonymous_devices(plan)
    sub, rec = await subscribe(mosquitto_url, f"helan/v1/{tenant}/+/events")
    factory = Factory(devices, mosquitto_url)
    try:
        await factory.connect_all()
        await _run_for(factory, 3)
    finally:
        await factory.disconnect_all()
    await asyncio.sleep(0.3)
    await sub.disconnect()

    stats = factory.stats
    assert stats.events_acked == len(rec.messages) > 0
    assert stats.acked == stats.published  # events messages are not counted as readings
    bodies = [event for _, payload, _ in rec.messages for event in payload]  # type: ignore[attr-defined]
    assert len(bodies) == stats.events
    names = {b["event"] for b in bodies}
    assert "state_changed" in names
    for body in bodies:
        assert set(body) == {"ts", "event", "data"}
        if body["event"] == "state_changed":
            assert body["data"]["from"] != body["data"]["to"]
