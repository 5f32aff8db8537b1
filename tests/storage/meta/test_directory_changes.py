"""The directory sees every commit even under a provisioning storm, and a failing listener is
retried until it succeeds (never dropped), with the failure visible meanwhile."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from helan.storage.meta import MetaStore
from helan.storage.meta.changes import Changes
from helan.storage.meta.directory import MetaDirectory, device_username, new_device_secret
from helan.storage.meta.models import Device, DeviceType, Tenant
from helan.storage.meta.store import LISTENER_WAIT_S

TOTAL = 10_000
BULK = 6_000
THREADS = 24  # more concurrent committers than the pool's 5 + 10 connections


@pytest.fixture
def pg_meta(pg_url: str) -> Iterator[MetaStore]:
    store = MetaStore(pg_url)  # the default pool: 5 connections + 10 overflow
    store.migrate()
    with store.session() as s:
        s.add(Tenant(id="acme", name="A"))
        s.flush()
        s.add(DeviceType(tenant_id="acme", id="pump", name="P", properties=[]))
    yield store
    store.close()


def _device(i: int, digest: str) -> Device:
    return Device(
        tenant_id="acme", id=f"d{i}", name="d", device_type_id="pump", credential_hash=digest
    )


def test_provisioning_storm_while_ingesting(
    pg_meta: MetaStore, caplog: pytest.LogCaptureFixture
) -> None:
    directory = MetaDirectory(pg_meta)
    secret, digest = new_device_secret()  # one secret for all: hashing is not under test
    stop = threading.Event()
    ingest = {"ok": 0, "missing": 0}
    created: list[int] = []  # appended by many threads, read by one: atomic under the GIL

    def ingest_loop() -> None:
        """The ingest hot path: every message authenticates and looks its device up."""
        while not stop.is_set():
            for i in created[-200:]:
                ok = directory.authenticate(device_username("acme", f"d{i}"), secret)
                ingest["ok" if ok is not None else "missing"] += 1
            time.sleep(0.001)  # messages arrive, they are not a busy loop

    def small_creates(worker: int) -> None:
        for i in range(BULK + worker, TOTAL, THREADS):
            with pg_meta.session() as s:
                s.add(_device(i, digest))
            created.append(i)  # committed and (the store waited) applied

    caplog.set_level(logging.WARNING, logger="helan.storage.meta")
    reader = threading.Thread(target=ingest_loop)
    reader.start()
    try:
        t0 = time.perf_counter()
        workers = [threading.Thread(target=small_creates, args=(w,)) for w in range(THREADS)]
        for w in workers:
            w.start()
        with pg_meta.session() as s:  # a bulk create alongside the small ones
            s.add_all(_device(i, digest) for i in range(BULK))
        created.extend(range(BULK))
        for w in workers:
            w.join()
        elapsed = time.perf_counter() - t0
    finally:
        stop.set()
        reader.join()
    print(f"{TOTAL} devices provisioned in {elapsed:.1f} s while {ingest['ok']} auths ran")
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert ingest["missing"] == 0  # a device once committed was never unknown to the ingest
    assert len(directory) == TOTAL
    for i in range(TOTAL):
        ref = directory.lookup("acme", f"d{i}")
        assert ref is not None, i
        assert ref.device_type == "pump"
        assert directory.authenticate(device_username("acme", f"d{i}"), secret) == ref
    # A rotation is seen by the next authentication; so is a bulk UPDATE that hides its keys.
    rotated, rotated_digest = new_device_secret()
    with pg_meta.session() as s:
        s.get(Device, ("acme", "d42")).credential_hash = rotated_digest  # type: ignore[union-attr]
    assert directory.authenticate(device_username("acme", "d42"), secret) is None
    assert directory.authenticate(device_username("acme", "d42"), rotated) is not None
    with pg_meta.session() as s:
        s.execute(sa.update(Device).where(Device.id == "d7").values(enabled=False))
    assert directory.authenticate(device_username("acme", "d7"), secret) is None
    assert all(st.healthy and st.failures == 0 for st in pg_meta.listener_status())


def test_failing_listener_is_retried_and_surfaced(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    meta = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}", listener_wait_s=0.2)
    meta.migrate()
    seen: list[Changes] = []
    back = threading.Event()
    applied = threading.Event()

    def flaky(changes: Changes) -> None:
        if not back.is_set():
            raise RuntimeError("database away")
        seen.append(changes)
        applied.set()

    meta.on_change(flaky)
    try:
        caplog.set_level(logging.ERROR, logger="helan.storage.meta")
        with meta.session() as s:  # the commit stands although its listener fails
            s.add(Tenant(id="acme", name="A"))
        status = meta.listener_status()[0]
        assert not meta.listeners_healthy
        assert status.pending
        assert status.last_error == "RuntimeError: database away"
        with meta.session() as s:  # changes made meanwhile join the retried ones
            s.add(Tenant(id="bolt", name="B"))
        assert not seen
        back.set()
        assert applied.wait(10)
        deadline = time.monotonic() + 5  # the worker marks itself healthy just after the call
        while not meta.listeners_healthy and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(seen) == 1  # one call carrying both commits, none lost
        assert seen[0]["tenants"] == {("acme",), ("bolt",)}
        status = meta.listener_status()[0]
        assert status.healthy
        assert not status.pending
        assert status.failures >= 2
        assert meta.listeners_healthy
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == status.failures
        assert "retrying" in errors[0].getMessage()
    finally:
        meta.close()


def test_commit_waits_for_its_listener(tmp_path: Path) -> None:
    """What a writer committed is applied before its ``session()`` returns."""
    meta = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    meta.migrate()
    seen: list[Changes] = []

    def slow(changes: Changes) -> None:
        time.sleep(0.2)
        seen.append(changes)

    meta.on_change(slow)
    try:
        with meta.session() as s:
            s.add(Tenant(id="acme", name="A"))
        assert seen
        assert seen[-1]["tenants"] == {("acme",)}
        assert LISTENER_WAIT_S > 0.2
    finally:
        meta.close()
