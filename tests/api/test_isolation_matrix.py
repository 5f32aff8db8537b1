"""Tenant isolation, proven on every route of the app.

The routes are read from ``app.routes``: a route added later without a row here (an unknown
path parameter, or a non-tenant route missing from NON_TENANT) fails ``test_every_route_is_known``.
For each tenant route: no credential → 401; every kind of tenant B credential on tenant A's
real objects → 404, exactly as for a tenant that does not exist; tenant A's viewer and a
read-only API key → 403 on every write; tenant A's admin reads without being refused. A region
viewer (a tenant-less regulator) gets 404 on every tenant route, reads its region's summary
and no other region's, and writes nothing anywhere.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute, iter_route_contexts
from meta_world import PASSWORD, World, create_app

from helan.rules.contracts import ConditionChange, Severity
from helan.rules.notify.outbox import delivery_row
from helan.security.policy import scope_family
from helan.storage.meta.models import Command, Product
from helan.storage.meta.models_alarms import Alarm
from helan.storage.meta.models_notify import NotificationDelivery
from helan.storage.meta.models_region import RegionApplication, RegionCreditRecord, RegionScheme

WRITE = {"POST", "PUT", "PATCH", "DELETE"}
REGION_OBJECT = "00000000000000a1"  # the id of tenant A's voucher application, credit record


def _command(w: World) -> str:
    """A command of tenant A's device, recorded once (commands are made by sending them)."""
    with w.api.platform.meta.session() as s:
        if s.get(Command, (w.a.id, "c1")) is None:
            now = datetime.now(UTC)
            s.add(
                Command(
                    tenant_id=w.a.id,
                    id="c1",
                    device_id=w.a.device,
                    service="reset",
                    params={},
                    status="success",
                    requested_by="user:acme-operator",
                    created_at=now,
                    expires_at=now + timedelta(seconds=10),
                )
            )
    return "c1"


def _product(w: World) -> str:
    """A product of tenant A, made by its device."""
    with w.api.platform.meta.session() as s:
        if s.get(Product, (w.a.id, "sn-1")) is None:
            s.add(
                Product(
                    tenant_id=w.a.id, id="sn-1", name="Unit 1", kind="unit", made_by_id=w.a.device
                )
            )
    return "sn-1"


def _dashboard(w: World) -> str:
    """A dashboard of tenant A, made by its administrator (so only its maker and admins open
    it by id; everyone else in the tenant by its share link)."""
    r = w.api.client.get("/api/v1/tenants/acme/dashboards/dash1", headers=w.a.admin)
    if r.status_code == 404:
        body = {"id": "dash1", "title": "Dash", "spec": {"widgets": []}}
        r = w.api.client.post("/api/v1/tenants/acme/dashboards", json=body, headers=w.a.admin)
        assert r.status_code == 201, r.text
    return "dash1"


_SHARE: dict[str, str] = {}


def _share_token(w: World) -> str:
    if "token" not in _SHARE:
        url = f"/api/v1/tenants/acme/dashboards/{_dashboard(w)}/share"
        _SHARE["token"] = w.api.client.post(url, headers=w.a.admin).json()["token"]
    return _SHARE["token"]


def _report(w: World) -> str:
    if w.api.client.get("/api/v1/tenants/acme/reports/rep1", headers=w.a.admin).status_code == 404:
        body = {
            "id": "rep1",
            "title_zh": "日报",
            "title_en": "Daily",
            "source": {"series": [{"device": "pump-1", "metric": "temp"}]},
        }
        r = w.api.client.post("/api/v1/tenants/acme/reports", json=body, headers=w.a.admin)
        assert r.status_code == 201, r.text
    return "rep1"


def _report_run(w: World) -> str:
    if "run" not in _SHARE:
        url = f"/api/v1/tenants/acme/reports/{_report(w)}/runs"
        _SHARE["run"] = str(w.api.client.post(url, headers=w.a.admin).json()["id"])
    return _SHARE["run"]


def _rule(w: World) -> str:
    if w.api.client.get("/api/v1/tenants/acme/rules/hot", headers=w.a.admin).status_code == 404:
        body = {
            "id": "hot",
            "name": "Hot",
            "target": {"device": w.a.device},
            "condition": {"kind": "threshold", "metric": "temp", "op": ">", "value": 90},
        }
        r = w.api.client.post("/api/v1/tenants/acme/rules", json=body, headers=w.a.admin)
        assert r.status_code == 201, r.text
    return "hot"


def _alarm(w: World) -> str:
    """An alarm raised on tenant A's device by its rule, through the platform's service."""
    service = w.api.platform.alarms
    assert service is not None
    service.apply(
        [
            ConditionChange(
                tenant=w.a.id,
                rule_id=_rule(w),
                rule_version=1,
                device=w.a.device,
                active=True,
                ts_ms=1_700_000_000_000,
                severity=Severity.HIGH,
                message="hot",
            )
        ]
    )
    with w.api.platform.meta.session() as s:
        found = s.scalars(sa.select(Alarm.id).where(Alarm.tenant_id == w.a.id)).first()
    assert found is not None
    return found


def _channel(w: World) -> str:
    url = "/api/v1/tenants/acme/notification-channels"
    if w.api.client.get(f"{url}/ops", headers=w.a.admin).status_code == 404:
        body = {"id": "ops", "name": "Ops", "kind": "email", "config": {"recipients": ["o@x.cn"]}}
        r = w.api.client.post(url, json=body, headers=w.a.admin)
        assert r.status_code == 201, r.text
    return "ops"


def _delivery(w: World) -> str:
    """A pending delivery of tenant A's channel, put in the outbox as the alarms would."""
    channel = _channel(w)
    with w.api.platform.meta.session() as s:
        found = s.scalars(
            sa.select(NotificationDelivery.id).where(NotificationDelivery.tenant_id == w.a.id)
        ).first()
        if found is None:
            row = delivery_row(
                key="matrix-1",
                tenant=w.a.id,
                channel=channel,
                alarm_id="a1",
                severity="high",
                notice={"kind": "raised"},
                created_ms=1_700_000_000_000,
            )
            s.add(NotificationDelivery(**row))
            s.flush()
            found = s.scalars(sa.select(NotificationDelivery.id)).one()
    return str(found)


def _region_application(w: World) -> str:
    """A cloud-voucher application of tenant A (to a scheme of Ningxia), as submitted."""
    with w.api.platform.meta.session() as s:
        if s.get(RegionApplication, REGION_OBJECT) is None:
            s.add(
                RegionScheme(
                    id="iso-voucher",
                    region="640000",
                    name="Voucher",
                    kind="voucher",
                    rules={},
                    valid_from=date(2026, 1, 1),
                    valid_to=date(2026, 12, 31),
                    created_by="admin",
                )
            )
            s.flush()
            s.add(
                RegionApplication(
                    id=REGION_OBJECT,
                    scheme_id="iso-voucher",
                    tenant_id=w.a.id,
                    year=2026,
                    status="submitted",
                    submitted_by="acme-admin",
                )
            )
    return REGION_OBJECT


def _region_credit(w: World) -> str:
    """A credit record of tenant A, noticed."""
    with w.api.platform.meta.session() as s:
        if s.get(RegionCreditRecord, REGION_OBJECT) is None:
            s.add(
                RegionCreditRecord(
                    id=REGION_OBJECT,
                    tenant_id=w.a.id,
                    region="640000",
                    kind="penalty",
                    finding="late report",
                    status="noticed",
                    respond_by=datetime.now(UTC) + timedelta(days=10),
                    created_by="admin",
                )
            )
    return REGION_OBJECT


def _trace_query(w: World) -> str:
    """A named EPCIS query of tenant A, and an event it finds."""
    base = "/api/v1/tenants/acme/epcis"
    if w.api.client.get(f"{base}/queries", headers=w.a.admin).json() == []:
        doc = {
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2026-01-01T00:00:00Z",
            "epcisBody": {
                "eventList": [
                    {
                        "type": "ObjectEvent",
                        "eventTime": "2026-01-01T00:00:00Z",
                        "eventTimeZoneOffset": "+00:00",
                        "epcList": ["urn:epc:id:sgtin:0614141.107346.1"],
                        "action": "OBSERVE",
                        "bizStep": "shipping",
                    }
                ]
            },
        }
        r = w.api.client.post(f"{base}/capture", json=doc, headers=w.a.admin)
        assert r.status_code == 201, r.text
        body = {"params": {"EQ_bizStep": "shipping"}}
        r = w.api.client.put(f"{base}/queries/shipped", json=body, headers=w.a.admin)
        assert r.status_code == 200, r.text
    return "shipped"


def _trace_agreement(w: World) -> str:
    base = "/api/v1/tenants/acme/epcis/agreements"
    if not w.api.client.get(base, headers=w.a.admin).json():
        body = {"id": "public", "audience": "public", "event_types": ["ObjectEvent"]}
        r = w.api.client.post(base, json=body, headers=w.a.admin)
        assert r.status_code == 201, r.text
    return "public"


# Path parameter -> value naming a real object of tenant A ("acme").
PARAMS: dict[str, Callable[[World], str]] = {
    "tenant": lambda w: w.a.id,
    "device": lambda w: w.a.device,
    "type_id": lambda w: "pump",
    "asset": lambda w: "site1",
    "username": lambda w: "acme-viewer",
    "key_id": lambda w: w.a.key_ids["devices_read"],
    "metric": lambda w: "temp",
    "command_id": _command,
    "product": _product,
    "region": lambda w: "640000",
    "dashboard": _dashboard,
    "token": _share_token,
    "report": _report,
    "run": _report_run,
    "rule_id": _rule,
    "alarm_id": _alarm,
    "channel": _channel,
    "delivery": _delivery,
    "advisory": lambda w: "ICSA-00-000-00",
    "warning": lambda w: "0123456789abcdef",
    "session_id": lambda w: "0123456789abcdef0123456789abcdef",
    "plan": lambda w: "nx-plan",
    "indicator": lambda w: "devices_connected",
    "scheme": lambda w: "iso-voucher",
    "application": _region_application,
    "record": _region_credit,
    "expert": lambda w: "e-1",
    "review": lambda w: REGION_OBJECT,
    "name": _trace_query,
    "agreement": _trace_agreement,
    "prefix": lambda w: "88.999.1",
    "subscription": lambda w: "sub-1",
    "app_id": lambda w: "oee",
}
# Routes outside any tenant: (method, path) -> status without credentials.
NON_TENANT: dict[tuple[str, str], int] = {
    ("GET", "/healthz"): 200,
    ("POST", "/api/v1/auth/token"): 422,
    ("POST", "/api/v1/auth/refresh"): 422,
    ("POST", "/api/v1/auth/logout"): 422,
    ("GET", "/api/v1/auth/me"): 401,
    ("POST", "/api/v1/auth/password"): 401,
    ("GET", "/api/v1/auth/factor"): 401,
    ("POST", "/api/v1/auth/factor"): 401,
    ("DELETE", "/api/v1/auth/factor"): 401,
    ("POST", "/api/v1/auth/factor/confirm"): 401,
    ("GET", "/api/v1/auth/sessions"): 401,
    ("DELETE", "/api/v1/auth/sessions/{session_id}"): 401,
    ("GET", "/api/v1/tenants"): 401,
    ("POST", "/api/v1/tenants"): 401,
    ("POST", "/api/v1/devices/me/telemetry"): 401,
    ("GET", "/api/v1/users"): 401,
    ("POST", "/api/v1/users"): 401,
    ("GET", "/api/v1/users/{username}"): 401,
    ("PATCH", "/api/v1/users/{username}"): 401,
    ("DELETE", "/api/v1/users/{username}"): 401,
    ("DELETE", "/api/v1/users/{username}/factor"): 401,
    ("DELETE", "/api/v1/users/{username}/sessions"): 401,
    ("GET", "/api/v1/apps/usage"): 401,
    ("GET", "/api/v1/regions/{region}/summary"): 401,
    ("GET", "/api/v1/security/advisories"): 401,
    ("POST", "/api/v1/security/advisories"): 401,
    ("POST", "/api/v1/security/kev"): 401,
    ("GET", "/api/v1/security/advisories/{advisory}"): 401,
    ("GET", "/api/v1/security/advisories/{advisory}/matches"): 401,
    ("POST", "/api/v1/security/warnings"): 401,
    ("GET", "/api/v1/security/warnings"): 401,
    ("POST", "/api/v1/security/warnings/{warning}:withdraw"): 401,
    ("GET", "/api/v1/regions/{region}/security-posture"): 401,
    ("GET", "/api/v1/regions/{region}/indicators"): 401,
    ("GET", "/api/v1/regions/{region}/indicators/export"): 401,
    ("GET", "/api/v1/regions/{region}/indicators/{indicator}/series"): 401,
    ("POST", "/api/v1/regions/{region}/indicators/refresh"): 401,
    ("GET", "/api/v1/regions/{region}/plans"): 401,
    ("POST", "/api/v1/regions/{region}/plans"): 401,
    ("GET", "/api/v1/regions/{region}/plans/{plan}"): 401,
    ("DELETE", "/api/v1/regions/{region}/plans/{plan}"): 401,
    ("GET", "/api/v1/regions/{region}/admins"): 401,
    ("POST", "/api/v1/regions/{region}/admins"): 401,
    ("DELETE", "/api/v1/regions/{region}/admins/{username}"): 401,
    ("GET", "/api/v1/regions/{region}/schemes"): 401,
    ("POST", "/api/v1/regions/{region}/schemes"): 401,
    ("GET", "/api/v1/regions/{region}/schemes/{scheme}"): 401,
    ("GET", "/api/v1/regions/{region}/applications"): 401,
    ("GET", "/api/v1/regions/{region}/applications/{application}"): 401,
    ("POST", "/api/v1/regions/{region}/applications/{application}/decision"): 401,
    ("POST", "/api/v1/regions/{region}/applications/{application}/payments"): 401,
    ("GET", "/api/v1/regions/{region}/credit"): 401,
    ("POST", "/api/v1/regions/{region}/credit"): 401,
    ("GET", "/api/v1/regions/{region}/credit/{record}"): 401,
    ("POST", "/api/v1/regions/{region}/credit/{record}/decision"): 401,
    ("POST", "/api/v1/regions/{region}/credit/{record}/appeal-decision"): 401,
    ("GET", "/api/v1/regions/{region}/experts"): 401,
    ("POST", "/api/v1/regions/{region}/experts"): 401,
    ("GET", "/api/v1/regions/{region}/experts/{expert}"): 401,
    ("POST", "/api/v1/regions/{region}/experts/{expert}/relations"): 401,
    ("POST", "/api/v1/regions/{region}/reviews"): 401,
    ("GET", "/api/v1/regions/{region}/reviews/{review}"): 401,
    ("POST", "/api/v1/regions/{region}/reviews/{review}/scores"): 401,
    ("GET", "/api/v1/trace-share/naming"): 422,
    ("GET", "/api/v1/trace/public"): 422,
}
# A region viewer's own session (sign in and out, its password) is not platform data.
OWN_SESSION = ("/api/v1/auth/",)
# Readable only by tenant administrators.
ADMIN_READS = ("/users", "/api-keys", "/audit")
# Readable by their maker and tenant administrators; others in the tenant use the share link.
OWNER_READS = ("/dashboards/{dashboard}", "/dashboards/{dashboard}/export")
# Never-ending responses (Server-Sent Events): read up to the first event.
STREAMS = ("/api/v1/tenants/{tenant}/stream",)


def _routes() -> list[tuple[str, str]]:
    app = create_app(None)  # type: ignore[arg-type] - routes do not need the platform
    found = []
    for context in iter_route_contexts(app.routes):
        if isinstance(context.original_route, APIRoute) and context.path and context.methods:
            found += [(method, context.path) for method in sorted(context.methods)]
    return found


ROUTES = _routes()
TENANT_ROUTES = [r for r in ROUTES if "{tenant}" in r[1]]


def _url(world: World, path: str, **override: str) -> str:
    values = {name: fn(world) for name, fn in PARAMS.items()} | override
    return path.format(**values)


def _call(
    world: World,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    **override: str,
) -> tuple[int, dict]:
    body = {} if method in {"POST", "PUT", "PATCH"} else None
    if path in STREAMS:
        with world.api.client.stream(
            method, _url(world, path, **override), headers=headers or {}, auth=auth
        ) as r:
            if r.status_code == 200:
                return 200, {"first": next(r.iter_lines())}
            r.read()
            return r.status_code, r.json()
    r = world.api.client.request(
        method, _url(world, path, **override), headers=headers or {}, json=body, auth=auth
    )
    is_json = r.headers.get("content-type", "").startswith("application/json")
    return r.status_code, (r.json() if is_json and r.content else {})


def test_every_route_is_known() -> None:
    for method, path in ROUTES:
        if "{tenant}" in path:
            params = set(re.findall(r"\{(\w+)", path))
            missing = params - PARAMS.keys()
            assert not missing, f"{method} {path}: add a value for {missing} to PARAMS"
        else:
            assert (method, path) in NON_TENANT, f"{method} {path}: add it to NON_TENANT"
    assert len(TENANT_ROUTES) >= 30


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_no_credentials_is_401(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path)
    assert status == 401, body
    assert body["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_other_tenant_gets_404(world: World, method: str, path: str) -> None:
    b = world.b
    credentials = {
        "admin": {"headers": b.admin},
        "operator": {"headers": b.operator},
        "viewer": {"headers": b.viewer},
        "admin api key": {"headers": b.keys["admin"]},
        "device": {"auth": b.device_auth},
    }
    for name, cred in credentials.items():
        status, body = _call(world, method, path, **cred)
        assert status == 404, f"{name}: {status} {body}"
        assert body == {"error": {"code": "not_found", "message": "tenant 'acme' not found"}}
    # Indistinguishable from a tenant that does not exist at all.
    status, ghost = _call(world, method, path, headers=b.admin, tenant="ghost")
    assert status == 404
    assert ghost["error"]["code"] == "not_found"


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_platform_admin_on_missing_tenant_gets_404(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path, headers=world.api.as_admin(), tenant="ghost")
    assert status == 404, body


@pytest.mark.parametrize(("method", "path"), [r for r in TENANT_ROUTES if r[0] in WRITE])
def test_viewer_and_read_only_key_get_403_on_writes(world: World, method: str, path: str) -> None:
    for name, headers in {
        "viewer": world.a.viewer,
        "read key": world.a.keys["devices_read"],
    }.items():
        status, body = _call(world, method, path, headers=headers)
        assert status == 403, f"{name}: {status} {body}"
        assert body["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path"), [r for r in TENANT_ROUTES if r[0] == "GET"])
def test_owner_reads(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path, headers=world.a.admin)
    assert status not in (401, 403, 404), body
    assert status < 500, body
    status, body = _call(world, method, path, headers=world.a.viewer)
    if path.endswith(ADMIN_READS) or any(f"{seg}/" in path for seg in ADMIN_READS):
        assert status == 403, body
    elif path.endswith(OWNER_READS):
        assert status == 404, body
    else:
        assert status not in (401, 403, 404), body
        assert status < 500, body


@pytest.mark.parametrize(("method", "path"), sorted(NON_TENANT))
def test_non_tenant_routes_without_credentials(world: World, method: str, path: str) -> None:
    status, body = _call(world, method, path)
    assert status == NON_TENANT[(method, path)], body


def test_tenant_list_and_create_need_platform_admin(world: World) -> None:
    for headers in (world.a.admin, world.a.keys["admin"]):
        assert world.api.client.get("/api/v1/tenants", headers=headers).status_code == 403
        r = world.api.client.post("/api/v1/tenants", headers=headers, json={"id": "x", "name": "x"})
        assert r.status_code == 403


def test_device_credential_cannot_read_its_own_tenant(world: World) -> None:
    r = world.api.client.get("/api/v1/tenants/acme/devices", auth=world.a.device_auth)
    assert r.status_code == 403


@pytest.fixture(scope="module")
def regulator(world: World) -> dict[str, str]:
    """A region viewer of Ningxia (640000); tenant A lies in Yinchuan (640104), B in Beijing."""
    root, api = world.api.as_admin(), world.api
    api.ok("PATCH", f"/api/v1/tenants/{world.a.id}", root, json={"region": "640104"})
    api.ok("PATCH", f"/api/v1/tenants/{world.b.id}", root, json={"region": "110101"})
    body = {"username": "nx-regulator", "password": PASSWORD, "role": "region_viewer"}
    api.ok("POST", "/api/v1/users", root, json={**body, "region": "640000"})
    return {"Authorization": f"Bearer {api.login('nx-regulator')}"}


@pytest.mark.parametrize(("method", "path"), TENANT_ROUTES)
def test_region_viewer_sees_no_tenant(
    world: World, regulator: dict[str, str], method: str, path: str
) -> None:
    status, body = _call(world, method, path, headers=regulator)
    if scope_family(path) == "telemetry":  # refused whatever the tenant: nothing leaks
        assert status == 403, body
        assert "never a tenant's data" in body["error"]["message"]
        return
    assert status == 404, body
    assert body == {"error": {"code": "not_found", "message": "tenant 'acme' not found"}}


@pytest.mark.parametrize(
    ("method", "path"),
    [r for r in ROUTES if r[0] in WRITE and not r[1].startswith(OWN_SESSION)],
)
def test_region_viewer_writes_nothing(
    world: World, regulator: dict[str, str], method: str, path: str
) -> None:
    status, body = _call(world, method, path, headers=regulator)
    assert status in (403, 404), body


def test_region_viewer_reads_only_its_regions_summary(
    world: World, regulator: dict[str, str]
) -> None:
    client = world.api.client
    own = client.get("/api/v1/regions/640000/summary", headers=regulator)
    assert own.status_code == 200, own.text
    assert [t["id"] for t in own.json()["by_tenant"]] == ["acme"]
    below = client.get("/api/v1/regions/640100/summary", headers=regulator)
    assert below.status_code == 200, below.text
    assert [t["id"] for t in below.json()["by_tenant"]] == ["acme"]
    for other in ("110000", "650000"):
        r = client.get(f"/api/v1/regions/{other}/summary", headers=regulator)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["message"] == f"region {other!r} not found"
    # Platform-wide listings are the platform administrator's.
    for url in ("/api/v1/tenants", "/api/v1/users"):
        assert client.get(url, headers=regulator).status_code == 403
    me = client.get("/api/v1/auth/me", headers=regulator).json()
    assert (me["role"], me["tenant"]) == ("region_viewer", None)


def test_tenant_credentials_get_no_region_summary(world: World, regulator: dict[str, str]) -> None:
    url = "/api/v1/regions/640000/summary"
    for name, cred in {
        "admin": {"headers": world.a.admin},
        "viewer": {"headers": world.a.viewer},
        "admin api key": {"headers": world.a.keys["admin"]},
        "device": {"auth": world.a.device_auth},
    }.items():
        r = world.api.client.get(url, **cred)
        assert r.status_code == 403, f"{name}: {r.status_code} {r.text}"
    assert world.api.client.get(url, headers=world.api.as_admin()).status_code == 200


REGION_ROUTES = [r for r in ROUTES if r[1].startswith("/api/v1/regions/{region}/")]
REGION_MANAGED = [
    r
    for r in REGION_ROUTES
    if r[0] in WRITE or r[1].split("/")[5] in ("applications", "credit", "experts", "reviews")
]


@pytest.mark.parametrize(("method", "path"), REGION_ROUTES)
def test_region_viewer_stays_in_its_region(
    world: World, regulator: dict[str, str], method: str, path: str
) -> None:
    """Another region does not exist for it; in its own it reads aggregates, and managing
    (plans, schemes, applications, credit, experts) needs the region's administration."""
    status, body = _call(world, method, path, headers=regulator, region="110000")
    assert status == 404, body
    status, body = _call(world, method, path, headers=regulator)
    if (method, path) in REGION_MANAGED:
        assert status == 403, body
    else:
        assert status not in (401, 403), body
        assert status < 500, body


@pytest.mark.parametrize(("method", "path"), REGION_ROUTES)
def test_tenant_credentials_get_no_region_view(world: World, method: str, path: str) -> None:
    for cred in (world.a.admin, world.a.keys["admin"]):
        status, body = _call(world, method, path, headers=cred)
        assert status == 403, body
