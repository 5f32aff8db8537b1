"""Tables: imported CSAF advisories (every version kept), the KEV catalog, and the alerts
already raised (one per tenant, device and advisory, so a re-import never alarms twice).

The inventory has no table: it is read from the device directory (see
``helan.security.assets.inventory``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from helan.storage.meta.models import Base, utcnow


class SecurityAdvisory(Base):
    """One version of one advisory (``tracking.id`` + ``tracking.version``); ``latest`` marks
    the version matched against the inventory."""

    __tablename__ = "security_advisories"
    __table_args__ = (sa.Index("ix_security_advisories_latest", "latest", "tracking_id"),)

    tracking_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(50), primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(500))
    publisher: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(16))
    current_release: Mapped[str] = mapped_column(sa.String(40))
    max_cvss: Mapped[float | None] = mapped_column(sa.Float)
    cves: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    digest: Mapped[str] = mapped_column(sa.String(64))
    source: Mapped[str] = mapped_column(sa.String(500))
    document: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    latest: Mapped[bool] = mapped_column(default=True)
    imported_by: Mapped[str] = mapped_column(sa.String(100))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class SecurityKev(Base):
    __tablename__ = "security_kev"

    cve: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    vendor: Mapped[str] = mapped_column(sa.String(200))
    product: Mapped[str] = mapped_column(sa.String(200))
    name: Mapped[str] = mapped_column(sa.String(500))
    date_added: Mapped[str] = mapped_column(sa.String(10))
    due_date: Mapped[str | None] = mapped_column(sa.String(10))
    ransomware: Mapped[bool] = mapped_column(default=False)
    catalog_version: Mapped[str] = mapped_column(sa.String(40))


class SecurityAdvisoryAlert(Base):
    """An advisory found affecting a device, raised as its ``security_advisory`` event."""

    __tablename__ = "security_advisory_alerts"

    tenant_id: Mapped[str] = mapped_column(
        sa.ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True
    )
    device_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    tracking_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    version: Mapped[str] = mapped_column(sa.String(50))
    raised_ms: Mapped[int] = mapped_column(sa.BigInteger)
