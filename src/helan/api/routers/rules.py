"""Rules: list, create, read, save (naming the version the edit started from), delete, versions,
validate and backtest without saving, export and import as YAML or JSON. The rules are
:mod:`helan.rules.store`'s; this router only shapes them for HTTP."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Meta, Paging, Reader, Writer
from helan.api.schemas.common import Page
from helan.core.errors import PayloadTooLarge, ValidationFailed
from helan.rules import store
from helan.rules.backtest import backtest
from helan.rules.checks import target_devices
from helan.storage.meta.events import EventStore
from helan.storage.meta.models_rules import Rule

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["rules"])
MAX_DOCUMENT = 4 << 20


class RuleOut(BaseModel):
    id: str
    name: str
    enabled: bool
    version: int
    spec: dict[str, Any]
    updated_by: str
    created_at: datetime
    updated_at: datetime


class RuleVersionOut(BaseModel):
    version: int
    spec: dict[str, Any]
    saved_by: str
    saved_at: datetime


class ChangeOut(BaseModel):
    device: str
    active: bool
    ts_ms: int
    message: str
    values: dict[str, float | bool | str | None]


class BacktestIn(BaseModel):
    rule: dict[str, Any] = Field(description="A rule as it would be saved (RuleSpec).")
    hours: float | None = Field(default=24, gt=0, le=168, description="The last N hours ...")
    start_ms: int | None = Field(default=None, description="... or an explicit range.")
    end_ms: int | None = None


class BacktestOut(BaseModel):
    start_ms: int
    end_ms: int
    devices: int
    points: int
    events: int
    raised: int
    cleared: int
    active_ms: dict[str, int]
    changes: list[ChangeOut]
    truncated: bool


class ImportOut(BaseModel):
    imported: list[str]


def _out(row: Rule) -> RuleOut:
    return RuleOut(
        id=row.id,
        name=row.name,
        enabled=row.enabled,
        version=row.version,
        spec=row.spec,
        updated_by=row.updated_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _nudge(request: Request) -> None:
    """This process's engine reloads now rather than at its next revision check."""
    engine = getattr(request.app.state.platform, "rules", None)
    if engine is not None:
        engine.revision = ()


@router.get("/rules")
def list_rules(
    tenant: str,
    principal: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    enabled: bool | None = None,
) -> Page[RuleOut]:
    found = store.list_rules(meta, tenant, paging, enabled=enabled)
    return Page(
        items=[_out(r) for r in found.rows],
        total=found.total,
        limit=paging.limit,
        offset=paging.offset,
    )


@router.post("/rules", status_code=201)
def create_rule(
    tenant: str,
    request: Request,
    principal: Writer,
    meta: Meta,
    body: Annotated[dict[str, Any], Body(description="A RuleSpec with its ``id``.")],
) -> RuleOut:
    data = dict(body)
    rule_id = data.pop("id", None)
    if not isinstance(rule_id, str):
        raise ValidationFailed(
            "a new rule needs an id",
            details=[{"loc": ["body", "id"], "message": "field required", "type": "missing"}],
        )
    row = store.save_rule(meta, tenant, rule_id, data, principal, create_only=True)
    _nudge(request)
    return _out(row)


@router.get("/rules:export", response_model=None)
def export_rules(
    tenant: str, principal: Reader, meta: Meta, format: Literal["yaml", "json"] = "yaml"
) -> Response:
    doc = store.export_rules(meta, tenant, format)
    headers = {"Content-Disposition": f'attachment; filename="rules-{tenant}.{format}"'}
    if isinstance(doc, str):
        return PlainTextResponse(doc, media_type="application/yaml", headers=headers)
    return JSONResponse(doc, headers=headers)


@router.post("/rules:import")
async def import_rules(
    tenant: str,
    request: Request,
    principal: Writer,
    meta: Meta,
    replace: Annotated[
        bool, Query(description="Delete the tenant's rules not in the document.")
    ] = False,
) -> ImportOut:
    """A document from ``rules:export`` (YAML or JSON body); all of it or nothing."""
    raw = await request.body()
    if len(raw) > MAX_DOCUMENT:
        raise PayloadTooLarge(f"a rules document holds at most {MAX_DOCUMENT >> 20} MiB")

    def parse_and_import() -> list[str]:  # parsing a large document takes a while: not here
        doc = store.parse_document(raw)
        return store.import_rules(meta, tenant, doc, principal, replace=replace)

    imported = await run_in_threadpool(parse_and_import)
    _nudge(request)
    return ImportOut(imported=imported)


@router.post("/rules:validate")
def validate_rule(
    tenant: str, principal: Writer, meta: Meta, body: Annotated[dict[str, Any], Body()]
) -> dict[str, Any]:
    """Check a rule as a save would, without saving: 200 with the devices it covers, or 422.
    An editor's tool, so it needs the right to write rules (as backtest does)."""
    spec = store.validate_rule(meta, tenant, {k: v for k, v in body.items() if k != "id"})
    with meta.session() as s:
        devices = sorted(d for d, _ in target_devices(s, tenant, spec))
    return {"valid": True, "devices": devices[:1000], "device_count": len(devices)}


@router.post("/rules:backtest")
def backtest_rule(
    tenant: str, request: Request, principal: Writer, meta: Meta, body: BacktestIn
) -> BacktestOut:
    """What the rule would have raised over the last 24 h / 7 d (or a range), from stored
    data; nothing is saved and nobody is notified. Writers only: it can read 7 days of data."""
    spec = store.validate_rule(meta, tenant, {k: v for k, v in body.rule.items() if k != "id"})
    if body.start_ms is not None and body.end_ms is not None:
        start, end = body.start_ms, body.end_ms
    else:
        end = int(time.time() * 1000)
        start = end - int((body.hours or 24) * 3600_000)
    with meta.session() as s:
        devices = frozenset(d for d, _ in target_devices(s, tenant, spec))
    platform = request.app.state.platform
    result = backtest(
        tenant=tenant,
        spec=spec,
        devices=devices,
        telemetry=platform.telemetry,
        events=EventStore(meta),
        start_ms=start,
        end_ms=end,
    )
    return BacktestOut(
        start_ms=result.start_ms,
        end_ms=result.end_ms,
        devices=result.devices,
        points=result.points,
        events=result.events,
        raised=result.raised,
        cleared=result.cleared,
        active_ms=result.active_ms,
        changes=[
            ChangeOut(
                device=c.device, active=c.active, ts_ms=c.ts_ms, message=c.message, values=c.values
            )
            for c in result.changes
        ],
        truncated=result.truncated,
    )


@router.get("/rules/{rule_id}")
def get_rule(tenant: str, rule_id: str, principal: Reader, meta: Meta) -> RuleOut:
    return _out(store.get_rule(meta, tenant, rule_id))


@router.put("/rules/{rule_id}")
def save_rule(
    tenant: str,
    rule_id: str,
    request: Request,
    principal: Writer,
    meta: Meta,
    body: Annotated[dict[str, Any], Body()],
    version: Annotated[int | None, Query(description="The version the edit started from.")] = None,
) -> RuleOut:
    """Create or replace; with ``version``, refused (409) when someone saved since."""
    data = {k: v for k, v in body.items() if k != "id"}
    row = store.save_rule(meta, tenant, rule_id, data, principal, expected_version=version)
    _nudge(request)
    return _out(row)


@router.delete("/rules/{rule_id}", status_code=204)
def delete_rule(
    tenant: str, rule_id: str, request: Request, principal: Writer, meta: Meta
) -> Response:
    store.delete_rule(meta, tenant, rule_id, principal)
    _nudge(request)
    return Response(status_code=204)


@router.get("/rules/{rule_id}/versions")
def rule_versions(tenant: str, rule_id: str, principal: Reader, meta: Meta) -> list[RuleVersionOut]:
    return [
        RuleVersionOut(version=v.version, spec=v.spec, saved_by=v.saved_by, saved_at=v.saved_at)
        for v in store.rule_versions(meta, tenant, rule_id)
    ]
