"""Notification channels (tenant administrators write, members read), the deliveries of the
outbox, the dead letters and their retry. The rules are :mod:`helan.rules.notify.service`'s;
this router only shapes them for HTTP."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from helan.api.deps import Admin, Meta, Paging, Reader, Writer, get_platform
from helan.api.schemas.common import Page
from helan.api.schemas.notifications import ChannelCreate, ChannelIn, ChannelOut, DeliveryOut
from helan.core.errors import ValidationFailed
from helan.rules.notify import service
from helan.rules.notify.configs import public_config
from helan.storage.meta.models_notify import NotificationChannel, NotificationDelivery

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["notifications"])


def _channel(row: NotificationChannel) -> ChannelOut:
    return ChannelOut(
        id=row.id,
        name=row.name,
        kind=row.kind,
        config=public_config(row.kind, row.config),
        enabled=row.enabled,
        rate_per_minute=row.rate_per_minute,
        quiet_hours=row.quiet_hours,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _delivery(row: NotificationDelivery) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        key=row.key,
        channel=row.channel_id,
        alarm_id=row.alarm_id,
        purpose=row.purpose,
        severity=row.severity,
        status=row.status,
        attempts=row.attempts,
        next_attempt_ms=row.next_attempt_ms,
        last_error=row.last_error,
        note=row.note,
        created_ms=row.created_ms,
        committed_ms=row.committed_ms,
        sent_ms=row.sent_ms,
        retried_ms=row.retried_ms,
        notice=row.notice,
    )


def _input(body: ChannelIn) -> service.ChannelInput:
    return service.ChannelInput(
        name=body.name,
        kind=body.kind,
        config=body.config,
        enabled=body.enabled,
        rate_per_minute=body.rate_per_minute,
        quiet_hours=body.quiet_hours.model_dump() if body.quiet_hours else None,
    )


def _in_body(exc: ValidationFailed) -> ValidationFailed:
    """The service names fields of the channel; the API names them in the request body."""
    if exc.details:
        exc.details = [{**d, "loc": ["body", *d.get("loc", [])]} for d in exc.details]
    return exc


@router.get("/notification-channels")
def list_channels(
    tenant: str, _: Reader, meta: Meta, paging: Annotated[Paging, Depends()]
) -> Page[ChannelOut]:
    found = service.list_channels(meta, tenant, paging)
    items = [_channel(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("/notification-channels", status_code=201)
def create_channel(
    tenant: str, body: ChannelCreate, principal: Admin, meta: Meta, request: Request
) -> ChannelOut:
    """422 naming the field (``body.config.url`` ...) on a bad config, or a URL outside the
    outbound allow-list."""
    settings = get_platform(request).settings
    try:
        row = service.create_channel(
            meta, settings, tenant, _input(body), principal, channel=body.id
        )
    except ValidationFailed as exc:
        raise _in_body(exc) from None
    return _channel(row)


@router.get("/notification-channels/{channel}")
def get_channel(tenant: str, channel: str, _: Reader, meta: Meta) -> ChannelOut:
    return _channel(service.get_channel(meta, tenant, channel))


@router.put("/notification-channels/{channel}")
def replace_channel(
    tenant: str, channel: str, body: ChannelIn, principal: Admin, meta: Meta, request: Request
) -> ChannelOut:
    """Secrets left out of ``config`` are kept (the API never shows them)."""
    settings = get_platform(request).settings
    try:
        row = service.update_channel(meta, settings, tenant, channel, _input(body), principal)
    except ValidationFailed as exc:
        raise _in_body(exc) from None
    return _channel(row)


@router.delete("/notification-channels/{channel}", status_code=204)
def delete_channel(tenant: str, channel: str, principal: Admin, meta: Meta) -> Response:
    service.delete_channel(meta, tenant, channel, principal)
    return Response(status_code=204)


@router.post("/notification-channels/{channel}:test")
async def test_channel(
    tenant: str, channel: str, principal: Admin, meta: Meta, request: Request
) -> DeliveryOut:
    """Send a test notice through the real delivery path and answer with its delivery:
    ``sent``, or ``dead`` with the receiver's error (a test is not retried)."""
    platform = get_platform(request)
    row = await service.send_test(
        meta, platform.settings, platform.commands, tenant, channel, principal
    )
    return _delivery(row)


@router.get("/notifications/deliveries")
def list_deliveries(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    status: Annotated[
        str | None, Query(description="pending | sent | dead | suppressed", max_length=16)
    ] = None,
    channel: Annotated[str | None, Query(max_length=64)] = None,
    alarm: Annotated[str | None, Query(max_length=200)] = None,
) -> Page[DeliveryOut]:
    """Newest first."""
    found = service.list_deliveries(
        meta, tenant, paging, status=status, channel=channel, alarm=alarm
    )
    items = [_delivery(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.get("/notifications/dead-letters")
def dead_letters(
    tenant: str,
    _: Reader,
    meta: Meta,
    paging: Annotated[Paging, Depends()],
    channel: Annotated[str | None, Query(max_length=64)] = None,
) -> Page[DeliveryOut]:
    """Deliveries given up on, newest first; each can be sent again with ``:retry``."""
    found = service.list_deliveries(meta, tenant, paging, status="dead", channel=channel)
    items = [_delivery(r) for r in found.rows]
    return Page(items=items, total=found.total, limit=paging.limit, offset=paging.offset)


@router.post("/notifications/deliveries/{delivery}:retry")
def retry_delivery(tenant: str, delivery: int, principal: Writer, meta: Meta) -> DeliveryOut:
    """A dead or rate-suppressed delivery back in the queue (409 for any other)."""
    return _delivery(service.retry_delivery(meta, tenant, delivery, principal))
