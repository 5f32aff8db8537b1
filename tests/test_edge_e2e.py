"""The edge demo from the README, end to end in real processes: `helan run` (embedded broker),
`helan sim plc` (Modbus TCP + OPC UA servers), `helan sim provision-edge` (REST API) and
`helan edge` move PLC values into the platform store, and commands back down to the PLCs."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymodbus.client import ModbusTcpClient

from helan.edge.config import load_config
from helan.sim.edge_provision import ProvisionError, thing_models, with_credential
from tests.conftest import free_port

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("e2e")]

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "edge.toml"
GATEWAY = "edge-line-1"  # the gateway's own device: its credential speaks for both PLCs
PUMP = "pump-station-1"  # the Modbus PLC
OVEN = "oven-1"  # the OPC UA PLC
API = "/api/v1/tenants/demo"


@dataclass
class Demo:
    base: str
    auth: dict[str, str]
    modbus_port: int
    config: Path


def _wait(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
            if last:
                return last
        except (httpx.HTTPError, OSError) as exc:
            last = exc
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "helan", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _stop(proc: subprocess.Popen[str], name: str) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    assert proc.returncode == 0, f"{name} exited {proc.returncode}:\n{out[-3000:]}"
    assert "Traceback" not in out, f"{name}:\n{out[-5000:]}"


def _demo_config(tmp: Path, *, mqtt: int, modbus: int, opcua: int) -> Path:
    """The example with this test's ports, exactly as a user would edit it."""
    text = EXAMPLE.read_text(encoding="utf-8")
    for old, new in (
        ("mqtt://127.0.0.1:1883", f"mqtt://127.0.0.1:{mqtt}"),
        ("port = 5020", f"port = {modbus}"),
        ("opc.tcp://127.0.0.1:4840/", f"opc.tcp://127.0.0.1:{opcua}/"),
        ('path = "var/edge-buffer.sqlite3"', f'path = "{tmp / "edge-buffer.sqlite3"}"'),
        ("poll_interval_s = 1.0", "poll_interval_s = 0.2"),
    ):
        assert text.count(old) == 1, f"examples/edge.toml no longer has {old!r}"
        text = text.replace(old, new)
    path = tmp / "edge-demo.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("edge-demo")
    http, mqtt, modbus, opcua = free_port(), free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "HELAN_DATA_DIR": str(tmp / "var"),
        "HELAN_HTTP_PORT": str(http),
        "HELAN_MQTT_EMBEDDED_PORT": str(mqtt),
        "HELAN_MQTT_URL": "",
        "HELAN_IDENT_PORT": "0",
    }
    base = f"http://127.0.0.1:{http}"
    procs: list[tuple[str, subprocess.Popen[str]]] = []
    try:
        procs.append(("helan run", _start(["run"], env)))
        procs.append(
            (
                "helan sim plc",
                _start(
                    [
                        "sim",
                        "plc",
                        f"--modbus-port={modbus}",
                        f"--opcua-port={opcua}",
                        "--period=0.2",
                    ],
                    env,
                ),
            )
        )
        with httpx.Client(base_url=base, timeout=5) as client:
            _wait(lambda: client.get("/healthz").status_code == 200, 60, "helan run")
        _wait(lambda: _listening(opcua), 30, "the OPC UA PLC")
        password = (tmp / "var" / "admin-password.txt").read_text().strip()
        config = _demo_config(tmp, mqtt=mqtt, modbus=modbus, opcua=opcua)
        out = tmp / "edge.toml"
        provisioned = subprocess.run(
            [
                sys.executable,
                "-m",
                "helan",
                "sim",
                "provision-edge",
                f"--config={config}",
                f"--out={out}",
                f"--api={base}",
            ],
            env={**env, "HELAN_ADMIN_PASSWORD": password},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert provisioned.returncode == 0, provisioned.stdout + provisioned.stderr
        said = " ".join(provisioned.stdout.split())  # rich wraps long lines
        assert f"device {PUMP}: 6 properties, services: set_pump_speed_sp" in said
        assert f"device {OVEN}: 8 properties, services: set_oven_setpoint, oven_reset_count" in said
        procs.append(("helan edge", _start(["edge", f"--config={out}", "--health-every=2"], env)))
        with httpx.Client(base_url=base, timeout=5) as client:
            r = client.post("/api/v1/auth/token", data={"username": "admin", "password": password})
            r.raise_for_status()
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            # The gateway is up once its data arrives; stopping it while it still imports
            # would end it by the default SIGTERM action instead of its clean shutdown.
            _wait(lambda: _live(client, auth, PUMP), 60, "the gateway's first values")
        yield Demo(base=base, auth=auth, modbus_port=modbus, config=out)
    finally:
        problems = []
        for name, proc in reversed(procs):  # stop every process, even after one misbehaved
            try:
                _stop(proc, name)
            except AssertionError as exc:
                problems.append(str(exc))
        assert not problems, "\n\n".join(problems)


def _live(client: httpx.Client, auth: dict[str, str], device: str) -> dict[str, Any]:
    r = client.get(f"{API}/devices/{device}/live", headers=auth)
    r.raise_for_status()
    values: dict[str, Any] = {m: v["value"] for m, v in r.json()["values"].items()}
    return values


def _points(
    client: httpx.Client, auth: dict[str, str], device: str, metric: str, now: int
) -> list[Any]:
    r = client.get(
        f"{API}/devices/{device}/telemetry/{metric}",
        params={"start": now - 600_000, "end": now + 600_000},
        headers=auth,
    )
    r.raise_for_status()
    points: list[Any] = r.json()["points"]
    return points


def test_provisioned_config_holds_the_gateway_credential_privately(demo: Demo) -> None:
    cfg = load_config(demo.config)
    assert cfg.uplink.username == f"{GATEWAY}@demo"
    assert cfg.uplink.password is not None
    assert len(cfg.uplink.password.get_secret_value()) >= 16
    assert stat.S_IMODE(demo.config.stat().st_mode) == 0o600
    assert "# The pump station" in demo.config.read_text()  # comments survive the edit


def test_each_plc_is_a_device_behind_the_gateway(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base, timeout=5) as client:
        r = client.get(f"{API}/devices", params={"gateway": GATEWAY}, headers=demo.auth)
        r.raise_for_status()
        assert sorted(d["id"] for d in r.json()["items"]) == [OVEN, PUMP]
        gateway = client.get(f"{API}/devices/{GATEWAY}", headers=demo.auth).json()
        assert gateway["gateway"] is None


def test_modbus_and_opcua_values_reach_the_store(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base, timeout=5) as client:
        wanted = {"pump_pressure", "pump_speed_sp", "pump_running"}
        pump = _wait(
            lambda: (v := _live(client, demo.auth, PUMP)) and wanted <= v.keys() and v,
            30,
            "Modbus values in the pump station's live state",
        )
        assert pump["pump_speed_sp"] == 1450  # the simulated pump's default setpoint
        assert pump["pump_running"] is True
        oven = _wait(
            # initial values of several monitored items may come in different publish responses
            lambda: (
                (v := _live(client, demo.auth, OVEN))
                and {"oven_temperature", "oven_count"} <= v.keys()
                and v
            ),
            30,
            "OPC UA values in the oven's live state",
        )
        assert isinstance(oven["oven_count"], int)
        assert 150.0 < oven["oven_temperature"] < 200.0  # near the oven's 180 degC setpoint
        zones = _wait(  # an array node: each element its own metric
            lambda: (v := _live(client, demo.auth, OVEN)) and "oven_zone4_temp" in v and v,
            30,
            "the oven's zone temperatures (array elements) in its live state",
        )
        assert 150.0 < zones["oven_zone1_temp"] < zones["oven_zone4_temp"] < 210.0
        assert not {m for m in pump if m.startswith("oven_")}  # each PLC feeds its own device
        now = int(time.time() * 1000)
        for device, metric in ((PUMP, "pump_pressure"), (OVEN, "oven_temperature")):
            _wait(
                lambda d=device, m=metric: _points(client, demo.auth, d, m, now),
                20,
                f"{metric} of {device} in the telemetry store",
            )
        stats = client.get(f"{API}/ingest/stats", headers=demo.auth).json()
        assert stats["accepted"] > 0
        assert stats["rejected_by_reason"] == {}, stats  # the thing model fits what arrives


def test_commands_write_the_plcs_and_report_success(demo: Demo) -> None:
    with httpx.Client(base_url=demo.base, timeout=20) as client:
        _wait(lambda: "pump_speed_sp" in _live(client, demo.auth, PUMP), 30, "the gateway online")
        r = client.post(
            f"{API}/devices/{PUMP}/commands",
            json={"service": "set_pump_speed_sp", "params": {"pump_speed_sp": 2000}},
            headers=demo.auth,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "success", r.json()
        plc = ModbusTcpClient("127.0.0.1", port=demo.modbus_port)
        assert plc.connect()
        try:
            assert plc.read_holding_registers(9, count=1).registers == [2000]
        finally:
            plc.close()
        _wait(
            lambda: _live(client, demo.auth, PUMP)["pump_speed_sp"] == 2000,
            20,
            "setpoint read back",
        )

        r = client.post(
            f"{API}/devices/{OVEN}/commands",
            json={"service": "set_oven_setpoint", "params": {"oven_setpoint": 120.5}},
            headers=demo.auth,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "success", r.json()
        _wait(
            lambda: _live(client, demo.auth, OVEN)["oven_setpoint"] == 120.5,
            20,
            "oven setpoint back",
        )

        r = client.post(
            f"{API}/devices/{OVEN}/commands",
            json={"service": "oven_reset_count", "params": {}},
            headers=demo.auth,
        )
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "success", r.json()

        # The thing model's limits come from the gateway config: the platform refuses first.
        r = client.post(
            f"{API}/devices/{PUMP}/commands",
            json={"service": "set_pump_speed_sp", "params": {"pump_speed_sp": 5000}},
            headers=demo.auth,
        )
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_params"


def test_credential_edit_keeps_layout_and_refuses_a_config_without_uplink() -> None:
    text = '# top\n[uplink]\ntenant = "demo"\nusername = "x"  # old\n\n[buffer]\npath = "b"\n'
    edited = with_credential(text, "gw@demo", 'p"w\\')
    assert edited.startswith('# top\n[uplink]\npassword = "p\\"w\\\\"\ntenant = "demo"\n')
    assert 'username = "gw@demo"\n\n[buffer]\npath = "b"\n' in edited
    with pytest.raises(ProvisionError, match=r"no \[uplink\] table"):
        with_credential('[buffer]\npath = "b"\n', "u", "p")
    moved = with_credential('[uplink]\nurl = "mqtt://127.0.0.1:1883"\n', "u", "p", "mqtt://h:1884")
    assert 'url = "mqtt://h:1884"\n' in moved
    assert "1883" not in moved


def test_a_metric_fed_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        '[uplink]\ntenant = "demo"\n'
        '[[modbus]]\nname = "a"\nhost = "h"\ndevice = "d"\n'
        '[[modbus.points]]\nmetric = "m"\naddress = 0\n'
        '[[modbus]]\nname = "b"\nhost = "h"\ndevice = "d"\n'
        '[[modbus.points]]\nmetric = "m"\naddress = 1\n'
    )
    with pytest.raises(ProvisionError, match="device d: metric 'm' is fed twice"):
        thing_models(load_config(path), {})
