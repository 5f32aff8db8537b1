"""The gateway end to end: simulated PLC -> buffer -> the machine's Mosquitto, in both formats."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.protocol.sparkplug import DataType, Metric, Payload, decode_payload, encode_payload
from helan.sim.plc.modbus import SimulatedModbusPlc
from tests.conftest import eventually
from tests.edge.conftest import Recorder


def _config(tmp: Path, plc: SimulatedModbusPlc, url: str, tenant: str, fmt: str) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "uplink": {"url": url, "tenant": tenant, "format": fmt, "client_id": f"edge-{tenant}"},
            "buffer": {"path": tmp / "buffer.sqlite3"},
            "modbus": [
                {
                    "name": "pump-plc",
                    "host": "127.0.0.1",
                    "port": plc.port,
                    "device": "pump-1",
                    "poll_interval_s": 0.05,
                    "points": [
                        {"metric": "pressure", "address": 0, "type": "float32"},
                        {"metric": "strokes", "address": 6, "type": "uint32"},
                        {"metric": "temp", "address": 8, "type": "int16", "scale": 0.1},
                        {"metric": "ghost", "address": 50},
                        {"metric": "running", "table": "coil", "address": 0, "type": "bool"},
                    ],
                }
            ],
        }
    )


async def test_native_json_reaches_the_broker(
    tmp_path: Path,
    modbus_plc: SimulatedModbusPlc,
    mosquitto_url: str,
    recorder: Callable[[str, str], Recorder],
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    rec = recorder(mosquitto_url, f"helan/v1/{tenant}/#")
    gw = Gateway(_config(tmp_path, modbus_plc, mosquitto_url, tenant, "native"))
    await gw.start()
    try:
        await eventually(lambda: len(rec.snapshot()) >= 5)
        await eventually(lambda: gw.buffer.stats()["sent"] >= 3)
    finally:
        await gw.stop()
    msgs = rec.snapshot()
    telemetry = [orjson.loads(p) for t, p in msgs if t == f"helan/v1/{tenant}/pump-1/telemetry"]
    attributes = [orjson.loads(p) for t, p in msgs if t.endswith("/attributes")]
    assert telemetry[0]["values"].keys() == {"pressure", "strokes", "temp", "running"}
    assert isinstance(telemetry[0]["ts"], int)
    strokes = [m["values"]["strokes"] for m in telemetry]
    assert strokes == sorted(strokes)  # in order
    assert attributes[0] == {
        "edge_bad_points": {"ghost": "read holding 50+1: exception 2 (illegal data address)"}
    }
    assert len(attributes) == 1  # sent when the BAD set changes, not every cycle


async def test_sparkplug_births_aliases_seq_and_rebirth(
    tmp_path: Path,
    modbus_plc: SimulatedModbusPlc,
    mosquitto_url: str,
    recorder: Callable[[str, str], Recorder],
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    rec = recorder(mosquitto_url, f"spBv1.0/{tenant}/#")
    gw = Gateway(_config(tmp_path, modbus_plc, mosquitto_url, tenant, "sparkplug"))
    await gw.start()
    try:
        await eventually(lambda: sum("DDATA" in t for t, _ in rec.snapshot()) >= 3)
        rebirth = Metric(name="Node Control/Rebirth", datatype=DataType.BOOLEAN, value=True)
        ask = Payload(metrics=(rebirth,))
        rec.publish(f"spBv1.0/{tenant}/NCMD/edge-{tenant}", encode_payload(ask))
        rec.publish(f"spBv1.0/{tenant}/NCMD/edge-{tenant}", b"\x0a\xff")  # malformed: ignored
        await eventually(lambda: sum("NBIRTH" in t for t, _ in rec.snapshot()) >= 2)
        await eventually(lambda: gw.encoder.rejected_commands == 1)  # type: ignore[attr-defined]
    finally:
        await gw.stop()
    await eventually(lambda: any("NDEATH" in t for t, _ in rec.snapshot()))
    msgs = [(t.split("/")[2], decode_payload(p)) for t, p in rec.snapshot() if "NCMD" not in t]
    kinds = [k for k, _ in msgs]
    assert kinds[0] == "NBIRTH"
    assert kinds[1] == "DBIRTH"
    assert kinds[-1] == "NDEATH"  # clean stop says goodbye
    nbirth = msgs[0][1]
    assert nbirth.seq == 0
    assert {m.name: m.value for m in nbirth.metrics} == {
        "bdSeq": 0,
        "Node Control/Rebirth": False,
        "Properties/Helan Commands": "helan/v1",
    }
    dbirth = msgs[1][1]
    defs = {m.name: (m.alias, m.datatype) for m in dbirth.metrics}
    assert defs["pressure"][1] is DataType.DOUBLE
    assert defs["running"][1] is DataType.BOOLEAN
    ghost = next(m for m in dbirth.metrics if m.name == "ghost")
    assert ghost.value is None
    assert ghost.properties["Quality"] == 0
    first_session = msgs[: kinds.index("NBIRTH", 1)]
    seqs = [p.seq for k, p in first_session if k != "NDEATH"]
    assert seqs == [i % 256 for i in range(len(seqs))]  # 0, 1, 2 ... across NBIRTH/DBIRTH/DDATA
    ddata = next(p for k, p in msgs if k == "DDATA")
    assert all(m.name is None and m.alias in {a for a, _ in defs.values()} for m in ddata.metrics)
    rebirth_at = kinds.index("NBIRTH", 1)
    assert msgs[rebirth_at][1].seq == 0
    assert kinds[rebirth_at + 1] == "DBIRTH"
