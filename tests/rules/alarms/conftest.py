"""A migrated SQLite metadata store with two tenants, a recording outbox and rule policies
held in a dict: the alarm service against a real database, with nothing else running."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from helan.rules.alarms import AlarmService
from helan.rules.contracts import (
    AlarmNotice,
    AlarmPolicy,
    ConditionChange,
    NoticeKind,
    Severity,
)
from helan.security.principal import Principal, Role
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Device, Tenant, User

ALL_KINDS = {kind: ("ch-1",) for kind in NoticeKind}


class RecordingSink:
    """The outbox's contract: enqueued in the caller's session, kept only if it commits,
    a key enqueued again is a no-op."""

    def __init__(self) -> None:
        self.notices: list[AlarmNotice] = []
        self._keys: set[str] = set()

    def enqueue(self, session: Session, notices: Sequence[AlarmNotice]) -> None:
        pending = session.info.setdefault("test_notices", [])
        if not pending:
            from sqlalchemy import event

            @event.listens_for(session, "after_commit", once=True)
            def _keep(s: Session) -> None:
                for n in s.info.pop("test_notices", []):
                    if n.key not in self._keys:
                        self._keys.add(n.key)
                        self.notices.append(n)

            @event.listens_for(session, "after_rollback", once=True)
            def _drop(s: Session) -> None:
                s.info.pop("test_notices", None)

        pending.extend(notices)

    def kinds(self) -> list[str]:
        return [n.kind.value for n in self.notices]


@dataclass
class Policies:
    rules: dict[tuple[str, str], AlarmPolicy] = field(default_factory=dict)

    def policy(self, tenant: str, rule_id: str) -> AlarmPolicy | None:
        return self.rules.get((tenant, rule_id))


@dataclass
class Env:
    meta: MetaStore
    sink: RecordingSink
    policies: Policies
    service: AlarmService
    changed: list[tuple[str, dict[str, object]]]
    now: list[int]  # the service's wall clock (ms), settable


def change(
    ts: int,
    active: bool = True,
    *,
    tenant: str = "acme",
    rule: str = "hot",
    device: str = "pump-1",
    severity: Severity = Severity.HIGH,
    **extra: object,
) -> ConditionChange:
    return ConditionChange(
        tenant=tenant,
        rule_id=rule,
        rule_version=1,
        device=device,
        active=active,
        ts_ms=ts,
        severity=severity,
        message=f"{rule} on {device}",
        values={"temp": 91.5},
        **extra,  # type: ignore[arg-type]
    )


def user(name: str = "acme-op", tenant: str = "acme", role: Role = Role.OPERATOR) -> Principal:
    return Principal(kind="user", subject=name, tenant=tenant, role=role)


def seed(meta: MetaStore) -> None:
    with meta.session() as s:
        for t in ("acme", "bolt"):
            s.add(Tenant(id=t, name=t))
        s.flush()
        for t in ("acme", "bolt"):
            s.add(Device(tenant_id=t, id="pump-1", name="Pump 1", credential_hash="x"))
            s.add(User(username=f"{t}-op", tenant_id=t, role="operator", password_hash="x"))


def make_env(url: str) -> Env:
    meta = MetaStore(url)
    meta.migrate()
    seed(meta)
    sink = RecordingSink()
    policies = Policies(
        {
            ("acme", "hot"): AlarmPolicy(notify=dict(ALL_KINDS), escalate_after_s=60),
            ("acme", "cold"): AlarmPolicy(notify={NoticeKind.RAISED: ("ch-2",)}),
            ("bolt", "hot"): AlarmPolicy(notify=dict(ALL_KINDS)),
        }
    )
    changed: list[tuple[str, dict[str, object]]] = []
    now = [1_000_000]
    service = AlarmService(
        meta, sink, policies, on_change=lambda t, a: changed.append((t, a)), clock=lambda: now[0]
    )
    return Env(meta, sink, policies, service, changed, now)


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    e = make_env(f"sqlite:///{tmp_path / 'meta.db'}")
    yield e
    e.meta.close()


@pytest.fixture
def pg_env(pg_url: str) -> Iterator[Env]:
    e = make_env(pg_url)
    yield e
    e.meta.close()
