"""Metadata tables: enterprises, people and keys that act for them, thing models, devices, assets.

Natural keys (tenant slug, device id) are the primary keys because they are what appears in
topics, URLs and telemetry rows; every tenant-owned table leads with ``tenant_id`` so a query
that forgets the tenant cannot use an index by accident and stands out in review.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite hands back naive ones otherwise)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: sa.JSON,
        list[Any]: sa.JSON,
    }


class Tenant(Base):
    __tablename__ = "tenants"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    uscc: Mapped[str | None] = mapped_column(sa.String(18), unique=True)
    industry: Mapped[str | None] = mapped_column(sa.String(100))
    # GB/T 4754-2017 section (A-T) or division (01-97): what the regional view groups by.
    industry_code: Mapped[str | None] = mapped_column(sa.String(2))
    region: Mapped[str | None] = mapped_column(sa.String(6))
    status: Mapped[str] = mapped_column(sa.String(16), default="active")
    retention_days: Mapped[int] = mapped_column(default=365)
    allow_auto_create: Mapped[bool] = mapped_column(default=False)
    # Enterprise identifier prefix (88.118.100): its devices get identifiers under it, served
    # by the platform's identifier node. Set by platform administrators only.
    ident_prefix: Mapped[str | None] = mapped_column(sa.String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class User(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tenant_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[str] = mapped_column(sa.String(32))
    # A region viewer's administrative division (GB/T 2260, six digits); None for every other
    # role. It sees aggregates of the tenants in that division and the divisions below it.
    region: Mapped[str | None] = mapped_column(sa.String(6))
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    disabled: Mapped[bool] = mapped_column(default=False)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RefreshToken(Base):
    """A refresh token (stored as its SHA-256); ``family`` ties rotated tokens together so a
    replayed, already-rotated token revokes the whole chain."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    username: Mapped[str] = mapped_column(
        sa.ForeignKey("users.username", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    family: Mapped[str] = mapped_column(sa.String(32), index=True)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16))
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(default=list)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceType(Base):
    """A thing model: properties (metrics), events and services (commands), kept as documents."""

    __tablename__ = "device_types"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.String(2000))
    properties: Mapped[list[Any]] = mapped_column(default=list)
    events: Mapped[list[Any]] = mapped_column(default=list)
    services: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Asset(Base):
    """A node of the plant tree (site → line → cell); devices hang off any node."""

    __tablename__ = "assets"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "parent_id"], ["assets.tenant_id", "assets.id"], ondelete="RESTRICT"
        ),
    )

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))
    parent_id: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Device(Base):
    __tablename__ = "devices"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["tenant_id", "device_type_id"],
            ["device_types.tenant_id", "device_types.id"],
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "asset_id"], ["assets.tenant_id", "assets.id"], ondelete="RESTRICT"
        ),
        # No ON DELETE action: the API refuses to delete a gateway that still has devices, and
        # a tenant's cascade removes gateway and children in one statement.
        sa.ForeignKeyConstraint(
            ["tenant_id", "gateway_id"],
            ["devices.tenant_id", "devices.id"],
            name="fk_devices_gateway",
        ),
        sa.Index("ix_devices_tenant_type", "tenant_id", "device_type_id"),
        sa.Index("ix_devices_tenant_asset", "tenant_id", "asset_id"),
        sa.Index("ix_devices_tenant_gateway", "tenant_id", "gateway_id"),
    )

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    device_type_id: Mapped[str | None] = mapped_column(sa.String(64))
    asset_id: Mapped[str | None] = mapped_column(sa.String(64))
    # The device that connects on this one's behalf (an edge gateway): its credential may publish
    # and take commands for this device too. One level only: a gateway has no gateway.
    gateway_id: Mapped[str | None] = mapped_column(sa.String(64))
    vendor: Mapped[str | None] = mapped_column(sa.String(200))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    firmware: Mapped[str | None] = mapped_column(sa.String(100))
    location: Mapped[str | None] = mapped_column(sa.String(200))
    identifier: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    credential_hash: Mapped[str] = mapped_column(sa.String(64))
    # The same secret as Mosquitto's PBKDF2-SHA512 "$7$" hash, made when it is issued or rotated
    # (the only moment the plaintext exists) for the generated password file. None: issued
    # before migration 0006, or never handed out (Sparkplug devices created from births).
    broker_hash: Mapped[str | None] = mapped_column(sa.String(255))
    credential_rotated_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AuditEntry(Base):
    """Who did what to which object, and whether it worked. No foreign keys: the trail outlives
    the objects it mentions."""

    __tablename__ = "audit_log"
    __table_args__ = (sa.Index("ix_audit_tenant_at", "tenant_id", "at"),)

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    tenant_id: Mapped[str | None] = mapped_column(sa.String(32))
    actor_kind: Mapped[str] = mapped_column(sa.String(16))
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(64))
    object_type: Mapped[str] = mapped_column(sa.String(32))
    object_id: Mapped[str | None] = mapped_column(sa.String(200))
    result: Mapped[str] = mapped_column(sa.String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # The tamper-evident chain (helan.security.audit): position, predecessor's and own SM3 hash.
    # NULL only on records older than the chain, which the first append chains.
    seq: Mapped[int | None] = mapped_column(sa.BigInteger, unique=True)
    prev_hash: Mapped[str | None] = mapped_column(sa.String(64))
    hash: Mapped[str | None] = mapped_column(sa.String(64))


class Command(Base):
    """A remote command to a device and its outcome (pending, success, failure, timeout)."""

    __tablename__ = "commands"
    __table_args__ = (
        sa.Index("ix_commands_tenant_device", "tenant_id", "device_id", "created_at"),
    )

    tenant_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    device_id: Mapped[str] = mapped_column(sa.String(64))
    service: Mapped[str] = mapped_column(sa.String(64))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(sa.String(32))
    message: Mapped[str | None] = mapped_column(sa.String(500))
    requested_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]


class SparkplugBirth(Base):
    """The last birth certificate of a Sparkplug edge node (``device`` empty) or of one of its
    devices: what the host needs to decode DATA that the broker queued while it was down."""

    __tablename__ = "sparkplug_births"

    tenant_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    edge_node: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    device: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    bdseq: Mapped[int | None] = mapped_column(sa.BigInteger)
    helan_commands: Mapped[bool] = mapped_column(default=False)
    metrics: Mapped[list[Any]] = mapped_column(default=list)  # [name, alias | None, datatype]
    born_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeviceEvent(Base):
    """An event a device raised, as validated at ingest; ``level`` is copied from the thing model
    then, so a later change of the model does not rewrite history. (tenant, device, event, ts)
    is unique because MQTT QoS 1 redelivers and a redelivered event is the same event. No
    foreign keys: like telemetry, events stay until retention removes them."""

    __tablename__ = "device_events"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "device_id", "event", "ts", name="uq_device_events_key"),
        sa.Index("ix_device_events_tenant_device_ts", "tenant_id", "device_id", "ts"),
    )

    id: Mapped[int] = mapped_column(
        sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True
    )
    tenant_id: Mapped[str] = mapped_column(sa.String(32))
    device_id: Mapped[str] = mapped_column(sa.String(64))
    ts: Mapped[int] = mapped_column(sa.BigInteger)  # epoch ms
    event: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[str] = mapped_column(sa.String(16))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class Product(Base):
    """A produced unit, batch or part that traceability follows. Its identifier shares the
    tenant prefix's handle namespace with devices' (the rules module keeps them apart).

    ``made_by_id`` (the device that made it) has no foreign key: one would make every future
    SQLite rebuild of ``devices`` fail while products point at it; the API checks it instead
    and refuses to delete a device that products name. ``batch_id`` points into this table."""

    __tablename__ = "products"
    __table_args__ = (
        # No ON DELETE action, as for device gateways: the API refuses to delete a batch that
        # still has members, and a tenant's cascade removes batch and members together.
        sa.ForeignKeyConstraint(
            ["tenant_id", "batch_id"],
            ["products.tenant_id", "products.id"],
            name="fk_products_batch",
        ),
        sa.Index("ix_products_tenant_batch", "tenant_id", "batch_id"),
        sa.Index("ix_products_tenant_made_by", "tenant_id", "made_by_id"),
        sa.Index("ix_products_tenant_kind", "tenant_id", "kind"),
    )

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    model: Mapped[str | None] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))  # unit | batch | part
    batch_id: Mapped[str | None] = mapped_column(sa.String(64))
    made_by_id: Mapped[str | None] = mapped_column(sa.String(64))
    produced_at: Mapped[datetime | None]
    identifier: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AppInstall(Base):
    """An app a tenant has installed: the app manager gives an app's SDK only the tenants with
    a row here (and ``enabled``). The app's id is its entry-point name, not a foreign key: an
    uninstalled package leaves its rows, and reinstalling it finds its tenants again."""

    __tablename__ = "app_installs"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    app_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    enabled: Mapped[bool] = mapped_column(default=True)
    installed_at: Mapped[datetime] = mapped_column(default=utcnow)
