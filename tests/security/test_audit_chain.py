"""The tamper-evident audit trail on real databases: records chained by SM3, checkpoints
signed with SM2; verification names each record that was edited, deleted, inserted or moved
by hand, in the database and in an auditor's export; retention keeps the rest verifiable."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from helan.security import audit, audit_chain
from helan.security.crypto import sm2
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry

KEY = sm2.PrivateKey.generate()
PUB = KEY.public_key()


def entry(i: int, at: datetime | None = None) -> audit.Entry:
    return audit.Entry(
        actor_kind="user", actor="alice", tenant="acme", action="device.update",
        object_type="device", object_id=f"d{i}", detail={"n": i, "名": "泵"}, at=at,
    )  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def meta(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MetaStore]:
    url = (
        f"sqlite:///{tmp_path / 'm.sqlite3'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = MetaStore(url)
    store.migrate()
    yield store
    store.close()


def fill(meta: MetaStore, n: int = 10) -> None:
    with meta.session() as s:
        audit.record_many(s, [entry(i) for i in range(n)])


def execute(meta: MetaStore, sql: str, **params: object) -> None:
    with meta.engine.begin() as conn:
        conn.execute(sa.text(sql), params)


def kinds(report: audit_chain.Report) -> set[tuple[str, int | None]]:
    return {(p.kind, p.seq) for p in report.problems}


def test_an_untouched_chain_verifies(meta: MetaStore) -> None:
    fill(meta)
    with meta.session() as s:
        audit.record(
            s, actor_kind="user", actor="bob", tenant=None, action="auth.login",
            object_type="user", object_id="bob",
        )  # fmt: skip
    assert audit_chain.checkpoint(meta, KEY) == 11
    report = audit_chain.verify(meta, PUB)
    assert report.ok, report.problems
    assert (report.records, report.first_seq, report.last_seq) == (11, 1, 11)


def test_a_hand_edited_row_is_named(meta: MetaStore) -> None:
    fill(meta)
    execute(meta, "UPDATE audit_log SET result = 'ok2' WHERE seq = 4")
    report = audit_chain.verify(meta, PUB)
    assert kinds(report) == {("changed", 4)}
    assert "seq 4" in report.problems[0].message


def test_an_edited_detail_is_found(meta: MetaStore) -> None:
    fill(meta)
    with meta.session() as s:
        row = s.scalars(sa.select(AuditEntry).where(AuditEntry.seq == 7)).one()
        row.detail = {"n": 70, "名": "泵"}
    assert kinds(audit_chain.verify(meta, PUB)) == {("changed", 7)}


def test_deleted_rows_are_named(meta: MetaStore) -> None:
    fill(meta)
    execute(meta, "DELETE FROM audit_log WHERE seq IN (5, 6)")
    execute(meta, "DELETE FROM audit_log WHERE seq = 10")
    report = audit_chain.verify(meta, PUB)
    assert ("deleted", 7) in kinds(report)
    assert ("deleted", 10) in kinds(report)  # the tail: the head still says 10
    assert any("5..6" in p.message for p in report.problems)


def test_swapped_rows_are_found(meta: MetaStore) -> None:
    fill(meta)
    execute(meta, "UPDATE audit_log SET seq = -1 WHERE seq = 3")
    execute(meta, "UPDATE audit_log SET seq = 3 WHERE seq = 4")
    execute(meta, "UPDATE audit_log SET seq = 4 WHERE seq = -1")
    report = audit_chain.verify(meta, PUB)
    assert {("changed", 3), ("changed", 4)} <= kinds(report)


def test_inserted_rows_are_named(meta: MetaStore) -> None:
    fill(meta, 3)
    at = datetime.now(UTC)
    execute(
        meta,
        "INSERT INTO audit_log (at, actor_kind, actor, action, object_type, result, detail) "
        "VALUES (:at, 'user', 'mallory', 'x', 'y', 'ok', '{}')",
        at=at,
    )
    report = audit_chain.verify(meta, PUB)
    assert [p.kind for p in report.problems] == ["inserted"]
    # and later appends do not adopt it into the chain
    fill(meta, 2)
    assert [p.kind for p in audit_chain.verify(meta, PUB).problems] == ["inserted"]


def test_a_rewritten_chain_is_caught_by_the_signed_checkpoint(meta: MetaStore) -> None:
    """Whoever can write the database can recompute every hash, but not sign."""
    fill(meta, 5)
    audit_chain.checkpoint(meta, KEY)
    with meta.session() as s:
        rows = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.seq)).all()
        rows[1].actor = "mallory"
        prev = audit.GENESIS
        for row in rows:
            row.prev_hash = prev
            row.hash = prev = audit.entry_hash(row, prev)
    execute(meta, "UPDATE audit_chain_head SET hash = :h", h=prev)
    assert ("changed", 5) in kinds(audit_chain.verify(meta, PUB))
    # a checkpoint re-signed with the forger's own key does not help
    forger = sm2.PrivateKey.generate()
    sig = sm2.sign(forger, audit_chain.checkpoint_message(5, prev)).hex()
    execute(
        meta,
        "UPDATE audit_checkpoints SET hash = :h, public_key = :k, signature = :s",
        h=prev, k=forger.public_key().hex(), s=sig,
    )  # fmt: skip
    assert ("checkpoint", 5) in kinds(audit_chain.verify(meta, PUB))


def test_retention_keeps_the_rest_verifiable(meta: MetaStore) -> None:
    old = datetime.now(UTC) - timedelta(days=200)
    with meta.session() as s:
        audit.record_many(s, [entry(i, at=old) for i in range(4)])
    fill(meta, 3)
    assert audit_chain.prune(meta, KEY, datetime.now(UTC) - timedelta(days=180)) == 4
    report = audit_chain.verify(meta, PUB)
    assert report.ok, report.problems
    assert (report.first_seq, report.records) == (5, 3)
    # deleting the oldest kept record by hand is not covered by any checkpoint
    execute(meta, "DELETE FROM audit_log WHERE seq = 5")
    assert ("deleted", 6) in kinds(audit_chain.verify(meta, PUB))


def test_export_verifies_offline_and_names_tampering(meta: MetaStore, tmp_path: Path) -> None:
    fill(meta, 6)
    audit_chain.checkpoint(meta, KEY)
    out = tmp_path / "audit.jsonl"
    with out.open("wb") as fh:
        assert audit_chain.export(meta, PUB, fh) == 6
    report, key = audit_chain.verify_file(out)
    assert report.ok
    assert key == PUB
    lines = out.read_bytes().splitlines()
    header, cps, recs = lines[0], lines[1:2], lines[2:]
    # reordered lines
    swapped = [header, *cps, recs[0], recs[2], recs[1], *recs[3:]]
    out.write_bytes(b"\n".join(swapped))
    assert ("reordered", 2) in kinds(audit_chain.verify_file(out)[0])
    # an edited record
    rec = orjson.loads(recs[3])
    rec["actor"] = "mallory"
    out.write_bytes(b"\n".join([header, *cps, *recs[:3], orjson.dumps(rec), *recs[4:]]))
    assert kinds(audit_chain.verify_file(out)[0]) == {("changed", 4)}
    # the file's own key replaced: a pinned key refuses the checkpoint
    other = sm2.PrivateKey.generate().public_key()
    assert ("checkpoint", 6) in kinds(audit_chain.verify_file(out, other)[0])
    out.write_bytes(b"not json")
    with pytest.raises(audit_chain.BadExport):
        audit_chain.verify_file(out)


def _append(url: str, worker: int) -> None:
    store = MetaStore(url)
    try:
        for i in range(25):
            with store.session() as s:
                audit.record_many(s, [entry(worker * 1000 + i), entry(worker * 1000 + i)])
    finally:
        store.close()


def test_two_processes_appending_do_not_fork_the_chain(meta: MetaStore) -> None:
    fill(meta, 1)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_append, args=(str(meta.engine.url.render_as_string(False)), w))
             for w in (1, 2)]  # fmt: skip
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    report = audit_chain.verify(meta, PUB)
    assert report.ok, report.problems[:3]
    assert report.records == 101


def test_sm2_refuses_out_of_range_signatures() -> None:
    msg = b"checkpoint"
    good = sm2.sign(KEY, msg)
    assert sm2.verify(PUB, msg, good)
    s = good[32:]
    assert not sm2.verify(PUB, msg, bytes(32) + s)  # r = 0
    assert not sm2.verify(PUB, msg, good[:32] + sm2.N.to_bytes(32, "big"))  # s = n
    assert not sm2.verify(PUB, msg, good[:32] + (sm2.N + 1).to_bytes(32, "big"))  # s > n
    assert not sm2.verify(PUB, msg, good[:63])  # truncated


def test_records_from_before_the_chain_are_chained_on_first_append(meta: MetaStore) -> None:
    for i in range(3):
        execute(
            meta,
            "INSERT INTO audit_log (at, actor_kind, actor, action, object_type, result, detail) "
            "VALUES (:at, 'user', :who, 'x', 'y', 'ok', '{\"k\": [1, 2]}')",
            at=datetime.now(UTC), who=f"old{i}",
        )  # fmt: skip
    fill(meta, 2)
    report = audit_chain.verify(meta, PUB)
    assert report.ok, report.problems
    assert report.records == 5
    with meta.session() as s:
        first = s.scalars(sa.select(AuditEntry).where(AuditEntry.seq == 1)).one()
        assert first.actor == "old0"
