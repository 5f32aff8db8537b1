"""Remote commands to a device: checked against its thing model's services, then sent by the
command service (over MQTT, to the device or its gateway) and answered with success, failure
or timeout. Every one is audited: a refusal here, a command that passes with its outcome."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import sqlalchemy as sa

from helan.connect.commands.checks import check_params, find_service
from helan.connect.commands.service import CommandService
from helan.core.errors import HelanError, NotFound, StorageUnavailable, ValidationFailed
from helan.protocol.commands import Scalar
from helan.security.audit import record
from helan.security.principal import Principal
from helan.services.paging import Listing, PageRequest
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Command, Device, DeviceType

MAX_TIMEOUT_S = 300.0


def _checked(
    meta: MetaStore,
    principal: Principal,
    tenant: str,
    device: str,
    service: str,
    params: Mapping[str, Scalar],
) -> dict[str, Scalar]:
    """The params once device, service and values pass; a refusal is audited here."""
    try:
        with meta.session() as s:
            row = s.get(Device, (tenant, device))
            if row is None:
                raise NotFound(f"device {device!r} not found")
            dtype = row.device_type_id
            model = s.get(DeviceType, (tenant, dtype)) if dtype else None
            spec = find_service(model.services if model else [], service, dtype)
            return check_params(spec, params)
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
                detail={"service": service, "message": exc.message[:200]},
            )
        raise


async def send_command(
    meta: MetaStore,
    commands: CommandService | None,
    principal: Principal,
    tenant: str,
    device: str,
    *,
    service: str,
    params: Mapping[str, Scalar],
    timeout_s: float = 10.0,
) -> Command:
    """Send and wait up to ``timeout_s`` (at most 300 s) for the outcome; the command expires
    then and is refused later. ``commands`` None (a platform without MQTT): StorageUnavailable,
    after the checks."""
    if not 0 < timeout_s <= MAX_TIMEOUT_S:
        raise ValidationFailed(f"timeout_s must be above 0 and at most {MAX_TIMEOUT_S:g}")
    checked = await asyncio.to_thread(_checked, meta, principal, tenant, device, service, params)
    if commands is None:
        raise StorageUnavailable("commands are not available: the platform runs without MQTT")
    return await commands.send(
        principal=principal,
        tenant=tenant,
        device=device,
        service=service,
        params=checked,
        timeout_s=timeout_s,
    )


def list_commands(
    meta: MetaStore, tenant: str, device: str, paging: PageRequest
) -> Listing[Command]:
    """Newest first (``paging.sort`` is not used)."""
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
    return Listing(rows=list(rows), total=total)


def get_command(meta: MetaStore, tenant: str, device: str, command_id: str) -> Command:
    with meta.session() as s:
        row = s.get(Command, (tenant, command_id))
        if row is None or row.device_id != device:
            raise NotFound(f"command {command_id!r} not found")
        return row
