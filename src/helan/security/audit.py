"""The audit trail: every mutation and every login attempt, with its outcome.

Success is written in the same transaction as the change, so the trail never claims a change
that was rolled back; failures are written in a transaction of their own, so they survive the
rollback of the work that failed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy.orm import Session

from helan.core.errors import HelanError
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import AuditEntry


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
    session.add(
        AuditEntry(
            tenant_id=tenant,
            actor_kind=actor_kind,
            actor=actor[:100],
            action=action,
            object_type=object_type,
            object_id=object_id[:200] if object_id else None,
            result=result,
            detail=dict(detail or {}),
        )
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
