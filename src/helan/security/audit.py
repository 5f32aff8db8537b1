"""The audit trail: every mutation and every login attempt, with its outcome.

Success is written in the same transaction as the change, so the trail never claims a change
that was rolled back; failures are written in a transaction of their own, so they survive the
rollback of the work that failed.

Every record is chained: it holds its position (``seq``), its predecessor's SM3 hash and its
own, ``SM3(prev_hash || canonical(record))``, so a record changed, deleted, inserted or moved
breaks the chain where it happened (:mod:`helan.security.audit_chain` verifies and signs it).
Appending first updates the one-row chain head, which takes PostgreSQL's row lock or SQLite's
write lock until commit: concurrent writers queue, the chain never forks. :func:`record` and
:func:`record_many` are the only ways records are written.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import HelanError
from helan.security.crypto.sm2 import sm3
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry
from helan.storage.meta.models_security_auth import AuditChainHead

GENESIS = "0" * 64  # the predecessor hash of the first record
_JSON = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
_TABLE = cast(sa.Table, AuditEntry.__table__)


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    """One audit record to append."""

    actor_kind: str
    actor: str
    tenant: str | None
    action: str
    object_type: str
    object_id: str | None
    result: str = "ok"
    detail: Mapping[str, Any] = field(default_factory=dict)
    at: datetime | None = None


def canonical(
    seq: int,
    at: datetime,
    tenant: str | None,
    actor_kind: str,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    result: str,
    detail: Mapping[str, Any],
) -> bytes:
    """The bytes a record's hash covers: every field, in a fixed order and encoding."""
    stamp = at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    fields = [seq, stamp, tenant, actor_kind, actor, action, object_type, object_id, result]
    return orjson.dumps([*fields, detail], option=_JSON)


def chain_hash(prev_hash: str, body: bytes) -> str:
    return sm3(bytes.fromhex(prev_hash), body).hex()


def entry_hash(row: AuditEntry, prev_hash: str) -> str:
    """The hash ``row`` should carry after ``prev_hash`` (what verification recomputes)."""
    body = canonical(
        row.seq or 0,
        row.at,
        row.tenant_id,
        row.actor_kind,
        row.actor,
        row.action,
        row.object_type,
        row.object_id,
        row.result,
        row.detail,
    )
    return chain_hash(prev_hash, body)


def _lock_head(session: Session) -> tuple[int, str]:
    """Take the chain's lock (an UPDATE of the head row) and read the head."""
    update = sa.update(AuditChainHead).where(AuditChainHead.id == 1)
    if not session.execute(update.values(seq=AuditChainHead.seq)).rowcount:  # type: ignore[attr-defined]
        session.add(AuditChainHead(id=1, seq=-1, hash=GENESIS))  # a schema made without migrations
        session.flush()
    head = session.get_one(AuditChainHead, 1, populate_existing=True)
    if head.seq >= 0:
        return head.seq, head.hash
    # First use (the migration leaves seq -1): records older than the chain are chained, in the
    # order they were written. Later, a record outside the chain can only have been inserted
    # by hand, and verification names it.
    seq, prev = 0, GENESIS
    legacy = session.scalars(
        sa.select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id)
    ).all()
    for row in legacy:
        seq += 1
        row.seq, row.prev_hash = seq, prev
        row.detail = orjson.loads(orjson.dumps(row.detail, option=_JSON))
        row.hash = prev = entry_hash(row, prev)
    session.flush()
    session.execute(update.values(seq=seq, hash=prev))
    return seq, prev


def record_many(session: Session, entries: Sequence[Entry]) -> int:
    """Append ``entries`` to the chain in ``session``'s transaction (the batch path: one lock,
    one multi-row INSERT). Returns the last record's position."""
    seq, prev = _lock_head(session)
    rows: list[dict[str, Any]] = []
    now = datetime.now(UTC)
    for e in entries:
        seq += 1
        at = (e.at or now).astimezone(UTC)
        actor, object_id = e.actor[:100], e.object_id[:200] if e.object_id else None
        detail = orjson.loads(orjson.dumps(dict(e.detail), option=_JSON))
        body = canonical(
            seq, at, e.tenant, e.actor_kind, actor, e.action, e.object_type, object_id,
            e.result, detail,
        )  # fmt: skip
        own = chain_hash(prev, body)
        rows.append(
            {
                "at": at,
                "tenant_id": e.tenant,
                "actor_kind": e.actor_kind,
                "actor": actor,
                "action": e.action,
                "object_type": e.object_type,
                "object_id": object_id,
                "result": e.result,
                "detail": detail,
                "seq": seq,
                "prev_hash": prev,
                "hash": own,
            }
        )
        prev = own
    if rows:
        session.execute(sa.insert(_TABLE), rows)  # Core: no ORM bookkeeping, 3x faster
    session.execute(
        sa.update(AuditChainHead).where(AuditChainHead.id == 1).values(seq=seq, hash=prev)
    )
    return seq


def record(
    session: Session,
    *,
    actor_kind: str,
    actor: str,
    tenant: str | None,
    action: str,
    object_type: str,
    object_id: str | None,
    result: str = "ok",
    detail: Mapping[str, Any] | None = None,
) -> None:
    record_many(
        session,
        [
            Entry(
                actor_kind=actor_kind,
                actor=actor,
                tenant=tenant,
                action=action,
                object_type=object_type,
                object_id=object_id,
                result=result,
                detail=detail or {},
            )
        ],
    )


@contextmanager
def audited(
    meta: MetaStore,
    principal: Principal,
    *,
    tenant: str | None,
    action: str,
    object_type: str,
    object_id: str | None,
    detail: Mapping[str, Any] | None = None,
) -> Iterator[Session]:
    """A session for one mutation, audited as ``ok`` on commit (with ``detail``, which the
    caller may fill in while the session is open) or with the error's code."""
    try:
        with meta.session() as session:
            yield session
            record(
                session,
                actor_kind=principal.kind,
                actor=principal.subject,
                tenant=tenant,
                action=action,
                object_type=object_type,
                object_id=object_id,
                detail=detail,
            )
    except HelanError as exc:
        with meta.session() as session:
            record(
                session,
                actor_kind=principal.kind,
                actor=principal.subject,
                tenant=tenant,
                action=action,
                object_type=object_type,
                object_id=object_id,
                result=exc.code,
                detail={"message": exc.message[:500]},
            )
        raise
