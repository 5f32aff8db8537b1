"""One suite over every backend: records, bulk load, paging, survival across a restart."""

from __future__ import annotations

from helan.ident.model import MAX_HANDLE_BYTES, Handle, HandleValue, handle_key
from helan.ident.store import HandleStore, open_store
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
