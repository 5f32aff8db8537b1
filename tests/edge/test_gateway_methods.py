"""A command whose service maps to an OPC UA method: the gateway calls the method with the
command's params as its arguments and replies with its outputs; refusals reach the reply."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path

import orjson

from helan.edge.config import EdgeConfig
from helan.edge.gateway import Gateway
from helan.edge.readings import now_ms
from helan.protocol.commands import CommandMessage, command_topic
from helan.sim.plc.opcua import SimulatedOpcUaPlc
from tests.conftest import eventually
from tests.edge.conftest import Recorder


def _config(tmp: Path, plc: SimulatedOpcUaPlc, url: str, tenant: str) -> EdgeConfig:
    return EdgeConfig.model_validate(
        {
            "uplink": {"url": url, "tenant": tenant, "client_id": f"edge-{tenant}"},
            "buffer": {"path": tmp / "buffer.sqlite3"},
            "opcua": [
                {
                    "name": "oven-plc",
                    "endpoint": plc.endpoint,
                    "device": "oven-1",
                    "publishing_interval_ms": 50,
                    "nodes": [{"metric": "count", "node_id": "ns=2;s=Oven.Count"}],
                    "services": [
                        {
                            "name": "set_count",
                            "object_id": "ns=2;s=Oven",
                            "method_id": "ns=2;s=Oven.SetCount",
                            "inputs": ["value"],
                        }
                    ],
                }
            ],
        }
    )


async def test_service_calls_the_opcua_method(
    tmp_path: Path,
    opcua_plc: SimulatedOpcUaPlc,
    mosquitto_url: str,
    recorder: Callable[[str, str], Recorder],
) -> None:
    tenant = f"t{uuid.uuid4().hex[:10]}"
    rec = recorder(mosquitto_url, f"helan/v1/{tenant}/oven-1/commands/+/reply")
    gw = Gateway(_config(tmp_path, opcua_plc, mosquitto_url, tenant))
    await gw.start()

    def send(params: dict[str, object], service: str = "set_count") -> str:
        cid = uuid.uuid4().hex
        body = CommandMessage(
            id=cid,
            service=service,
            params=params,  # type: ignore[arg-type]
            issued_at=now_ms(),
            expires_at=now_ms() + 5000,
        )
        rec.publish(command_topic(tenant, "oven-1", cid), body.encode())
        return cid

    def reply(cid: str) -> dict[str, object] | None:
        for topic, payload in rec.snapshot():
            if f"/commands/{cid}/reply" in topic:
                doc: dict[str, object] = orjson.loads(payload)
                return doc
        return None

    try:
        await eventually(lambda: gw.adapters[0].status.connected and gw.forwarder.status.connected)
        await eventually(lambda: opcua_plc.count > 60)
        ok = send({"value": 7})
        await eventually(lambda: reply(ok) is not None)
        answer = reply(ok)
        assert answer is not None
        assert answer["status"] == "success"
        assert answer["reason"] == "executed"
        message = str(answer["message"])
        assert message.startswith("called set_count: [")
        previous = int(message.removeprefix("called set_count: [").removesuffix("]"))
        assert previous > 60
        assert opcua_plc.count < previous  # set to 7, counting up again from there

        bad = send({"value": -1})
        wrong = send({"speed": 1})
        await eventually(lambda: reply(bad) is not None and reply(wrong) is not None)
        assert reply(bad) == {
            "id": bad,
            "status": "failure",
            "reason": "refused",
            "message": "oven-plc: set_count: -1 does not fit UInt32 [0, 4294967295]",
        }
        assert reply(wrong) == {
            "id": wrong,
            "status": "failure",
            "reason": "refused",
            "message": "oven-plc: set_count takes ['value'], got ['speed']",
        }
    finally:
        await gw.stop()
    assert gw.commands.outcomes == {"executed": 1, "refused": 2}
