"""SM2-signed records verified by the resolver from the root's key down the delegation chain."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

from helan.ident.codes import ALL_ADMIN_PERMISSIONS, OpFlag, ResponseCode
from helan.ident.model import AdminRecord, Handle, HandleValue, SiteInfo
from helan.ident.node import Role
from helan.ident.registry import Identity
from helan.ident.runtime import NodeConfig, RunningNode
from helan.ident.server.client import HandleClient, Target
from helan.ident.server.resolver import Resolver
from helan.ident.trust.signing import SIGNATURE_TYPE, Signer, published_key, verify_values
from helan.ident.wire.records import encode_admin, encode_site, encode_value, split_record
from helan.security.crypto.sm2 import PrivateKey

ALL = ALL_ADMIN_PERMISSIONS
KEYS = {role: PrivateKey.generate() for role in ("root", "secondary", "enterprise")}


def _delegation(port: int, prefix: str, child: PrivateKey) -> list[HandleValue]:
    admin = AdminRecord(f"0.NA/{prefix}", 300, ALL)
    return [
        HandleValue(1, "HS_SITE", encode_site(SiteInfo.single("127.0.0.1", port))),
        HandleValue(100, "HS_ADMIN", encode_admin(admin)),
        Signer(child, f"301:0.NA/{prefix}").pubkey_value(),
    ]


async def _node(tmp: Path, role: Role, prefixes: list[str], **extra: object) -> RunningNode:
    cfg = NodeConfig(
        role=role,
        port=0,
        store=f"lmdb:{tmp / role.value}",
        prefixes=prefixes,
        admin_secret=b"s",
        **extra,  # type: ignore[arg-type]
    )
    node = RunningNode(cfg)
    await node.start()
    return node


@pytest.fixture
async def signed_tree(tmp_path: Path) -> AsyncIterator[tuple[RunningNode, ...]]:
    root = await _node(tmp_path, Role.ROOT, [], sign_key=KEYS["root"])
    secondary = await _node(tmp_path, Role.SECONDARY, ["88.118"], sign_key=KEYS["secondary"])
    enterprise = await _node(tmp_path, Role.ENTERPRISE, ["88.118.100"], sign_key=KEYS["enterprise"])
    assert root.registry
    assert secondary.registry
    assert enterprise.registry
    root.registry.put_record(
        Identity("0.NA/0.NA", 300),
        Handle.parse("0.NA/88.118"),
        _delegation(secondary.port, "88.118", KEYS["secondary"]),
        overwrite=False,
    )
    secondary.registry.put_record(
        Identity("0.NA/88.118", 300),
        Handle.parse("0.NA/88.118.100"),
        _delegation(enterprise.port, "88.118.100", KEYS["enterprise"]),
        overwrite=False,
    )
    enterprise.registry.put_record(
        Identity("0.NA/88.118.100", 300),
        Handle.parse("88.118.100/SN-1"),
        [HandleValue(1, "URL", b"https://f/1"), HandleValue(2, "EMAIL", b"qa@f")],
        overwrite=False,
    )
    nodes = (root, secondary, enterprise)
    yield nodes
    for node in reversed(nodes):
        await node.stop()


async def test_resolver_authenticates_the_chain(signed_tree: tuple[RunningNode, ...]) -> None:
    root, _, enterprise = signed_tree
    anchor = KEYS["root"].public_key()
    resolver = Resolver([Target("127.0.0.1", root.port)], trust_anchor=anchor)
    try:
        result = await resolver.resolve("88.118.100/SN-1")
        assert (result.rc, result.authenticated) == (ResponseCode.SUCCESS, True)
        filtered = await resolver.resolve("88.118.100/SN-1", (), (b"URL",))
        assert filtered.authenticated  # per-value digests: a filtered answer verifies too
        assert {v[14:] for v in filtered.values if b"URL" in v}
    finally:
        resolver.close()
    wrong = Resolver([Target("127.0.0.1", root.port)], trust_anchor=KEYS["enterprise"].public_key())
    unanchored = Resolver([Target("127.0.0.1", root.port)])
    try:
        assert (await wrong.resolve("88.118.100/SN-1")).authenticated is False
        assert (await unanchored.resolve("88.118.100/SN-1")).authenticated is False
    finally:
        wrong.close()
        unanchored.close()
    # A record altered behind the node's back (here: straight in its store) fails verification.
    assert enterprise.store is not None
    key = Handle.parse("88.118.100/SN-1").key
    name, values = split_record(enterprise.store.get(key) or b"")
    forged = values[0].replace(b"https://f/1", b"https://x/1")
    enterprise.store.put(key, _raw(name, [forged, *values[1:]]))
    assert enterprise.node is not None
    enterprise.node.answers.invalidate(key)  # the node itself would serve its cached answer
    fresh = Resolver([Target("127.0.0.1", root.port)], trust_anchor=anchor)
    try:
        tampered = await fresh.resolve("88.118.100/SN-1")
        assert (tampered.rc, tampered.authenticated) == (ResponseCode.SUCCESS, False)
    finally:
        fresh.close()


def _raw(name: bytes, values: list[bytes]) -> bytes:
    return len(name).to_bytes(4, "big") + name + len(values).to_bytes(4, "big") + b"".join(values)


async def test_wire_flag_and_signature_values(
    signed_tree: tuple[RunningNode, ...], tmp_path: Path
) -> None:
    root, _, enterprise = signed_tree
    resolver = await _node(
        tmp_path,
        Role.RESOLVER,
        [],
        roots=[Target("127.0.0.1", root.port)],
        trust_anchor=KEYS["root"].public_key(),
    )
    client = HandleClient()
    try:
        reply = await client.resolve(Target("127.0.0.1", resolver.port), "88.118.100/SN-1")
        assert reply.rc == ResponseCode.SUCCESS
        assert reply.flags & OpFlag.AUTHENTICATED
        direct = await client.resolve(Target("127.0.0.1", enterprise.port), "88.118.100/SN-1")
        assert not direct.flags & OpFlag.AUTHENTICATED  # only a verifying resolver sets it
        body = direct.body
        assert verify_values("88.118.100/SN-1", body.values, KEYS["enterprise"].public_key())  # type: ignore[union-attr]
        assert not verify_values("88.118.100/SN-2", body.values, KEYS["enterprise"].public_key())  # type: ignore[union-attr]
        assert any(SIGNATURE_TYPE.encode() in v for v in body.values)  # type: ignore[union-attr]
        own = await client.resolve(Target("127.0.0.1", enterprise.port), "0.NA/88.118.100")
        assert published_key(own.body.values) == KEYS["enterprise"].public_key()  # type: ignore[union-attr]
    finally:
        client.close()
        await resolver.stop()


def test_unsigned_or_partly_signed_values_do_not_verify() -> None:
    key = PrivateKey.generate()
    signer = Signer(key, "301:0.NA/88.1")
    values = [HandleValue(1, "URL", b"https://a", timestamp=1)]
    sig = signer.sign("88.1/A", values)
    encoded = [encode_value(v) for v in values]
    assert verify_values("88.1/A", [*encoded, encode_value(sig)], key.public_key())
    extra = encode_value(HandleValue(2, "EMAIL", b"x", timestamp=1))
    assert not verify_values("88.1/A", [*encoded, extra, encode_value(sig)], key.public_key())
    assert not verify_values("88.1/A", encoded, key.public_key())
    garbage = encode_value(replace(sig, data=b"not.a.jws"))
    assert not verify_values("88.1/A", [*encoded, garbage], key.public_key())
