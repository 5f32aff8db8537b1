"""The metadata store on both engines: migrations, constraints, change notifications."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from helan.core.errors import Conflict
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Asset, Base, Device, Product, Tenant
from helan.storage.meta.store import MIGRATIONS, normalise_url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def meta(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetaStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'meta.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_url")
    store = MetaStore(url)
    store.migrate()
    store.migrate()  # idempotent
    yield store
    store.close()


def test_normalise_url() -> None:
    assert normalise_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_schema_round_trip_and_aware_times(meta: MetaStore) -> None:
    with meta.session() as s:
        s.add(Tenant(id="acme", name="阿克米"))
        s.flush()
        s.add(
            Device(
                tenant_id="acme", id="d1", name="D", credential_hash="0" * 64, attributes={"dn": 50}
            )
        )
    with meta.session() as s:
        d = s.get(Device, ("acme", "d1"))
        assert d is not None
        assert d.attributes == {"dn": 50}
        assert d.created_at.tzinfo is not None
        assert d.created_at.utcoffset().total_seconds() == 0
        version = s.scalar(sa.text("select version_num from alembic_version"))
        assert version == _head()


def _head() -> str:
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS.as_posix())
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_migrations_match_the_models(meta: MetaStore) -> None:
    """A model change without its migration (or the reverse) shows up as a schema difference."""
    with meta.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_constraints_become_conflicts_and_roll_back(meta: MetaStore) -> None:
    with meta.session() as s:
        s.add(Tenant(id="acme", name="A"))
    bad_device = Device(
        tenant_id="acme", id="d1", name="D", credential_hash="x", asset_id="missing-asset"
    )
    with pytest.raises(Conflict):
        _add_all(meta, Tenant(id="other", name="B"), bad_device)
    with meta.session() as s:
        assert s.get(Tenant, "other") is None  # the whole transaction rolled back
    with pytest.raises(Conflict):
        _add_all(meta, Tenant(id="acme", name="again"))


def test_gateway_stays_in_the_tenant_and_goes_with_it(meta: MetaStore) -> None:
    """The composite foreign key refuses a gateway of another tenant (or none at all); deleting
    the tenant removes gateway and children together."""
    _add_all(meta, Tenant(id="acme", name="A"), Tenant(id="bolt", name="B"))
    _add_all(meta, Device(tenant_id="bolt", id="gw", name="G", credential_hash="x"))
    with pytest.raises(Conflict):
        _add_all(
            meta, Device(tenant_id="acme", id="d1", name="D", credential_hash="x", gateway_id="gw")
        )
    _add_all(
        meta,
        Device(tenant_id="acme", id="gw", name="G", credential_hash="x"),
        Device(tenant_id="acme", id="d1", name="D", credential_hash="x", gateway_id="gw"),
    )
    with meta.session() as s:
        s.execute(sa.delete(Tenant).where(Tenant.id == "acme"))
    with meta.session() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Device)) == 1  # bolt's gateway


def test_product_batch_stays_in_the_tenant_and_goes_with_it(meta: MetaStore) -> None:
    """A batch is a product of the same tenant (composite foreign key); deleting the tenant
    removes batches and members in one statement; 0008 downgrades to a schema without them."""
    _add_all(meta, Tenant(id="acme", name="A"), Tenant(id="bolt", name="B"))
    _add_all(meta, Product(tenant_id="bolt", id="lot", name="L", kind="batch"))
    with pytest.raises(Conflict):
        _add_all(meta, Product(tenant_id="acme", id="u1", name="U", kind="unit", batch_id="lot"))
    _add_all(
        meta,
        Product(tenant_id="acme", id="lot", name="L", kind="batch"),
        Product(tenant_id="acme", id="u1", name="U", kind="unit", batch_id="lot", made_by_id="d"),
    )
    with meta.session() as s:
        s.execute(sa.delete(Tenant).where(Tenant.id == "acme"))
    with meta.session() as s:
        assert s.scalars(sa.select(Product.tenant_id)).all() == ["bolt"]
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS.as_posix())
    with meta.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0007")
        assert "products" not in sa.inspect(conn).get_table_names()
        command.upgrade(cfg, "head")
        assert "products" in sa.inspect(conn).get_table_names()


@pytest.mark.parametrize(
    "engine", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_devices_before_0006_have_no_broker_hash(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """Migration 0006 adds the Mosquitto hash column empty for existing devices (their
    plaintext secrets are gone) and downgrades cleanly."""
    url = (
        f"sqlite:///{tmp_path / 'old.sqlite3'}"
        if engine == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = MetaStore(url)
    cfg = Config()
    cfg.set_main_option("script_location", MIGRATIONS.as_posix())
    try:
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0005")
            now = "current_timestamp"
            conn.execute(
                sa.text(
                    "insert into tenants (id, name, status, retention_days, allow_auto_create,"
                    f" created_at, updated_at) values ('acme', 'A', 'active', 365, false, {now},"
                    f" {now})"
                )
            )
            conn.execute(
                sa.text(
                    "insert into devices (tenant_id, id, name, enabled, attributes,"
                    " credential_hash, credential_rotated_at, created_at, updated_at) values"
                    f" ('acme', 'old', 'Old', true, '{{}}', :h, {now}, {now}, {now})"
                ),
                {"h": "0" * 64},
            )
        store.migrate()
        with store.session() as s:
            row = s.get(Device, ("acme", "old"))
            assert row is not None
            assert row.broker_hash is None
            row.broker_hash = "$7$101$c2FsdA==$aGFzaA=="
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.downgrade(cfg, "0005")
            columns = {c["name"] for c in sa.inspect(conn).get_columns("devices")}
        assert "broker_hash" not in columns
        assert "gateway_id" in columns
    finally:
        store.close()


def _add_all(meta: MetaStore, *rows: object) -> None:
    with meta.session() as s:
        s.add_all(rows)


def _rename_then_fail(meta: MetaStore) -> None:
    with meta.session() as s:
        s.get(Tenant, "acme").name = "renamed"  # type: ignore[union-attr]
        s.flush()
        raise RuntimeError("rolled back")


def test_change_notifications_name_rows_after_commit_only(meta: MetaStore) -> None:
    seen: list[dict[str, object]] = []
    meta.on_change(lambda changes: seen.append(dict(changes)))
    with meta.session() as s:
        s.add(Tenant(id="acme", name="A"))
        s.flush()
        s.add(Asset(tenant_id="acme", id="site", name="S", kind="site"))
    assert seen == [{"tenants": frozenset({("acme",)}), "assets": frozenset({("acme", "site")})}]
    with pytest.raises(RuntimeError):
        _rename_then_fail(meta)
    assert len(seen) == 1
    with meta.session() as s:
        s.execute(sa.update(Tenant).values(industry="steel"))
    assert seen[-1] == {"tenants": None}  # a bulk statement cannot say which rows
