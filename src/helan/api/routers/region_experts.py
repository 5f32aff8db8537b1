"""The expert pool: experts (fields, titles, affiliations, ties to enterprises), search,
seeded draws for reviews excluding conflicted experts (every exclusion stored with its
reason), and review scores. The region's administrators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from starlette.concurrency import run_in_threadpool

from helan.api.deps import Meta
from helan.api.region_deps import RegionCode, RegionManager
from helan.api.schemas.region import (
    ExpertDetail,
    ExpertIn,
    ExpertOut,
    RelationIn,
    RelationOut,
    ReviewIn,
    ReviewOut,
    ScoreIn,
    ScoreOut,
)
from helan.services import region_experts as svc

router = APIRouter(prefix="/api/v1/regions/{region}", tags=["regions"])
ExpertKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
ReviewKey = Annotated[str, Path(pattern=r"^[0-9a-f]{16}$")]


@router.get("/experts", summary="Search the expert pool")
async def search(
    region: RegionCode,
    _: RegionManager,
    meta: Meta,
    q: Annotated[str | None, Query(max_length=100)] = None,
    field: Annotated[str | None, Query(max_length=64)] = None,
) -> list[ExpertOut]:
    rows = await run_in_threadpool(lambda: svc.search(meta, region, q=q, field=field))
    return [ExpertOut.model_validate(r) for r in rows]


@router.post("/experts", status_code=201, summary="Add an expert")
async def add_expert(
    region: RegionCode, body: ExpertIn, principal: RegionManager, meta: Meta
) -> ExpertOut:
    new = svc.NewExpert(
        id=body.id,
        name=body.name,
        title=body.title,
        affiliation=body.affiliation,
        tenant=body.tenant,
        fields=body.fields,
    )
    return ExpertOut.model_validate(
        await run_in_threadpool(svc.add_expert, meta, principal, region, new)
    )


@router.get("/experts/{expert}", summary="An expert with their ties to enterprises")
async def get_expert(
    region: RegionCode, expert: ExpertKey, _: RegionManager, meta: Meta
) -> ExpertDetail:
    row, rels = await run_in_threadpool(svc.get_expert, meta, region, expert)
    return ExpertDetail(
        **ExpertOut.model_validate(row).model_dump(),
        relations=[RelationOut.model_validate(r) for r in rels],
    )


@router.post("/experts/{expert}/relations", status_code=201, summary="Record a tie")
async def add_relation(
    region: RegionCode, expert: ExpertKey, body: RelationIn, principal: RegionManager, meta: Meta
) -> RelationOut:
    row = await run_in_threadpool(
        lambda: svc.add_relation(
            meta,
            principal,
            region,
            expert,
            tenant=body.tenant,
            kind=body.kind,
            ended_on=body.ended_on,
            note=body.note,
        )
    )
    return RelationOut.model_validate(row)


@router.post("/reviews", status_code=201, summary="Draw a review's experts")
async def open_review(
    region: RegionCode, body: ReviewIn, principal: RegionManager, meta: Meta
) -> ReviewOut:
    new = svc.NewReview(
        subject_kind=body.subject_kind,
        subject_id=body.subject_id,
        tenant=body.tenant,
        field=body.field,
        size=body.size,
        seed=body.seed,
    )
    return ReviewOut.model_validate(
        await run_in_threadpool(svc.open_review, meta, principal, region, new)
    )


@router.get("/reviews/{review}", summary="A review: draw, exclusions, scores")
async def get_review(
    region: RegionCode, review: ReviewKey, _: RegionManager, meta: Meta
) -> ReviewOut:
    row, scores = await run_in_threadpool(svc.get_review, meta, region, review)
    out = ReviewOut.model_validate(row)
    out.scores = [ScoreOut.model_validate(x) for x in scores]
    return out


@router.post("/reviews/{review}/scores", status_code=201, summary="An expert's score")
async def score(
    region: RegionCode, review: ReviewKey, body: ScoreIn, principal: RegionManager, meta: Meta
) -> ScoreOut:
    row = await run_in_threadpool(
        lambda: svc.score(
            meta,
            principal,
            region,
            review,
            expert=body.expert,
            value=body.score,
            comment=body.comment,
        )
    )
    return ScoreOut.model_validate(row)
