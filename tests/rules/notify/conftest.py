"""Fixtures for the notification tests: a migrated metadata store with two tenants, a real
HTTP receiver, settings that let the workers reach loopback and retry quickly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from helan.config import Settings
from helan.rules.contracts import AlarmNotice, NoticeKind, Severity
from helan.rules.notify import Outbox
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Tenant
from helan.storage.meta.models_notify import NotificationChannel
from tests.conftest import free_port
from tests.rules.notify.receiver import Receiver

SECRET = "s3cret-s3cret-s3cret"


def open_meta(url: str) -> MetaStore:
    store = MetaStore(url)
    store.migrate()
    with store.session() as s:
        s.add_all([Tenant(id="acme", name="Acme"), Tenant(id="bolt", name="Bolt")])
    return store


@pytest.fixture
def meta(tmp_path: Path) -> Iterator[MetaStore]:
    store = open_meta(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    yield store
    store.close()


@pytest.fixture
def fast(tmp_path: Path) -> Settings:
    """Loopback allowed, retries after 20..40 ms, a short lease."""
    return Settings(
        data_dir=tmp_path / "var",
        mqtt_embedded_port=free_port(),
        notify_allowed_hosts=["127.0.0.1"],
        notify_backoff_min_s=0.02,
        notify_backoff_max_s=0.04,
        notify_poll_s=0.05,
        notify_lease_s=2.0,
        notify_timeout_s=3.0,
    )


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    yield r
    await r.stop()


def add_channel(
    meta: MetaStore,
    *,
    id: str = "hook",
    kind: str = "webhook",
    config: dict[str, Any],
    tenant: str = "acme",
    rate: int | None = None,
    quiet: dict[str, Any] | None = None,
    enabled: bool = True,
) -> None:
    with meta.session() as s:
        s.add(
            NotificationChannel(
                tenant_id=tenant,
                id=id,
                name=id,
                kind=kind,
                config=config,
                enabled=enabled,
                rate_per_minute=rate,
                quiet_hours=quiet,
            )
        )


def notice(n: int = 1, *, channels: tuple[str, ...] = ("hook",), **kw: Any) -> AlarmNotice:
    fields: dict[str, Any] = {
        "key": f"acme:rule1:pump-1:{n}:raised",
        "tenant": "acme",
        "alarm_id": f"alarm-{n}",
        "rule_id": "rule1",
        "device": "pump-1",
        "kind": NoticeKind.RAISED,
        "severity": Severity.HIGH,
        "message": f"温度过高 temperature high #{n}",
        "ts_ms": 1_764_800_000_000 + n,
        "channels": channels,
        "values": {"temp": 91.5},
        "committed_ms": 1_764_800_000_100,
    }
    fields.update(kw)
    return AlarmNotice(**fields)


def enqueue(
    meta: MetaStore, notices: list[AlarmNotice], clock: Callable[[], int] | None = None
) -> None:
    with meta.session() as s:
        (Outbox(meta, clock=clock) if clock else Outbox(meta)).enqueue(s, notices)
