"""Create the demo enterprise through the REST API, as an operator's script would.

Idempotent: what exists is kept (device types get their thing model brought up to date), and
devices that already exist get a fresh credential, because a password is shown only once. The
same code works in-process (``httpx.ASGITransport``) and against a remote platform.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import httpx

from helan.region.plans import demo_plan
from helan.sim.machine import MachineModel
from helan.sim.metrics import KIND_DEFS, KindDef
from helan.sim.plan import DeviceSpec, FactoryPlan, SimDevice, layout, make_model

API = "/api/v1"
REGION = "640122"  # 宁夏回族自治区银川市贺兰县 (GB/T 2260)
INDUSTRY = "34"  # 通用设备制造业 (GB/T 4754-2017): pumps, presses, machine tools
CONCURRENCY = 16
IDEAL_CYCLE_ATTR = "ideal_cycle_s"
# Apps the demo tenant has installed, with its configuration: Ningxia is on the northwest grid.
DEMO_APPS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("oee", {"zone": "Asia/Shanghai"}),
    ("energy", {"zone": "Asia/Shanghai", "emission_factor": {"region": "northwest"}}),
    ("anomaly", {}),
)


class ProvisionError(RuntimeError):
    """The platform refused a provisioning step; the message says which and why."""


def _check(response: httpx.Response, what: str, ok: Sequence[int] = (200, 201)) -> dict[str, Any]:
    if response.status_code not in ok:
        try:
            detail = response.json().get("error", {}).get("message", response.text)
        except ValueError:
            detail = response.text
        raise ProvisionError(f"{what}: HTTP {response.status_code}: {detail}")
    body: dict[str, Any] = response.json() if response.content else {}
    return body


def thing_model(kind: KindDef) -> dict[str, Any]:
    """The device type body for a kind: one property per metric, with type, unit and range, and
    the events the kind raises."""
    return {
        "name": f"{kind.zh} {kind.en}",
        "description": f"Helan simulator: {kind.en.lower()} (模拟{kind.zh})",
        "properties": [
            {
                "name": m.name,
                "type": m.type,
                "unit": m.unit,
                "min": m.min,
                "max": m.max,
                "description": f"{m.zh} / {m.en}",
            }
            for m in (*kind.metrics, *kind.derived)
        ],
        "events": [
            {
                "name": e.name,
                "level": e.level,
                "description": f"{e.zh} / {e.en}",
                "outputs": [{"name": n, "type": t} for n, t in e.outputs],
            }
            for e in kind.events
        ],
    }


class _Provisioner:
    def __init__(self, client: httpx.AsyncClient, token: str, plan: FactoryPlan) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}
        self.plan = plan
        self.base = f"{API}/tenants/{plan.tenant}"

    async def post(self, path: str, body: dict[str, Any], what: str) -> tuple[int, dict[str, Any]]:
        r = await self.client.post(path, json=body, headers=self.headers)
        return r.status_code, _check(r, what, ok=(200, 201, 409))

    async def tenant(self) -> None:
        p = self.plan
        r = await self.client.get(self.base, headers=self.headers)
        if r.status_code == 404:
            body = {
                "id": p.tenant,
                "name": f"{p.tenant_name_zh} {p.tenant_name_en}",
                "industry": "制造业 Manufacturing",
                "industry_code": INDUSTRY,
                "region": REGION,
            }
            await self.post(f"{API}/tenants", body, f"create tenant {p.tenant}")
        else:
            _check(r, f"read tenant {p.tenant}")

    async def region_plan(self) -> None:
        """Load the example regional plan for the tenant's province (kept when there)."""
        province = f"{REGION[:2]}0000"
        await self.post(f"{API}/regions/{province}/plans", demo_plan(), "load the demo plan")

    async def device_type(self, kind: KindDef) -> None:
        model = thing_model(kind)
        status, _ = await self.post(
            f"{self.base}/device-types",
            {"id": kind.device_type, **model},
            f"create device type {kind.device_type}",
        )
        if status == 409:
            r = await self.client.patch(
                f"{self.base}/device-types/{kind.device_type}", json=model, headers=self.headers
            )
            _check(r, f"update device type {kind.device_type}")

    async def assets(self, specs: Sequence[DeviceSpec]) -> None:
        p = self.plan
        site = {"id": p.site, "name": f"{p.site_name_zh} {p.site_name_en}", "kind": "site"}
        await self.post(f"{self.base}/assets", site, f"create site {p.site}")
        lines = {(s.line, s.kind, s.line_number) for s in specs}
        for line, kind, number in sorted(lines):
            k = KIND_DEFS[kind]
            body = {
                "id": line,
                "name": f"{k.line_zh}{number} {k.line_en} {number}",
                "kind": "line",
                "parent": p.site,
            }
            await self.post(f"{self.base}/assets", body, f"create line {line}")

    async def device(self, spec: DeviceSpec, gate: asyncio.Semaphore) -> SimDevice:
        kind = KIND_DEFS[spec.kind]
        n = spec.index + 1
        vendor, model, firmware = kind.products[spec.index % len(kind.products)]
        signals = make_model(spec, self.plan.seed)
        attributes: dict[str, Any] = {"simulated": True}
        if isinstance(signals, MachineModel):  # the OEE app's ideal cycle time (ISO 22400 PRI)
            attributes[IDEAL_CYCLE_ATTR] = round(signals.params.nominal_cycle_s, 1)
        body = {
            "id": spec.device_id,
            "name": f"{kind.zh}{n:03d} {kind.en} {n}",
            "device_type": kind.device_type,
            "asset": spec.line,
            "vendor": vendor,
            "model": model,
            "firmware": firmware,
            "attributes": attributes,
        }
        async with gate:
            status, created = await self.post(
                f"{self.base}/devices", body, f"create device {spec.device_id}"
            )
            if status == 409:
                r = await self.client.post(
                    f"{self.base}/devices/{spec.device_id}/credentials", headers=self.headers
                )
                created = _check(r, f"rotate credential of {spec.device_id}")
                r = await self.client.patch(
                    f"{self.base}/devices/{spec.device_id}",
                    json={"attributes": attributes},
                    headers=self.headers,
                )
                _check(r, f"update attributes of {spec.device_id}")
        return SimDevice(
            tenant=self.plan.tenant,
            device_id=spec.device_id,
            username=str(created["username"]),
            password=str(created["password"]),
            model=signals,
        )


async def provision(
    client: httpx.AsyncClient,
    admin_token: str,
    plan: FactoryPlan,
    *,
    concurrency: int = CONCURRENCY,
) -> list[SimDevice]:
    """Make the plan's tenant, thing models, asset tree and devices exist; return the devices
    with working credentials. ``admin_token`` must be a platform administrator's access token."""
    p = _Provisioner(client, admin_token, plan)
    specs = layout(plan)
    await p.tenant()
    await p.region_plan()
    for kind in sorted({s.kind for s in specs}):
        await p.device_type(KIND_DEFS[kind])
    await p.assets(specs)
    gate = asyncio.Semaphore(concurrency)
    return list(await asyncio.gather(*(p.device(s, gate) for s in specs)))


async def install_apps(client: httpx.AsyncClient, admin_token: str, plan: FactoryPlan) -> list[str]:
    """Install the demo's apps (:data:`DEMO_APPS`) for the plan's tenant through the catalogue,
    as a tenant admin does in the console; apps already installed are left as they are. Returns
    the apps installed now (none where the platform runs no apps role)."""
    headers = {"Authorization": f"Bearer {admin_token}"}
    done: list[str] = []
    for app_id, config in DEMO_APPS:
        url = f"{API}/tenants/{plan.tenant}/apps/{app_id}"
        r = await client.get(url, headers=headers)
        if r.status_code == 404:
            continue  # no catalogue here (no apps role) or no such app
        if _check(r, f"read app {app_id}").get("installed"):
            continue
        r = await client.put(url, json={"enabled": True, "config": config}, headers=headers)
        _check(r, f"install app {app_id}")
        done.append(app_id)
    return done


async def login(client: httpx.AsyncClient, username: str, password: str) -> str:
    """An access token for ``username`` (the platform's password login)."""
    r = await client.post(f"{API}/auth/token", json={"username": username, "password": password})
    return str(_check(r, f"log in as {username}")["access_token"])
