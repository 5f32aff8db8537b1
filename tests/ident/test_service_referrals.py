"""HS_SERV delegations: a prefix served by another handle's sites (RFC 3651 section 3.3)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.ident.test_hierarchy import _auth, _delegation, _node, _put

from helan.ident.codes import ResponseCode
from helan.ident.errors import HandleError
from helan.ident.node import Role
from helan.ident.runtime import RunningNode
from helan.ident.server.client import HandleClient, Target
from helan.ident.server.resolver import Resolver
from helan.ident.wire import messages as m
from helan.ident.wire.records import decode_values

ROOT_ADMIN = _auth("300%3A0.NA/0.NA", "root-secret")


def _served_by(service: str) -> list[dict[str, object]]:
    return [{"index": 2, "type": "HS_SERV", "data": service, "ttl": 3600}]


@dataclass
class Served:
    root: RunningNode
    service: RunningNode  # homes 88.200 and 88.201; only 88.200 lists its site


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    root = await _node(tmp_path, Role.ROOT, [], b"root-secret")
    service = await _node(tmp_path, Role.ENTERPRISE, ["88.200", "88.201"], b"svc-secret")
    assert root.registry
    assert service.registry
    r = await _put(
        root.registry, "0.NA/88.200", _delegation(service.port, "0.NA/88.200", "s"), ROOT_ADMIN
    )
    assert r.status_code == 201, r.text
    r = await _put(root.registry, "0.NA/88.201", _served_by("0.NA/88.200"), ROOT_ADMIN)
    assert r.status_code == 201, r.text
    url = [{"index": 1, "type": "URL", "data": "https://plant.example/P-1"}]
    r = await _put(service.registry, "88.201/P-1", url, _auth("300%3A0.NA/88.201", "svc-secret"))
    assert r.status_code == 201, r.text
    yield Served(root, service)
    for node in (service, root):
        await node.stop()


async def test_root_answers_a_service_referral_with_the_service_sites(served: Served) -> None:
    client = HandleClient()
    try:
        reply = await client.resolve(Target("127.0.0.1", served.root.port), "88.201/P-1")
    finally:
        client.close()
    assert reply.rc == ResponseCode.SERVICE_REFERRAL
    assert isinstance(reply.body, m.ReferralResponse)
    assert reply.body.handle == b"0.NA/88.200"
    sites = [v for v in decode_values(reply.body.values or ()) if v.type == "HS_SITE"]
    assert len(sites) == 1


async def test_resolver_follows_hs_serv_to_the_service_sites(served: Served) -> None:
    resolver = Resolver([Target("127.0.0.1", served.root.port)])
    try:
        found = await resolver.resolve("88.201/p-1")
        assert found.rc == ResponseCode.SUCCESS
        (value,) = decode_values(found.values)
        assert value.data == b"https://plant.example/P-1"
        walks = resolver.walks
        assert (await resolver.resolve("88.201/P-1")).values == found.values
        assert resolver.walks == walks  # cached, service handle included
    finally:
        resolver.close()


async def test_bad_service_delegations_fail_clearly(served: Served) -> None:
    assert served.root.registry
    r = await _put(served.root.registry, "0.NA/88.202", _served_by("no slash"), ROOT_ADMIN)
    assert (r.status_code, r.json()["responseCode"]) == (400, ResponseCode.INVALID_VALUE)
    assert "HS_SERV" in r.json()["message"]
    # A service handle without sites, and one whose own delegation leads back to it.
    r = await _put(served.root.registry, "0.NA/88.203", _served_by("0.NA/88.201"), ROOT_ADMIN)
    assert r.status_code == 201, r.text
    r = await _put(served.root.registry, "0.NA/88.204", _served_by("88.204/svc"), ROOT_ADMIN)
    assert r.status_code == 201, r.text
    resolver = Resolver([Target("127.0.0.1", served.root.port)])
    try:
        with pytest.raises(HandleError) as err:
            await resolver.resolve("88.203/x")
        assert err.value.rc == ResponseCode.SERVER_NOT_RESP
        assert "service handle 0.NA/88.201" in str(err.value)
        with pytest.raises(HandleError) as err:
            await asyncio.wait_for(resolver.resolve("88.204/x"), 5)  # no deadlock
        assert err.value.rc == ResponseCode.RECURSION_COUNT_TOO_HIGH
        assert "service referral loop" in str(err.value)
    finally:
        resolver.close()
