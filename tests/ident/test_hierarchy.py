"""Root, secondary, enterprise and a resolver on loopback, resolving each other over UDP and TCP."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from helan.ident.codes import OpCode, ResponseCode
from helan.ident.errors import HandleError
from helan.ident.model import SiteInfo
from helan.ident.node import Role
from helan.ident.registry import Registry
from helan.ident.rest.app import create_app
from helan.ident.rest.jsonvalues import site_to_json
from helan.ident.runtime import NodeConfig, RunningNode
from helan.ident.server.client import HandleClient, Target
from helan.ident.server.resolver import Resolver
from helan.ident.wire import messages as m
from helan.ident.wire.records import decode_values


def _auth(user: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()}


async def _put(
    registry: Registry, path: str, values: list[dict[str, object]], auth: dict[str, str]
) -> httpx.Response:
    transport = httpx.ASGITransport(app=create_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as api:
        return await api.put(f"/api/handles/{path}", json={"values": values}, headers=auth)


def _delegation(site_port: int, admin: str, secret: str) -> list[dict[str, object]]:
    site = site_to_json(SiteInfo.single("127.0.0.1", site_port))
    return [
        {"index": 1, "type": "HS_SITE", "data": {"format": "site", "value": site}, "ttl": 3600},
        {
            "index": 100,
            "type": "HS_ADMIN",
            "data": {
                "format": "admin",
                "value": {"handle": admin, "index": 300, "permissions": "111111111111"},
            },
        },
        {"index": 300, "type": "HS_SECKEY", "data": secret, "permissions": "1100"},
    ]


@dataclass
class Tree:
    root: RunningNode
    secondary: RunningNode
    enterprise: RunningNode
    resolver: RunningNode


async def _node(
    tmp: Path, role: Role, prefixes: list[str], secret: bytes, roots: list[Target] | None = None
) -> RunningNode:
    cfg = NodeConfig(
        role=role,
        port=0,
        store=f"lmdb:{tmp / role.value}",
        prefixes=prefixes,
        admin_secret=secret,
        roots=roots or [],
    )
    node = RunningNode(cfg)
    await node.start()
    return node


@pytest.fixture
async def tree(tmp_path: Path) -> AsyncIterator[Tree]:
    root = await _node(tmp_path, Role.ROOT, [], b"root-secret")
    secondary = await _node(tmp_path, Role.SECONDARY, ["88.118"], b"sec-secret")
    enterprise = await _node(tmp_path, Role.ENTERPRISE, ["88.118.100"], b"ent-secret")
    resolver = await _node(tmp_path, Role.RESOLVER, [], b"", [Target("127.0.0.1", root.port)])
    assert root.registry
    assert secondary.registry
    assert enterprise.registry
    # The root admin registers the secondary prefix; the secondary's admin then the enterprise's.
    r = await _put(
        root.registry,
        "0.NA/88.118",
        _delegation(secondary.port, "0.NA/88.118", "sec-secret"),
        _auth("300%3A0.NA/0.NA", "root-secret"),
    )
    assert r.status_code == 201, r.text
    r = await _put(
        secondary.registry,
        "0.NA/88.118.100",
        _delegation(enterprise.port, "0.NA/88.118.100", "ent-secret"),
        _auth("300%3A0.NA/88.118", "sec-secret"),
    )
    assert r.status_code == 201, r.text
    url = [{"index": 1, "type": "URL", "data": "https://factory.example/SN-1", "ttl": 600}]
    r = await _put(
        enterprise.registry, "88.118.100/SN-1", url, _auth("300%3A0.NA/88.118.100", "ent-secret")
    )
    assert r.status_code == 201, r.text
    yield Tree(root, secondary, enterprise, resolver)
    for node in (resolver, enterprise, secondary, root):
        await node.stop()


async def test_registration_needs_the_parent_prefix_admin(tree: Tree) -> None:
    assert tree.root.registry
    assert tree.secondary.registry
    delegation = _delegation(tree.enterprise.port, "0.NA/88.119", "x")
    r = await _put(tree.root.registry, "0.NA/88.119", delegation, _auth("300%3A0.NA/0.NA", "wrong"))
    assert (r.status_code, r.json()["responseCode"]) == (401, 403)
    r = await _put(
        tree.secondary.registry,
        "0.NA/88.119.1",
        delegation,
        _auth("300%3A0.NA/88.118", "sec-secret"),
    )
    assert (r.status_code, r.json()["responseCode"]) == (
        404,
        301,
    )  # not under the secondary's prefix


@pytest.mark.parametrize("tcp", [False, True])
async def test_resolver_walks_root_secondary_enterprise(tree: Tree, tcp: bool) -> None:
    client = HandleClient()
    try:
        reply = await client.resolve(
            Target("127.0.0.1", tree.resolver.port, tcp), "88.118.100/sn-1"
        )
        assert reply.rc == ResponseCode.SUCCESS
        assert isinstance(reply.body, m.ResolutionResponse)
        assert reply.body.handle == b"88.118.100/SN-1"
        (value,) = decode_values(reply.body.values)
        assert (value.type, value.data) == ("URL", b"https://factory.example/SN-1")
        # Asked directly: the root refers, the secondary refers, the enterprise answers.
        direct = await client.resolve(Target("127.0.0.1", tree.root.port, tcp), "88.118.100/SN-1")
        assert direct.rc == ResponseCode.PREFIX_REFERRAL
        direct = await client.resolve(
            Target("127.0.0.1", tree.secondary.port, tcp), "88.118.100/SN-1"
        )
        assert direct.rc == ResponseCode.PREFIX_REFERRAL
        direct = await client.resolve(
            Target("127.0.0.1", tree.enterprise.port, tcp), "88.118.100/SN-1", types=("URL",)
        )
        assert direct.rc == ResponseCode.SUCCESS
        site = await client.site_info(Target("127.0.0.1", tree.enterprise.port, tcp))
        assert site.rc == ResponseCode.SUCCESS
        assert site.opcode == OpCode.GET_SITE_INFO
        missing = await client.resolve(
            Target("127.0.0.1", tree.resolver.port, tcp), "88.118.100/none"
        )
        assert missing.rc == ResponseCode.HANDLE_NOT_FOUND
        unknown = await client.resolve(Target("127.0.0.1", tree.resolver.port, tcp), "99.1/x")
        assert unknown.rc == ResponseCode.HANDLE_NOT_FOUND
        assert b"not found" in unknown.body.message  # type: ignore[union-attr]
    finally:
        client.close()


async def test_cache_negative_cache_and_coalescing(tree: Tree) -> None:
    resolver = Resolver([Target("127.0.0.1", tree.root.port)])
    try:
        first = await resolver.resolve("88.118.100/SN-1")
        walks = resolver.walks
        assert (await resolver.resolve("88.118.100/SN-1")) == first
        assert resolver.walks == walks  # warm: from the cache
        for _ in range(2):
            assert (await resolver.resolve("88.118.100/gone")).rc == ResponseCode.HANDLE_NOT_FOUND
        assert resolver.walks == walks + 1  # the negative answer was cached
        results = await asyncio.gather(
            *(resolver.resolve("88.118.100/SN-1", (1,)) for _ in range(20))
        )
        assert {r.rc for r in results} == {ResponseCode.SUCCESS}
        assert resolver.walks == walks + 2  # twenty identical queries, one walk
    finally:
        resolver.close()


async def test_dead_node_and_referral_loop_give_clear_errors(tree: Tree) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    resolver = Resolver([Target("127.0.0.1", dead)], client=HandleClient(timeout=0.2))
    try:
        with pytest.raises(HandleError) as err:
            await resolver.resolve("88.118.100/SN-1")
        assert err.value.rc == ResponseCode.SERVER_NOT_RESP
        assert f"127.0.0.1:{dead}/udp" in str(err.value)
    finally:
        resolver.close()
    # Misconfigure: the secondary delegates the enterprise prefix back to the root.
    assert tree.secondary.registry
    r = await _put(
        tree.secondary.registry,
        "0.NA/88.118.100",
        _delegation(tree.root.port, "0.NA/88.118.100", "ent-secret"),
        _auth("300%3A0.NA/88.118", "sec-secret"),
    )
    assert r.status_code == 200
    resolver = Resolver([Target("127.0.0.1", tree.root.port)])
    try:
        with pytest.raises(HandleError) as err:
            await resolver.resolve("88.118.100/SN-1")
        assert err.value.rc == ResponseCode.RECURSION_COUNT_TOO_HIGH
        assert "referral loop" in str(err.value)
    finally:
        resolver.close()


async def test_bad_wire_input_gets_protocol_codes(tree: Tree) -> None:
    loop = asyncio.get_running_loop()
    replies: asyncio.Queue[bytes] = asyncio.Queue()

    class Proto(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            replies.put_nowait(data)

    transport, _ = await loop.create_datagram_endpoint(
        Proto, remote_addr=("127.0.0.1", tree.enterprise.port)
    )
    try:
        good = m.encode(
            m.Message(opcode=1, rc=0, body=m.ResolutionRequest(b"88.118.100/SN-1"), request_id=9)
        )
        cases = [
            (good[:20] + (77).to_bytes(4, "big") + good[24:], ResponseCode.OPERATION_NOT_SUPPORTED),
            (good[:-3], ResponseCode.PROTOCOL_ERROR),
            (good + bytes(9000), ResponseCode.PROTOCOL_ERROR),
            (
                m.encode(
                    m.Message(
                        opcode=1, rc=0, body=m.ResolutionRequest(b"88.118.100/../x"), request_id=9
                    )
                ),
                ResponseCode.INVALID_HANDLE,
            ),
            (
                m.encode(
                    m.Message(
                        opcode=1, rc=0, body=m.ResolutionRequest(b"88.118.100/\xff"), request_id=9
                    )
                ),
                ResponseCode.INVALID_HANDLE,
            ),
        ]
        for data, rc in cases:
            transport.sendto(data)
            reply = m.decode(await asyncio.wait_for(replies.get(), 2))
            assert (reply.rc, reply.request_id) == (rc, 9)
        transport.sendto(good)
        assert m.decode(await asyncio.wait_for(replies.get(), 2)).rc == ResponseCode.SUCCESS
    finally:
        transport.close()
