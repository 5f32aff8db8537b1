"""Remote commands to a device: checked against its thing model's services, sent over MQTT to
the device or its gateway, answered with success, failure or timeout; every one audited."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path
from pydantic import Field
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Meta, Paging, Reader, Writer, get_platform
from helan.api.schemas.common import Input, MetricName, Output, Page
from helan.connect.commands.checks import check_params, find_service
from helan.connect.commands.service import effective_status
from helan.core.errors import HelanError, NotFound, StorageUnavailable
from helan.platform import Platform
from helan.protocol.commands import Scalar
from helan.security.audit import record
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Command, Device, DeviceType

router = APIRouter(prefix="/api/v1/tenants/{tenant}/devices/{device}/commands", tags=["commands"])
PlatformDep = Annotated[Platform, Depends(get_platform)]
CommandId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,32}$")]


class CommandRequest(Input):
    service: MetricName
    params: dict[MetricName, Scalar] = Field(default_factory=dict, max_length=100)
    timeout_s: float = Field(10.0, gt=0, le=300, description="How long to wait for the reply.")


class CommandOut(Output):
    id: str
    device: str
    service: str
    params: dict[str, Scalar]
    status: str = Field(description="pending, success, failure or timeout")
    reason: str | None = Field(description="executed, refused, expired, replay, write_failed...")
    message: str | None
    requested_by: str
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None


def _out(row: Command) -> CommandOut:
    return CommandOut(
        id=row.id,
        device=row.device_id,
        service=row.service,
        params=row.params,
        status=effective_status(row),
        reason=row.reason,
        message=row.message,
        requested_by=row.requested_by,
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
    )


def _checked(
    meta: MetaStore, principal: Principal, tenant: str, device: str, body: CommandRequest
) -> dict[str, Scalar]:
    """The params once device, service and values pass. A refusal is audited here; a command
    that passes is audited with its outcome."""
    try:
        with meta.session() as s:
            row = s.get(Device, (tenant, device))
            if row is None:
                raise NotFound(f"device {device!r} not found")
            dtype = row.device_type_id
            model = s.get(DeviceType, (tenant, dtype)) if dtype else None
            service = find_service(model.services if model else [], body.service, dtype)
            return check_params(service, body.params)
    except HelanError as exc:
        with meta.session() as s:
            record(
                s,
                actor_kind=principal.kind,
                actor=principal.subject,
                tenant=tenant,
                action="device.command",
                object_type="device",
                object_id=device,
                result=exc.code,
                detail={"service": body.service, "message": exc.message[:200]},
            )
        raise


@router.post("", summary="Send a command and wait for its outcome")
async def send_command(
    tenant: str,
    device: str,
    body: CommandRequest,
    principal: Writer,
    meta: Meta,
    platform: PlatformDep,
) -> CommandOut:
    """200 with ``status`` success, failure (the gateway refused or the write failed) or
    timeout (no reply within ``timeout_s``; the command expires then and is refused later)."""
    params = await run_in_threadpool(_checked, meta, principal, tenant, device, body)
    if platform.commands is None:
        raise StorageUnavailable("commands are not available: the platform runs without MQTT")
    row = await platform.commands.send(
        principal=principal,
        tenant=tenant,
        device=device,
        service=body.service,
        params=params,
        timeout_s=body.timeout_s,
    )
    return _out(row)


@router.get("", summary="The device's commands, newest first")
def list_commands(
    tenant: str, device: str, _: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[CommandOut]:
    where = sa.and_(Command.tenant_id == tenant, Command.device_id == device)
    with meta.session() as s:
        if s.get(Device, (tenant, device)) is None:
            raise NotFound(f"device {device!r} not found")
        total = s.scalar(sa.select(sa.func.count()).select_from(Command).where(where)) or 0
        rows = s.scalars(
            sa.select(Command)
            .where(where)
            .order_by(Command.created_at.desc(), Command.id)
            .limit(paging.limit)
            .offset(paging.offset)
        ).all()
        items = [_out(r) for r in rows]
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/{command_id}", summary="One command and its outcome")
def get_command(
    tenant: str, device: str, command_id: CommandId, _: Reader, meta: Meta
) -> CommandOut:
    with meta.session() as s:
        row = s.get(Command, (tenant, command_id))
        if row is None or row.device_id != device:
            raise NotFound(f"command {command_id!r} not found")
        return _out(row)
