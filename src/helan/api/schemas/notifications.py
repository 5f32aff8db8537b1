"""Notification channels and deliveries over the API. A channel's ``config`` is plain JSON
here and checked per kind by :mod:`helan.rules.notify.configs` (each bad field named as
``config.<field>``); secrets in it are write-only and never come back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from helan.api.schemas.common import Input, Name, Output
from helan.rules.notify.limits import MAX_RATE, QuietHours

ChannelKind = Literal["webhook", "email", "wecom", "dingtalk", "mqtt", "command"]
ChannelId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")]
CONFIG_DOC = (
    "webhook: {url, secret (16+ chars, HMAC-SHA256)}; email: {recipients}; wecom: {url}; "
    "dingtalk: {url, secret?}; mqtt: {topic (template: {tenant} {device} {rule_id} "
    "{alarm_id} {kind} {severity}), qos 0|1}; command: {device, command, params, timeout_s}. "
    "On replace, a secret left out is kept."
)


class ChannelIn(Input):
    name: Name
    kind: ChannelKind
    config: dict[str, Any] = Field(description=CONFIG_DOC)
    enabled: bool = True
    rate_per_minute: Annotated[int, Field(ge=1, le=MAX_RATE)] | None = Field(
        None, description="At most this many notices per minute; the rest are summarised"
    )
    quiet_hours: QuietHours | None = None


class ChannelCreate(ChannelIn):
    id: ChannelId | None = None


class ChannelOut(Output):
    id: str
    name: str
    kind: str
    config: dict[str, Any] = Field(description="Without secrets (secret_set says if one is)")
    enabled: bool
    rate_per_minute: int | None
    quiet_hours: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class DeliveryOut(Output):
    id: int
    key: str = Field(description="The Idempotency-Key receivers see")
    channel: str
    alarm_id: str
    purpose: str = Field(description="notice | summary | test")
    severity: str
    status: str = Field(description="pending | sent | dead | suppressed")
    attempts: int
    next_attempt_ms: int
    last_error: str | None
    note: str | None
    created_ms: int
    committed_ms: int
    sent_ms: int | None
    retried_ms: int | None
    notice: dict[str, Any]
