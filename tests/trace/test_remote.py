"""Two platforms on loopback: enterprise A's platform serves its share API over HTTP; on
enterprise B's platform a recall of A's raw lot follows A's identifiers into that service
(token agreement) and finds B's finished goods, with what A withheld said."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from helan.bench.trace import serve_share
from helan.security.principal import Principal, Role
from helan.services.trace import TraceHub
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Tenant
from helan.trace.epcis.document import read_document
from helan.trace.store import TraceStore

from .conftest import doc, observe, transform


def _platform(root: Path, tenant: str, prefix: str, template: Path) -> TraceHub:
    shutil.copyfile(template, root / "meta.sqlite3")  # migrated once for both platforms
    meta = MetaStore(f"sqlite:///{(root / 'meta.sqlite3').as_posix()}")
    with meta.session() as s:
        s.add(Tenant(id=tenant, name=tenant, ident_prefix=prefix))
    return TraceHub(meta, TraceStore(root / "trace" / "events.sqlite3"))


def _capture(hub: TraceHub, tenant: str, prefix: str, *events: dict) -> None:
    parsed = read_document(
        doc(*events), tenant_prefix=prefix, prefix_owner=lambda p: None, tenant=tenant
    )
    hub.store.capture(tenant, parsed)


@pytest.fixture(scope="module")
def platforms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TraceHub, TraceHub, str]]:
    """Both tests share the two platforms; each names its own partner entry first."""
    tmp_path = tmp_path_factory.mktemp("platforms")
    template = tmp_path / "template.sqlite3"
    migrated = MetaStore(f"sqlite:///{template.as_posix()}")
    migrated.migrate()
    migrated.close()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = _platform(tmp_path / "a", "dairy", "88.300.1", template)
    b = _platform(tmp_path / "b", "cheese", "88.300.2", template)
    url, stop = serve_share(a)
    yield a, b, url
    stop()
    for hub in (a, b):
        hub.store.close()
        hub.meta.close()


def test_recall_across_two_platforms(platforms: tuple[TraceHub, TraceHub, str]) -> None:
    a, b, url = platforms
    admin_a = Principal(kind="user", subject="a-admin", tenant="dairy", role=Role.TENANT_ADMIN)
    admin_b = Principal(kind="user", subject="b-admin", tenant="cheese", role=Role.TENANT_ADMIN)
    _capture(
        a,
        "dairy",
        "88.300.1",
        transform(
            1,
            ["88.300.1/farm-milk-7"],
            ["88.300.1/milk-lot-L"],
            bizLocation={"id": "urn:epc:id:sgln:6901234.00001.0"},
        ),
        observe(2, ["88.300.1/milk-lot-L"], bizStep="shipping"),
    )
    _capture(
        b,
        "cheese",
        "88.300.2",
        transform(3, ["88.300.1/milk-lot-L"], ["88.300.2/cheese-1", "88.300.2/cheese-2"]),
    )
    # Without a partner entry B sees only its own events: milk-lot-L, not the farm milk.
    admin = Principal(kind="user", subject="b-admin", tenant="cheese", role=Role.TENANT_ADMIN)
    if b.partners("cheese"):
        b.delete_partner(admin, "cheese", "88.300.1")
    assert b.recall("cheese", "88.300.1/farm-milk-7", 10)["finishedGoods"] == []
    _, token = a.create_agreement(
        admin_a,
        "dairy",
        agreement=f"to-cheese-{len(a.agreements('dairy'))}",
        audience="token",
        partner_tenant=None,
        event_types=["TransformationEvent"],
        fields=[],
    )
    assert token is not None
    b.put_partner(admin_b, "cheese", "88.300.1", base_url=url, remote_tenant="dairy", token=token)
    r = b.recall("cheese", "88.300.1/farm-milk-7", 10)
    goods = {g["epc"]: g for g in r["finishedGoods"]}
    assert set(goods) == {"88.300.2/cheese-1", "88.300.2/cheese-2"}
    owners = [s["owner"] for s in goods["88.300.2/cheese-1"]["path"]]
    assert owners == ["tenant:dairy", "tenant:cheese"]
    assert {
        "source": "tenant:dairy",
        "eventID": "urn:uuid:00000000-0000-4000-8000-000000000001",
        "fields": ["bizLocation"],
    } in r["withheld"]
    back = b.trace("cheese", "88.300.2/cheese-1", "backward", 10)
    assert {n["epc"] for n in back["nodes"]} == {"88.300.1/milk-lot-L", "88.300.1/farm-milk-7"}


def test_unreachable_partner_is_said_not_fatal(platforms: tuple[TraceHub, TraceHub, str]) -> None:
    _, b, _ = platforms
    admin_b = Principal(kind="user", subject="b-admin", tenant="cheese", role=Role.TENANT_ADMIN)
    _capture(b, "cheese", "88.300.2", transform(3, ["88.300.1/milk-lot-L"], ["88.300.2/cheese-1"]))
    b.put_partner(
        admin_b,
        "cheese",
        "88.300.1",
        base_url="http://127.0.0.1:9",
        remote_tenant="dairy",
        token="x" * 20,
    )
    back = b.trace("cheese", "88.300.2/cheese-1", "backward", 10)
    assert {n["epc"] for n in back["nodes"]} == {"88.300.1/milk-lot-L"}
    assert any(w.get("reason", "").startswith("unreachable") for w in back["withheld"])
