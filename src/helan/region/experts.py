"""The expert pool's random draw with conflict-of-interest exclusion.

An expert is excluded from reviewing an enterprise when they work for it (same enterprise)
or had a relationship with it (consulting, former employment, shareholding, ...) that is
ongoing or ended less than :data:`COOLING_OFF` ago. The draw is seeded, and the seed, the
candidates and every exclusion with its reason are stored, so anyone can re-run it.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from helan.core.errors import ValidationFailed

COOLING_OFF = timedelta(days=3 * 365)


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    id: str
    tenant: str | None  # employer, when a tenant of the platform
    fields: tuple[str, ...]
    relations: tuple[tuple[str, str, date | None], ...] = ()  # (tenant, kind, ended_on)


@dataclass(frozen=True, slots=True, kw_only=True)
class Draw:
    drawn: list[str]
    excluded: list[dict[str, str]]  # expert, reason
    eligible: int


def conflict(c: Candidate, tenant: str, today: date) -> str | None:
    """Why ``c`` may not review ``tenant`` (None: no conflict)."""
    if c.tenant == tenant:
        return f"works for {tenant}"
    for other, kind, ended in c.relations:
        if other != tenant:
            continue
        if ended is None:
            return f"{kind} relationship with {tenant}, ongoing"
        if today - ended < COOLING_OFF:
            return f"{kind} relationship with {tenant}, ended {ended.isoformat()}"
    return None


def draw(
    candidates: Sequence[Candidate],
    *,
    tenant: str,
    size: int,
    seed: int,
    today: date,
    field_name: str | None = None,
) -> Draw:
    """``size`` experts drawn at random (``seed``) among those of ``field_name`` without a
    conflict with ``tenant``; a pool too small is a 422 saying how many were eligible."""
    excluded: list[dict[str, str]] = []
    pool: list[str] = []
    for c in sorted(candidates, key=lambda c: c.id):
        if field_name is not None and field_name not in c.fields:
            continue
        reason = conflict(c, tenant, today)
        if reason is not None:
            excluded.append({"expert": c.id, "reason": reason})
        else:
            pool.append(c.id)
    if len(pool) < size:
        raise ValidationFailed(
            f"size: {size} experts asked for, {len(pool)} eligible"
            + (f" in {field_name!r}" if field_name else "")
            + f" after excluding {len(excluded)} with a conflict of interest"
        )
    return Draw(drawn=random.Random(seed).sample(pool, size), excluded=excluded, eligible=len(pool))  # noqa: S311 - a draw, not a secret
