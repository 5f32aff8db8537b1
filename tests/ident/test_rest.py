"""The Handle.Net REST API: JSON shapes, status mapping, authentication, and pyhandle unchanged."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import trustme
import uvicorn
from pyhandle.handleclient import RESTHandleClient
from pyhandle.handleexceptions import HandleAuthenticationError

from helan.ident.codes import ALL_ADMIN_PERMISSIONS, ValuePermission
from helan.ident.model import AdminRecord, HandleValue, TtlType, ValueReference
from helan.ident.registry import Registry
from helan.ident.rest.app import create_app
from helan.ident.rest.jsonvalues import plain_record_json, value_to_json
from helan.ident.store import HandleStore, open_store
from helan.ident.wire.records import encode_admin, encode_record

PREFIX = "88.118.100"
SECRET = "s3cret-é"


def _basic(user: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = _basic(f"300%3A0.NA/{PREFIX}", SECRET)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    store: HandleStore = open_store(f"lmdb:{tmp_path / 'db'}")
    reg = Registry(store, homed=[PREFIX, "88.118.200"])
    reg.bootstrap_prefix(PREFIX, SECRET.encode(), None)
    reg.bootstrap_prefix("88.118.200", b"other", None)
    yield reg
    store.close()


@pytest.fixture
async def api(registry: Registry) -> Iterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://node") as client:
        yield client  # type: ignore[misc]


URL_VALUE = {"index": 1, "type": "URL", "data": {"format": "string", "value": "https://x/1"}}


async def test_create_read_filter_and_shapes(api: httpx.AsyncClient) -> None:
    r = await api.put(f"/api/handles/{PREFIX}/SN-1", json={"values": [URL_VALUE]}, headers=ADMIN)
    assert (r.status_code, r.json()) == (201, {"responseCode": 1, "handle": f"{PREFIX}/SN-1"})
    r = await api.get(f"/api/handles/{PREFIX}/sn-1")
    body = r.json()
    assert r.status_code == 200
    assert body["responseCode"] == 1
    assert body["handle"] == f"{PREFIX}/SN-1"
    (value,) = body["values"]
    assert value["data"] == {"format": "string", "value": "https://x/1"}
    assert value["ttl"] == 86400
    assert value["timestamp"].endswith("Z")
    r = await api.get(f"/api/handles/{PREFIX}/SN-1", params={"type": "EMAIL"})
    assert (r.status_code, r.json()["responseCode"], r.json()["values"]) == (200, 200, [])
    r = await api.get(f"/api/handles/0.NA/{PREFIX}")
    types = {v["type"] for v in r.json()["values"]}
    assert "HS_ADMIN" in types
    assert "HS_SECKEY" not in types
    admin = next(v for v in r.json()["values"] if v["type"] == "HS_ADMIN")
    assert admin["data"]["value"] == {
        "handle": f"0.NA/{PREFIX}",
        "index": 300,
        "permissions": "111111111111",
    }


async def test_errors_map_to_handle_codes(api: httpx.AsyncClient) -> None:
    cases = [
        (lambda: api.get(f"/api/handles/{PREFIX}/missing"), 404, 100),
        (lambda: api.get(f"/api/handles/{PREFIX}/%252e%252e%252fetc"), 400, 102),
        (
            lambda: api.get(f"/api/handles/{PREFIX}/a%EF%BC%8Eb"),
            200,
            None,
        ),  # full-width dot in a suffix
        (lambda: api.put(f"/api/handles/{PREFIX}/A", json={"values": [URL_VALUE]}), 401, 402),
        (
            lambda: api.put(
                f"/api/handles/{PREFIX}/A",
                json={"values": [URL_VALUE]},
                headers=_basic(f"300:0.NA/{PREFIX}", "wrong"),
            ),
            401,
            403,
        ),
        (
            lambda: api.put(
                f"/api/handles/{PREFIX}/A",
                json={"values": [URL_VALUE]},
                headers=_basic("300:0.NA/88.118.200", "other"),
            ),
            403,
            400,
        ),
        (
            lambda: api.put(f"/api/handles/{PREFIX}/A", content=b"{not json", headers=ADMIN),
            400,
            202,
        ),
        (
            lambda: api.put(
                f"/api/handles/{PREFIX}/A", json={"values": [URL_VALUE, URL_VALUE]}, headers=ADMIN
            ),
            400,
            202,
        ),
        (
            lambda: api.put("/api/handles/77.1/A", json={"values": [URL_VALUE]}, headers=ADMIN),
            404,
            301,
        ),
        (lambda: api.delete(f"/api/handles/{PREFIX}/missing", headers=ADMIN), 404, 100),
    ]
    for call, status, rc in cases:
        r = await call()
        if rc is None:  # the full-width dot is refused as U+FF0E, not silently folded to '.'
            assert r.status_code == 400
            assert "U+FF0E" in r.json()["message"]
            continue
        assert (r.status_code, r.json()["responseCode"]) == (status, rc), r.text
    r = await api.get(f"/api/handles/{PREFIX}/A")
    assert r.status_code == 404  # nothing was written by any of the refused requests


async def test_overwrite_mint_index_update_delete_and_list(api: httpx.AsyncClient) -> None:
    path = f"/api/handles/{PREFIX}/B"
    assert (await api.put(path, json={"values": [URL_VALUE]}, headers=ADMIN)).status_code == 201
    r = await api.put(
        path, params={"overwrite": "false"}, json={"values": [URL_VALUE]}, headers=ADMIN
    )
    assert (r.status_code, r.json()["responseCode"]) == (409, 101)
    email = {"index": 2, "type": "EMAIL", "data": "a@b.c"}
    r = await api.put(path, params={"index": 2}, json={"values": [email]}, headers=ADMIN)
    assert r.status_code == 200
    assert [v["index"] for v in (await api.get(path)).json()["values"]] == [1, 2]
    r = await api.delete(path, params={"index": 1}, headers=ADMIN)
    assert [v["type"] for v in (await api.get(path)).json()["values"]] == ["EMAIL"]
    r = await api.put(
        f"/api/handles/{PREFIX}/",
        params={"mintNewSuffix": "true"},
        json={"values": [URL_VALUE]},
        headers=ADMIN,
    )
    minted = r.json()["handle"]
    assert r.status_code == 201
    assert minted.startswith(f"{PREFIX}/")
    assert len(minted) > len(PREFIX) + 30
    r = await api.get(
        "/api/handles", params={"prefix": PREFIX, "page": 0, "pageSize": 1}, headers=ADMIN
    )
    body = r.json()
    assert body["totalCount"] == "2"
    assert len(body["handles"]) == 1
    assert body["pageSize"] == 1
    assert (await api.delete(path, headers=ADMIN)).status_code == 200
    assert (await api.get(path)).status_code == 404


@pytest.fixture
def tls_url(registry: Registry, tmp_path: Path, port: int) -> Iterator[tuple[str, str]]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_file))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    config = uvicorn.Config(
        create_app(registry),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"https://127.0.0.1:{port}", str(ca_file)
    server.should_exit = True
    thread.join(10)


def test_plain_record_body_equals_the_general_one() -> None:
    """The flat stored-record -> JSON pass gives the general encoder's bytes, hides values that
    are not public, and declines what it does not handle (structured data, references, bytes)."""
    url = HandleValue(1, "URL", "https://x/é".encode(), ttl=-60, timestamp=1_700_000_000)
    secret = HandleValue(300, "HS_SECKEY", b"k", permissions=ValuePermission.ADMIN_READ)
    absolute = HandleValue(5, "EMAIL", b"a@b", ttl=1_800_000_000, ttl_type=TtlType.ABSOLUTE)
    raw = encode_record(f"{PREFIX}/Mixed", [url, absolute, secret])
    general = {
        "responseCode": 1,
        "handle": f"{PREFIX}/Mixed",
        "values": [value_to_json(v) for v in (url, absolute)],
    }
    assert plain_record_json(raw) == orjson.dumps(general)
    admin = HandleValue(
        100, "HS_ADMIN", encode_admin(AdminRecord(f"0.NA/{PREFIX}", 300, ALL_ADMIN_PERMISSIONS))
    )
    referring = HandleValue(2, "URL", b"u", references=(ValueReference(f"{PREFIX}/x", 1),))
    binary = HandleValue(3, "KEY", b"\xff\xfe")
    for value in (admin, referring, binary):
        assert plain_record_json(encode_record(f"{PREFIX}/x", [value])) is None
    assert plain_record_json(raw[:-1]) is None


async def test_fast_read_path_never_serves_store_keys(
    api: httpx.AsyncClient, registry: Registry
) -> None:
    registry.store.put(b"\x00TEMPLATE\x00X", encode_record("x/y", []))
    r = await api.get("/api/handles/%00TEMPLATE%00X")
    assert (r.status_code, r.json()["responseCode"]) == (400, 102)
    r = await api.get(f"/api/handles/{PREFIX}/%2541")  # "%41" once decoded: never stored
    assert r.status_code == 400


def test_pyhandle_create_read_update_delete(tls_url: tuple[str, str]) -> None:
    url, ca_file = tls_url
    client = RESTHandleClient.instantiate_with_username_and_password(
        url, f"300:0.NA/{PREFIX}", SECRET, HTTPS_verify=ca_file
    )
    handle = f"{PREFIX}/SN-0001"
    assert client.register_handle(handle, "https://example.com/a", overwrite=False) == handle
    assert client.get_value_from_handle(handle, "URL") == "https://example.com/a"
    client.modify_handle_value(handle, URL="https://example.com/b", CHECKSUM="abc")
    assert client.get_value_from_handle(handle, "URL") == "https://example.com/b"
    assert client.get_value_from_handle(handle, "CHECKSUM") == "abc"
    client.delete_handle_value(handle, "CHECKSUM")
    assert client.get_value_from_handle(handle, "CHECKSUM") is None
    client.delete_handle(handle)
    assert client.retrieve_handle_record_json(handle) is None
    intruder = RESTHandleClient.instantiate_with_username_and_password(
        url, f"300:0.NA/{PREFIX}", "wrong", HTTPS_verify=ca_file
    )
    with pytest.raises(HandleAuthenticationError):
        intruder.register_handle(f"{PREFIX}/SN-0002", "https://example.com/x")
