"""Services called directly, without HTTP: a migrated SQLite metadata store with one tenant,
``acme``, and the principals that act in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from helan.security.principal import Principal, Role
from helan.services import tenants
from helan.storage.meta import MetaStore


@pytest.fixture
def root() -> Principal:
    return Principal(kind="user", subject="root", tenant=None, role=Role.PLATFORM_ADMIN)


@pytest.fixture
def ops() -> Principal:
    return Principal(kind="user", subject="ops", tenant="acme", role=Role.OPERATOR)


@pytest.fixture
def meta(tmp_path: Path, root: Principal) -> Iterator[MetaStore]:
    store = MetaStore(f"sqlite:///{tmp_path / 'meta.sqlite3'}")
    store.migrate()
    tenants.create_tenant(store, root, tenants.NewTenant(id="acme", name="Acme"))
    try:
        yield store
    finally:
        store.close()
