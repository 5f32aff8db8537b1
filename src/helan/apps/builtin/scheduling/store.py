"""The app's own tables (its alembic chain in ``versions/``): definitions as validated JSON
documents per (tenant, kind, id), orders, and the plan history (newest version is current).
Blocking calls; the routes run them in worker threads."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from helan.apps.migrations import upgrade_app
from helan.storage.meta import MetaStore

_md = sa.MetaData()
definitions = sa.Table(
    "sched_definitions",
    _md,
    sa.Column("tenant_id", sa.String(32), primary_key=True),
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("updated_ms", sa.BigInteger, nullable=False),
)
orders = sa.Table(
    "sched_orders",
    _md,
    sa.Column("tenant_id", sa.String(32), primary_key=True),
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("product", sa.String(64), nullable=False),
    sa.Column("customer", sa.String(200), nullable=False),
    sa.Column("selection", sa.JSON, nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("price", sa.Float, nullable=False),
    sa.Column("due_ms", sa.BigInteger),
    sa.Column("promised_ms", sa.BigInteger),
    sa.Column("urgent", sa.Boolean, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
)
plans = sa.Table(
    "sched_plans",
    _md,
    sa.Column("tenant_id", sa.String(32), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("origin_ms", sa.BigInteger, nullable=False),
    sa.Column("created_ms", sa.BigInteger, nullable=False),
    sa.Column("reason", sa.String(200), nullable=False),
    sa.Column("body", sa.JSON, nullable=False),
)
APP_ID = "scheduling"
VERSIONS = Path(__file__).parent / "versions"
KINDS = ("item", "routing", "group", "resource", "product")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class Plan:
    version: int
    origin_ms: int
    created_ms: int
    reason: str
    body: dict[str, Any]


class SchedulingStore:
    """The app's tables; the first call brings them to the newest revision when the platform
    has not (a platform built but not started, e.g. an API served apart): idempotent."""

    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta
        self._ready = False
        self._lock = threading.Lock()

    def _ensure(self) -> None:
        if self._ready:
            return
        with self._lock:
            if not self._ready:
                upgrade_app(self.meta, APP_ID, VERSIONS)
                self._ready = True

    def put(self, tenant: str, kind: str, key: str, body: dict[str, Any]) -> None:
        self._ensure()
        with self.meta.engine.begin() as c:
            c.execute(
                sa.delete(definitions).where(
                    definitions.c.tenant_id == tenant,
                    definitions.c.kind == kind,
                    definitions.c.id == key,
                )
            )
            c.execute(
                sa.insert(definitions).values(
                    tenant_id=tenant, kind=kind, id=key, body=body, updated_ms=now_ms()
                )
            )

    def delete(self, tenant: str, kind: str, key: str) -> bool:
        self._ensure()
        with self.meta.engine.begin() as c:
            r = c.execute(
                sa.delete(definitions).where(
                    definitions.c.tenant_id == tenant,
                    definitions.c.kind == kind,
                    definitions.c.id == key,
                )
            )
            return bool(r.rowcount)

    def all(self, tenant: str, kind: str) -> dict[str, dict[str, Any]]:
        self._ensure()
        with self.meta.engine.connect() as c:
            rows = c.execute(
                sa.select(definitions.c.id, definitions.c.body)
                .where(definitions.c.tenant_id == tenant, definitions.c.kind == kind)
                .order_by(definitions.c.id)
            )
            return {r.id: dict(r.body) for r in rows}

    def add_order(self, tenant: str, row: dict[str, Any]) -> None:
        self._ensure()
        with self.meta.engine.begin() as c:
            c.execute(sa.insert(orders).values(tenant_id=tenant, **row))

    def set_promised(self, tenant: str, order_id: str, promised_ms: int | None) -> None:
        self._ensure()
        with self.meta.engine.begin() as c:
            c.execute(
                sa.update(orders)
                .where(orders.c.tenant_id == tenant, orders.c.id == order_id)
                .values(promised_ms=promised_ms)
            )

    def orders(self, tenant: str) -> list[dict[str, Any]]:
        self._ensure()
        with self.meta.engine.connect() as c:
            rows = c.execute(
                sa.select(orders).where(orders.c.tenant_id == tenant).order_by(orders.c.created_ms)
            )
            return [dict(r._mapping) for r in rows]

    def order(self, tenant: str, order_id: str) -> dict[str, Any] | None:
        self._ensure()
        with self.meta.engine.connect() as c:
            r = c.execute(
                sa.select(orders).where(orders.c.tenant_id == tenant, orders.c.id == order_id)
            ).first()
            return None if r is None else dict(r._mapping)

    def save_plan(self, tenant: str, origin_ms: int, reason: str, body: dict[str, Any]) -> int:
        self._ensure()
        with self.meta.engine.begin() as c:
            top = c.execute(
                sa.select(sa.func.max(plans.c.version)).where(plans.c.tenant_id == tenant)
            ).scalar()
            version = int(top or 0) + 1
            c.execute(
                sa.insert(plans).values(
                    tenant_id=tenant,
                    version=version,
                    origin_ms=origin_ms,
                    created_ms=now_ms(),
                    reason=reason[:200],
                    body=body,
                )
            )
            return version

    def plan(self, tenant: str) -> Plan | None:
        self._ensure()
        with self.meta.engine.connect() as c:
            r = c.execute(
                sa.select(plans)
                .where(plans.c.tenant_id == tenant)
                .order_by(plans.c.version.desc())
                .limit(1)
            ).first()
            if r is None:
                return None
            return Plan(r.version, r.origin_ms, r.created_ms, r.reason, dict(r.body))
