"""Notification channels (create, read, replace, delete, test) and the outbox as operators see
it (deliveries, dead letters, retry). The API router only shapes these for HTTP.

A channel is checked whole before it is stored: its kind's config (pydantic, each bad field
named), its URL against the outbound allow-list, a command channel's device and command
against the tenant's thing model, its rate limit and quiet hours. Secrets are write-only: a
replace that leaves one out keeps the stored one. Every change is audited.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import ValidationError

from helan.config import Settings
from helan.connect.commands.checks import check_params, find_service
from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.rules.notify.allowlist import Resolver, check_url, system_resolver
from helan.rules.notify.configs import (
    Kind,
    merge_secrets,
    open_config,
    parse_config,
    seal_config,
    stored_config,
)
from helan.rules.notify.delivery import Delivery
from helan.rules.notify.limits import MAX_RATE, QuietHours
from helan.rules.notify.outbox import delivery_row, insert_ignoring_duplicates, now_ms
from helan.security.audit import audited
from helan.security.crypto.seal import Sealer
from helan.security.principal import Principal
from helan.services.fields import name as check_name
from helan.services.paging import Listing, PageRequest, listing
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, DeviceType
from helan.storage.meta.models_notify import NotificationChannel, NotificationDelivery

if TYPE_CHECKING:
    from helan.connect.commands.service import CommandService

# Like a device id, without ':' (the delivery key joins the notice key and the channel with it,
# and ``/notification-channels/{id}:test`` must stay unambiguous).
CHANNEL_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
URL_KINDS = frozenset({Kind.WEBHOOK, Kind.WECOM, Kind.DINGTALK})
RETRYABLE = frozenset({"dead", "suppressed"})
STATUSES = frozenset({"pending", "sent", "dead", "suppressed"})
SORT = {"id": NotificationChannel.id, "name": NotificationChannel.name}
DELIVERY_SORT = {"id": NotificationDelivery.id, "created_ms": NotificationDelivery.created_ms}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelInput:
    name: str
    kind: str
    config: dict[str, Any]
    enabled: bool = True
    rate_per_minute: int | None = None
    quiet_hours: dict[str, Any] | None = None


def _fail(loc: list[str], message: str, kind: str = "value_error") -> ValidationFailed:
    return ValidationFailed(
        f"{'.'.join(loc)}: {message}", details=[{"loc": loc, "message": message, "type": kind}]
    )


def channel_id(value: str) -> str:
    if not CHANNEL_ID.match(value):
        raise _fail(["id"], "must be 1-64 letters, digits, '_', '.' or '-' (not first)")
    return value


def _check_command(meta: MetaStore, tenant: str, config: dict[str, Any]) -> None:
    """The device and its command exist in this tenant and the params fit the thing model."""
    with meta.session() as s:
        device = s.get(Device, (tenant, config["device"]))
        if device is None:
            raise _fail(["config", "device"], f"device {config['device']!r} not found")
        dtype = device.device_type_id
        model = s.get(DeviceType, (tenant, dtype)) if dtype else None
    try:
        spec = find_service(model.services if model else [], config["command"], dtype)
    except ValidationFailed as exc:
        raise _fail(["config", "command"], exc.message) from None
    try:
        check_params(spec, config["params"])
    except ValidationFailed as exc:
        raise _fail(["config", "params"], exc.message) from None


def check_channel(
    meta: MetaStore,
    settings: Settings,
    tenant: str,
    data: ChannelInput,
    *,
    old_config: dict[str, Any] | None = None,
    resolve: Resolver = system_resolver,
) -> dict[str, Any]:
    """The config to store, once the whole channel passes; ValidationFailed names the field."""
    try:
        check_name(data.name)
    except ValidationFailed as exc:
        raise _fail(["name"], exc.message) from None
    raw = merge_secrets(data.kind, data.config, old_config) if old_config else data.config
    config = stored_config(parse_config(data.kind, raw))
    if data.kind in URL_KINDS:
        check_url(config["url"], settings.notify_allowed_hosts, resolve=resolve)
    if data.kind == Kind.COMMAND:
        _check_command(meta, tenant, config)
    if data.rate_per_minute is not None and not 1 <= data.rate_per_minute <= MAX_RATE:
        raise _fail(["rate_per_minute"], f"must be 1 to {MAX_RATE} (or null: no limit)")
    if data.quiet_hours is not None:
        try:
            QuietHours.model_validate(data.quiet_hours)
        except ValidationError as exc:
            details = [
                {
                    "loc": ["quiet_hours", *map(str, e["loc"])],
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors()
            ]
            message = "; ".join(f"{'.'.join(d['loc'])}: {d['message']}" for d in details)
            raise ValidationFailed(message, details=details) from None
    return seal_config(data.kind, config, Sealer.from_settings(settings))


def reseal_channels(meta: MetaStore, sealer: Sealer) -> int:
    """Seal every channel's secrets under ``sealer``'s current key (plain ones from before
    sealing included): the step of a key rotation. Returns the channels rewritten."""
    changed = 0
    with meta.session() as s:
        for row in s.scalars(sa.select(NotificationChannel).with_for_update()):
            config = seal_config(row.kind, open_config(dict(row.config), sealer), sealer)
            if config != row.config:
                row.config, changed = config, changed + 1
    return changed


def _quiet(data: ChannelInput) -> dict[str, Any] | None:
    if data.quiet_hours is None:
        return None
    return QuietHours.model_validate(data.quiet_hours).model_dump()


def list_channels(
    meta: MetaStore, tenant: str, paging: PageRequest
) -> Listing[NotificationChannel]:
    stmt = sa.select(NotificationChannel).where(NotificationChannel.tenant_id == tenant)
    return listing(meta, stmt, paging, sort=SORT, default="id", tiebreak=[NotificationChannel.id])


def get_channel(meta: MetaStore, tenant: str, channel: str) -> NotificationChannel:
    with meta.session() as s:
        row = s.get(NotificationChannel, (tenant, channel))
        if row is None:
            raise NotFound(f"notification channel {channel!r} not found")
        return row


def create_channel(
    meta: MetaStore,
    settings: Settings,
    tenant: str,
    data: ChannelInput,
    principal: Principal,
    *,
    channel: str | None = None,
    resolve: Resolver = system_resolver,
) -> NotificationChannel:
    key = channel_id(channel) if channel else uuid.uuid4().hex[:12]
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="notification_channel.create",
        object_type="notification_channel",
        object_id=key,
        detail={"kind": data.kind},
    ) as s:
        config = check_channel(meta, settings, tenant, data, resolve=resolve)
        if s.get(NotificationChannel, (tenant, key)) is not None:
            raise Conflict(f"notification channel {key!r} already exists")
        row = NotificationChannel(
            tenant_id=tenant,
            id=key,
            name=data.name,
            kind=data.kind,
            config=config,
            enabled=data.enabled,
            rate_per_minute=data.rate_per_minute,
            quiet_hours=_quiet(data),
        )
        s.add(row)
        s.flush()
        s.refresh(row)
        return row


def update_channel(
    meta: MetaStore,
    settings: Settings,
    tenant: str,
    channel: str,
    data: ChannelInput,
    principal: Principal,
    *,
    resolve: Resolver = system_resolver,
) -> NotificationChannel:
    """Replace the channel; a secret left out is kept (the kind cannot change with it)."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="notification_channel.update",
        object_type="notification_channel",
        object_id=channel,
    ) as s:
        row = s.get(NotificationChannel, (tenant, channel))
        if row is None:
            raise NotFound(f"notification channel {channel!r} not found")
        sealer = Sealer.from_settings(settings)
        old = open_config(dict(row.config), sealer) if row.kind == data.kind else None
        config = check_channel(meta, settings, tenant, data, old_config=old, resolve=resolve)
        row.name, row.kind, row.config = data.name, data.kind, config
        row.enabled, row.rate_per_minute = data.enabled, data.rate_per_minute
        row.quiet_hours = _quiet(data)
        s.flush()
        s.refresh(row)
        return row


def delete_channel(meta: MetaStore, tenant: str, channel: str, principal: Principal) -> None:
    """Pending deliveries of a deleted channel become dead letters when their turn comes."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="notification_channel.delete",
        object_type="notification_channel",
        object_id=channel,
    ) as s:
        row = s.get(NotificationChannel, (tenant, channel))
        if row is None:
            raise NotFound(f"notification channel {channel!r} not found")
        s.delete(row)


def list_deliveries(
    meta: MetaStore,
    tenant: str,
    paging: PageRequest,
    *,
    status: str | None = None,
    channel: str | None = None,
    alarm: str | None = None,
) -> Listing[NotificationDelivery]:
    """Newest first by default."""
    if status is not None and status not in STATUSES:
        raise _fail(["query", "status"], f"must be one of {sorted(STATUSES)}")
    stmt = sa.select(NotificationDelivery).where(NotificationDelivery.tenant_id == tenant)
    if status is not None:
        stmt = stmt.where(NotificationDelivery.status == status)
    if channel is not None:
        stmt = stmt.where(NotificationDelivery.channel_id == channel)
    if alarm is not None:
        stmt = stmt.where(NotificationDelivery.alarm_id == alarm)
    return listing(
        meta, stmt, paging, sort=DELIVERY_SORT, default="-id", tiebreak=[NotificationDelivery.id]
    )


def retry_delivery(
    meta: MetaStore, tenant: str, delivery: int, principal: Principal, *, wake: bool = True
) -> NotificationDelivery:
    """A dead (or rate-suppressed) delivery back in the queue, with fresh attempts."""
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="notification_delivery.retry",
        object_type="notification_delivery",
        object_id=str(delivery),
    ) as s:
        row = s.get(NotificationDelivery, delivery)
        if row is None or row.tenant_id != tenant:
            raise NotFound(f"delivery {delivery} not found")
        if row.status not in RETRYABLE:
            raise Conflict(
                f"delivery {delivery} is {row.status}: only dead or suppressed ones are retried",
                code="not_retryable",
            )
        now = now_ms()
        row.status, row.attempts, row.next_attempt_ms = "pending", 0, now
        row.admitted = True  # an operator's explicit resend is not rate limited again
        row.retried_ms, row.lease_token, row.lease_until_ms = now, None, None
        row.note = f"retried by {principal.kind}:{principal.subject}"[:200]
        s.flush()
        s.refresh(row)
    if wake:
        from helan.rules.notify import wakeup

        wakeup.wake(meta)
    return row


def _insert_test(meta: MetaStore, tenant: str, channel: str, principal: Principal) -> int:
    created = now_ms()
    key = f"test:{channel}:{uuid.uuid4().hex[:12]}"
    notice = {
        "tenant": tenant,
        "alarm_id": "",
        "rule_id": "",
        "device": "",
        "kind": "test",
        "severity": "low",
        "message": "Helan test notification (测试通知)",
        "ts_ms": created,
        "values": {},
    }
    with audited(
        meta,
        principal,
        tenant=tenant,
        action="notification_channel.test",
        object_type="notification_channel",
        object_id=channel,
    ) as s:
        if s.get(NotificationChannel, (tenant, channel)) is None:
            raise NotFound(f"notification channel {channel!r} not found")
        row = delivery_row(
            key=key,
            tenant=tenant,
            channel=channel,
            alarm_id="",
            severity="low",
            notice=notice,
            purpose="test",
            created_ms=created,
        )
        row["admitted"] = True
        insert_ignoring_duplicates(s, [row])
        found = s.scalar(sa.select(NotificationDelivery.id).where(NotificationDelivery.key == key))
        assert found is not None
        return int(found)


def _delivery(meta: MetaStore, delivery: int) -> NotificationDelivery:
    with meta.session() as s:
        row = s.get(NotificationDelivery, delivery)
        if row is None:
            raise NotFound(f"delivery {delivery} not found")
        return row


async def send_test(
    meta: MetaStore,
    settings: Settings,
    commands: CommandService | None,
    tenant: str,
    channel: str,
    principal: Principal,
) -> NotificationDelivery:
    """Send a test notice through the real path (outbox row, claim, send, mark) now and say
    how it went: ``sent``, or ``dead`` with the receiver's error (a test is not retried)."""
    delivery = await asyncio.to_thread(_insert_test, meta, tenant, channel, principal)
    worker = Delivery(meta, settings, commands, name="test")
    try:
        await worker.run_once(ids=[delivery])
    finally:
        await worker.stop()
    return await asyncio.to_thread(_delivery, meta, delivery)
