"""The expert pool (专家库): experts with fields, titles, affiliations and their ties to
enterprises; search; seeded draws for reviews with conflict-of-interest exclusion
(:mod:`helan.region.experts`); review scores."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from helan.core.errors import Conflict, NotFound, ValidationFailed
from helan.region import experts as draw_rules
from helan.region.divisions import in_region, region_prefix
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.services.region_schemes import trail
from helan.storage.meta import MetaStore
from helan.storage.meta.models_region import (
    RegionExpert,
    RegionExpertRelation,
    RegionReview,
    RegionReviewScore,
)
from helan.storage.meta.query import contains


@dataclass(frozen=True, slots=True, kw_only=True)
class NewExpert:
    id: str
    name: str
    title: str
    affiliation: str
    tenant: str | None
    fields: list[str]


def add_expert(meta: MetaStore, principal: Principal, region: str, new: NewExpert) -> RegionExpert:
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.expert.add",
        object_type="region_expert",
        object_id=new.id,
    ) as s:
        if s.get(RegionExpert, new.id) is not None:
            raise Conflict(f"expert {new.id!r} already exists")
        row = RegionExpert(
            id=new.id,
            region=region,
            name=new.name,
            title=new.title,
            affiliation=new.affiliation,
            tenant_id=new.tenant,
            fields=sorted(set(new.fields)),
        )
        s.add(row)
        return row


def _expert(meta_s: sa.orm.Session, region: str, expert: str) -> RegionExpert:
    row = meta_s.get(RegionExpert, expert)
    if row is None or not in_region(region, row.region):
        raise NotFound(f"expert {expert!r} not found")
    return row


def get_expert(
    meta: MetaStore, region: str, expert: str
) -> tuple[RegionExpert, list[RegionExpertRelation]]:
    with meta.session() as s:
        row = _expert(s, region, expert)
        rels = list(
            s.scalars(
                sa.select(RegionExpertRelation).where(RegionExpertRelation.expert_id == expert)
            )
        )
        return row, rels


def add_relation(
    meta: MetaStore,
    principal: Principal,
    region: str,
    expert: str,
    *,
    tenant: str,
    kind: str,
    ended_on: date | None,
    note: str,
) -> RegionExpertRelation:
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.expert.relation",
        object_type="region_expert",
        object_id=expert,
    ) as s:
        _expert(s, region, expert)
        row = RegionExpertRelation(
            expert_id=expert, tenant_id=tenant, kind=kind, ended_on=ended_on, note=note
        )
        s.add(row)
        s.flush()
        return row


def search(meta: MetaStore, region: str, *, q: str | None, field: str | None) -> list[RegionExpert]:
    """Experts of ``region`` (and below it) whose name, title or affiliation holds ``q``,
    with ``field`` among their fields."""
    with meta.session() as s:
        stmt = sa.select(RegionExpert).where(RegionExpert.region.startswith(region_prefix(region)))
        if q:
            stmt = stmt.where(
                sa.or_(
                    contains(RegionExpert.name, q),
                    contains(RegionExpert.title, q),
                    contains(RegionExpert.affiliation, q),
                )
            )
        rows = list(s.scalars(stmt.order_by(RegionExpert.id)))
    return [r for r in rows if field is None or field in r.fields]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewReview:
    subject_kind: str
    subject_id: str
    tenant: str
    field: str | None
    size: int
    seed: int | None


def open_review(meta: MetaStore, principal: Principal, region: str, new: NewReview) -> RegionReview:
    """Draw the review's experts among the region's active ones (its own and above)."""
    if not 1 <= new.size <= 25:
        raise ValidationFailed("size: 1 to 25 experts")
    review_id = secrets.token_hex(8)
    seed = new.seed if new.seed is not None else secrets.randbits(48)
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.review.open",
        object_type="region_review",
        object_id=review_id,
    ) as s:
        experts = [
            e
            for e in s.scalars(sa.select(RegionExpert).where(RegionExpert.active))
            if in_region(e.region, region) or in_region(region, e.region)
        ]
        rels: dict[str, list[tuple[str, str, date | None]]] = {}
        for r in s.scalars(
            sa.select(RegionExpertRelation).where(
                RegionExpertRelation.expert_id.in_([e.id for e in experts])
            )
        ):
            rels.setdefault(r.expert_id, []).append((r.tenant_id, r.kind, r.ended_on))
        candidates = [
            draw_rules.Candidate(
                id=e.id,
                tenant=e.tenant_id,
                fields=tuple(e.fields),
                relations=tuple(rels.get(e.id, ())),
            )
            for e in experts
        ]
        result = draw_rules.draw(
            candidates,
            tenant=new.tenant,
            size=new.size,
            seed=seed,
            today=datetime.now(UTC).date(),
            field_name=new.field,
        )
        row = RegionReview(
            id=review_id,
            region=region,
            subject_kind=new.subject_kind,
            subject_id=new.subject_id,
            tenant_id=new.tenant,
            field=new.field,
            seed=seed,
            drawn=result.drawn,
            excluded=result.excluded,
            created_by=principal.subject,
        )
        s.add(row)
        trail(
            s,
            "review",
            review_id,
            principal.subject,
            "drawn",
            drawn=result.drawn,
            excluded=result.excluded,
            seed=seed,
        )
        return row


def get_review(
    meta: MetaStore, region: str, review: str
) -> tuple[RegionReview, list[RegionReviewScore]]:
    with meta.session() as s:
        row = s.get(RegionReview, review)
        if row is None or not in_region(region, row.region):
            raise NotFound(f"review {review!r} not found")
        scores = list(
            s.scalars(sa.select(RegionReviewScore).where(RegionReviewScore.review_id == review))
        )
        return row, scores


def score(
    meta: MetaStore,
    principal: Principal,
    region: str,
    review: str,
    *,
    expert: str,
    value: float,
    comment: str,
) -> RegionReviewScore:
    with audited(
        meta,
        principal,
        tenant=None,
        action="region.review.score",
        object_type="region_review",
        object_id=review,
    ) as s:
        row = s.get(RegionReview, review)
        if row is None or not in_region(region, row.region):
            raise NotFound(f"review {review!r} not found")
        if expert not in row.drawn:
            raise ValidationFailed(f"expert: {expert!r} was not drawn for review {review}")
        if s.get(RegionReviewScore, (review, expert)) is not None:
            raise Conflict(f"{expert!r} already scored review {review}")
        out = RegionReviewScore(
            review_id=review, expert_id=expert, score=value, comment=comment, at=datetime.now(UTC)
        )
        s.add(out)
        trail(s, "review", review, principal.subject, "scored", expert=expert, score=value)
        return out
