"""One suite over every backend: records, bulk load, paging, survival across a restart."""

from __future__ import annotations

from pathlib import Path

import lmdb

from helan.ident.codes import ValuePermission
from helan.ident.model import MAX_HANDLE_BYTES, Handle, HandleValue, handle_key
from helan.ident.store import HandleStore, open_store
from helan.ident.store.lmdb import LmdbStore
from helan.ident.wire.records import decode_record, encode_record


def _rec(name: str) -> tuple[bytes, bytes]:
    return handle_key(name), encode_record(name, [HandleValue(1, "URL", name.encode())])


def test_put_get_create_delete(store: HandleStore) -> None:
    key, rec = _rec("88.1/A")
    assert store.get(key) is None
    assert store.create(key, rec)
    assert not store.create(key, b"other")
    assert store.get(key) == rec
    store.put(key, encode_record("88.1/A", []))
    assert decode_record(store.get(key) or b"")[1] == []
    assert store.delete(key)
    assert not store.delete(key)


def test_bulk_load_scan_and_count(store: HandleStore) -> None:
    items = [_rec(f"88.1/S{i:04d}") for i in range(250)] + [_rec("88.10/X"), _rec("88.2/Y")]
    assert store.put_many(iter(items)) == len(items)
    assert store.count(b"88.1/") == 250
    page = store.scan(b"88.1/", 100, 50)
    assert page[0] == b"88.1/S0100"
    assert len(page) == 50
    assert store.scan(b"88.1/", 240, 50)[-1] == b"88.1/S0249"


def test_records_survive_restart(store_url: str) -> None:
    first = open_store(store_url)
    key, rec = _rec("88.1/durable")
    first.put(key, rec)
    first.close()
    again = open_store(store_url)
    try:
        assert again.get(key) == rec
    finally:
        again.close()


def test_create_many_reports_each_key_and_never_overwrites(store: HandleStore) -> None:
    key_a, rec_a = _rec("88.1/A")
    store.put(key_a, rec_a)
    key_b, rec_b = _rec("88.1/B")
    done = store.create_many([(key_a, b"x"), (key_b, rec_b), (key_b, b"dup")])
    assert done == [False, True, False]
    assert store.get(key_a) == rec_a
    assert store.get(key_b) == rec_b
    assert store.create_many([]) == []


def test_longest_valid_handle_fits_every_store(store: HandleStore) -> None:
    """The model's length limit is what every backend can key (LMDB: 511 bytes)."""
    handle = Handle.parse("88.1/" + "x" * (MAX_HANDLE_BYTES - len("88.1/")))
    key, rec = _rec(str(handle))
    store.put(key, rec)
    assert store.get(key) == rec


def _private_rec(name: str) -> tuple[bytes, bytes]:
    secret = HandleValue(300, "HS_SECKEY", b"s3cret", permissions=ValuePermission.ADMIN_READ)
    url = HandleValue(1, "URL", name.encode())
    return handle_key(name), encode_record(name, [url, secret])


def test_get_public_never_returns_a_record_with_a_private_value(store: HandleStore) -> None:
    """What the UDP fast path sends as it is: kept right through every kind of write."""
    pub_key, pub = _rec("88.1/pub")
    priv_key, priv = _private_rec("88.1/priv")
    assert store.get_public(pub_key) is None  # absent
    store.put(pub_key, pub)
    store.put(priv_key, priv)
    assert (store.get_public(pub_key), store.get_public(priv_key)) == (pub, None)
    assert store.get(priv_key) == priv  # the record itself is there
    store.put(priv_key, _rec("88.1/priv")[1])  # the secret removed: public now
    assert store.get_public(priv_key) is not None
    store.put(pub_key, _private_rec("88.1/pub")[1])  # a secret added
    assert store.get_public(pub_key) is None
    assert store.delete(pub_key)
    assert store.create(pub_key, pub)  # re-created public, after a private past
    assert store.get_public(pub_key) == pub
    bulk = [_private_rec("88.1/b0"), _rec("88.1/b1"), _rec("88.1/priv"), _private_rec("88.1/b3")]
    store.put_many(iter(bulk))
    assert [store.get_public(k) is None for k, _ in bulk] == [True, False, False, True]
    store.put_many(iter([_rec("88.1/b0")]))  # overwritten public in bulk
    assert store.get_public(handle_key("88.1/b0")) is not None
    store.put_many(iter([_private_rec("88.1/b0")]))
    store.put_many(iter([_rec("88.1/b0")]), public=True)  # vouched public: the mark goes too
    assert store.get_public(handle_key("88.1/b0")) is not None
    made = store.create_many([_private_rec("88.1/c0"), _rec("88.1/c1")])
    assert made == [True, True]
    assert store.get_public(handle_key("88.1/c0")) is None
    assert store.get_public(handle_key("88.1/c1")) is not None
    store.put(handle_key("88.1/bad"), b"\x00\x00\x00\x09truncated")  # damaged: never as it is
    assert store.get_public(handle_key("88.1/bad")) is None


def test_an_lmdb_store_from_before_the_private_index_is_indexed_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.lmdb"
    env = lmdb.open(str(path), max_dbs=1)  # the layout before the index: records only
    db = env.open_db(b"handles")
    pub_key, pub = _rec("88.1/pub")
    priv_key, priv = _private_rec("88.1/priv")
    with env.begin(db=db, write=True) as txn:
        txn.put(pub_key, pub)
        txn.put(priv_key, priv)
    env.close()
    store = LmdbStore(path)
    try:
        assert store.get_public(pub_key) == pub
        assert store.get_public(priv_key) is None
    finally:
        store.close()
