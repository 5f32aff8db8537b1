"""Checking and anchoring the audit chain (records are written by :mod:`helan.security.audit`).

A checkpoint signs one record's position and hash with the platform's SM2 audit key (kept in
the data dir, apart from the database, or ``HELAN_AUDIT_SIGN_KEY``): whoever can write the
database can recompute SM3 hashes, but cannot sign, so records up to the last checkpoint are
fixed. :func:`verify` walks the chain in order and names every record that was changed
(its hash no longer matches), deleted (a gap, or a broken link), inserted (unchained, or a link
that does not fit) or moved (out of order), and checks each checkpoint's signature, key and
hash. Retention (:func:`prune`) deletes a prefix of the chain after checkpointing its last
record, so the first kept record's predecessor stays anchored. :func:`export` writes records,
checkpoints and the public key as JSON lines for an auditor; :func:`verify_file` checks such a
file offline.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
import sqlalchemy as sa

from helan.config import Settings
from helan.jobs.spec import Interval, JobSpec
from helan.security.audit import GENESIS, _lock_head, canonical, chain_hash
from helan.security.crypto import sm2
from helan.security.crypto.keys import kept_key
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry
from helan.storage.meta.models_security_auth import AuditChainHead, AuditCheckpoint

log = logging.getLogger(__name__)

SIGN_KEY_FILE = "audit_sign.key"
FORMAT = "helan-audit/1"
CHECKPOINT_JOB = "audit-checkpoint"
_HEX64 = re.compile(r"[0-9a-f]{64}")


def signing_key(settings: Settings) -> sm2.PrivateKey:
    text = kept_key(
        settings.audit_sign_key.get_secret_value(),
        settings.data_dir / SIGN_KEY_FILE,
        lambda: sm2.PrivateKey.generate().hex(),
    )
    return sm2.PrivateKey.from_hex(text)


def checkpoint_message(seq: int, hash_: str) -> bytes:
    return f"{FORMAT}\ncheckpoint\n{seq}\n{hash_}".encode()


@dataclass(frozen=True, slots=True)
class Problem:
    seq: int | None
    record_id: int | None
    kind: str  # changed, deleted, inserted, reordered, checkpoint, head
    message: str


@dataclass(slots=True)
class Report:
    records: int = 0
    checkpoints: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _check(
    records: Iterable[dict[str, Any]],
    checkpoints: list[dict[str, Any]],
    public_key: bytes,
    head: tuple[int, str] | None,
) -> Report:
    """The verification itself, over records in their stored order (seq ascending)."""
    report = Report(checkpoints=len(checkpoints))
    anchors: dict[int, str] = {}
    for cp in checkpoints:
        seq, hash_ = int(cp["seq"]), str(cp["hash"])
        signed = sm2.verify(
            bytes.fromhex(cp["public_key"]),
            checkpoint_message(seq, hash_),
            bytes.fromhex(cp["signature"]),
        )
        if bytes.fromhex(cp["public_key"]) != public_key:
            report.problems.append(
                Problem(seq, None, "checkpoint", f"checkpoint {seq} is signed by another key")
            )
        elif not signed:
            report.problems.append(
                Problem(seq, None, "checkpoint", f"checkpoint {seq} has a bad signature")
            )
        else:
            anchors[seq] = hash_
    prev_seq: int | None = None
    prev_hash = GENESIS
    for rec in records:
        seq, rid = rec["seq"], rec.get("id")
        if seq is None:
            report.problems.append(
                Problem(None, rid, "inserted", f"record id {rid} is outside the chain")
            )
            continue
        report.records += 1
        if prev_seq is None:
            report.first_seq = seq
            anchor = GENESIS if seq == 1 else anchors.get(seq - 1)
            if anchor is None:
                report.problems.append(
                    Problem(seq, rid, "deleted", f"records before seq {seq} are missing "
                            "and no checkpoint anchors the first kept record")
                )  # fmt: skip
            elif rec["prev_hash"] != anchor:
                report.problems.append(
                    Problem(seq, rid, "changed", f"record seq {seq} (id {rid}) does not "
                            "follow its anchoring checkpoint")
                )  # fmt: skip
        elif seq <= prev_seq:
            report.problems.append(
                Problem(seq, rid, "reordered", f"record seq {seq} (id {rid}) comes after "
                        f"seq {prev_seq}: records are out of order")
            )  # fmt: skip
        elif seq > prev_seq + 1:
            report.problems.append(
                Problem(seq, rid, "deleted", f"records seq {prev_seq + 1}..{seq - 1} are "
                        f"missing before seq {seq} (id {rid})")
            )  # fmt: skip
        elif rec["prev_hash"] != prev_hash:
            report.problems.append(
                Problem(seq, rid, "inserted", f"record seq {seq} (id {rid}) does not link to "
                        f"seq {prev_seq}: a record was inserted, replaced or moved")
            )  # fmt: skip
        body = canonical(
            seq, rec["at"], rec["tenant_id"], rec["actor_kind"], rec["actor"], rec["action"],
            rec["object_type"], rec["object_id"], rec["result"], rec["detail"],
        )  # fmt: skip
        own = chain_hash(rec["prev_hash"], body) if _is_hash(rec["prev_hash"]) else ""
        if own != rec["hash"]:
            report.problems.append(
                Problem(seq, rid, "changed", f"record seq {seq} (id {rid}) was changed: "
                        "its content does not match its hash")
            )  # fmt: skip
        if seq in anchors and anchors[seq] != rec["hash"]:
            report.problems.append(
                Problem(seq, rid, "changed", f"record seq {seq} (id {rid}) differs from "
                        f"signed checkpoint {seq}")
            )  # fmt: skip
        prev_seq, prev_hash = max(seq, prev_seq or 0), str(rec["hash"])
    report.last_seq = prev_seq
    if head is not None and head[0] > 0 and (prev_seq, prev_hash) != head:
        report.problems.append(
            Problem(head[0], None, "deleted", f"the chain head is seq {head[0]} but the last "
                    f"record is seq {prev_seq}: records at the end were deleted or replaced")
        )  # fmt: skip
    return report


def _is_hash(value: object) -> bool:
    return (
        isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value)
    )


def _rows(meta: MetaStore) -> Iterator[dict[str, Any]]:
    table = AuditEntry.__table__
    stmt = sa.select(table).order_by(table.c.seq.is_(None), table.c.seq, table.c.id)
    with meta.engine.connect() as conn:
        for row in conn.execution_options(yield_per=5000).execute(stmt).mappings():
            yield dict(row)


def _checkpoints(meta: MetaStore) -> list[dict[str, Any]]:
    with meta.session() as s:
        rows = s.scalars(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).all()
        return [
            {
                "seq": c.seq,
                "hash": c.hash,
                "at": c.at.isoformat(),
                "public_key": c.public_key,
                "signature": c.signature,
            }
            for c in rows
        ]


def _head(meta: MetaStore) -> tuple[int, str] | None:
    with meta.session() as s:
        head = s.get(AuditChainHead, 1)
        return (head.seq, head.hash) if head else None


def verify(meta: MetaStore, public_key: bytes) -> Report:
    return _check(_rows(meta), _checkpoints(meta), public_key, _head(meta))


def checkpoint(meta: MetaStore, key: sm2.PrivateKey) -> int | None:
    """Sign the chain's current head (if not signed already); its position, or None if empty."""
    with meta.session() as s:
        seq, hash_ = _lock_head(s)
        if seq == 0:
            return None
        if s.get(AuditCheckpoint, seq) is None:
            s.add(_signed(seq, hash_, key))
        return seq


def _signed(seq: int, hash_: str, key: sm2.PrivateKey) -> AuditCheckpoint:
    return AuditCheckpoint(
        seq=seq,
        hash=hash_,
        public_key=key.public_key().hex(),
        signature=sm2.sign(key, checkpoint_message(seq, hash_)).hex(),
    )


def prune(meta: MetaStore, key: sm2.PrivateKey, older_than: datetime) -> int:
    """Delete the chain's prefix of records older than ``older_than`` (up to the newest such
    record, so the kept part stays contiguous), anchored by a checkpoint. Returns rows gone."""
    with meta.session() as s:
        _lock_head(s)
        last = s.scalar(sa.select(sa.func.max(AuditEntry.seq)).where(AuditEntry.at < older_than))
        if last is None:
            return 0
        hash_ = s.scalar(sa.select(AuditEntry.hash).where(AuditEntry.seq == last))
        assert hash_ is not None, "chained rows carry their hash"
        if s.get(AuditCheckpoint, last) is None:
            s.add(_signed(last, hash_, key))
        gone = s.execute(sa.delete(AuditEntry).where(AuditEntry.seq <= last))
        return int(gone.rowcount)  # type: ignore[attr-defined]  # a CursorResult for a DELETE


def audit_jobs(meta: MetaStore, settings: Settings) -> list[JobSpec]:
    """The periodic checkpoint and the daily retention, in worker threads."""
    key = signing_key(settings)

    async def sign() -> None:
        await asyncio.to_thread(checkpoint, meta, key)

    async def retain() -> None:
        cutoff = datetime.now(UTC) - timedelta(days=settings.audit_retention_days)
        if gone := await asyncio.to_thread(prune, meta, key, cutoff):
            log.info("audit retention removed %d records", gone)

    every = settings.audit_checkpoint_minutes * 60
    return [
        JobSpec(id=CHECKPOINT_JOB, trigger=Interval(seconds=every), run=sign),
        JobSpec(id="audit-retention", trigger=Interval(seconds=86_400, at_start=True), run=retain),
    ]


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def export(meta: MetaStore, public_key: bytes, out: IO[bytes]) -> int:
    """Write the chain for an auditor: a header (format, public key, head), the checkpoints,
    then every record in order, one JSON object a line. Returns records written."""
    head = _head(meta)
    header = {"type": "header", "format": FORMAT, "public_key": public_key.hex(), "head": head}
    out.write(orjson.dumps(header) + b"\n")
    for cp in _checkpoints(meta):
        out.write(orjson.dumps({"type": "checkpoint", **cp}) + b"\n")
    n = 0
    for rec in _rows(meta):
        rec["at"] = _stamp(rec["at"])
        out.write(orjson.dumps({"type": "record", **rec}) + b"\n")
        n += 1
    return n


class BadExport(ValueError):
    pass


def verify_file(path: Path, public_key: bytes | None = None) -> tuple[Report, bytes]:
    """Check an export offline, in the file's order. ``public_key`` pins the key the auditor
    expects; otherwise the file's own is used (compare its fingerprint out of band). Returns
    the report and the key checked against."""
    lines = path.read_bytes().splitlines()
    try:
        header = orjson.loads(lines[0])
        if header.get("type") != "header" or header.get("format") != FORMAT:
            raise BadExport(f"{path} is not a Helan audit export")
        key = public_key or bytes.fromhex(header["public_key"])
        items = [orjson.loads(line) for line in lines[1:] if line.strip()]
    except (IndexError, ValueError, KeyError, TypeError) as exc:
        raise BadExport(f"{path} is not a readable audit export: {exc}") from None
    checkpoints = [i for i in items if i.get("type") == "checkpoint"]
    records = []
    for item in (i for i in items if i.get("type") == "record"):
        item["at"] = datetime.fromisoformat(item["at"])
        records.append(item)
    head = header.get("head")
    anchor = (int(head[0]), str(head[1])) if head else None
    return _check(records, checkpoints, key, anchor), key
