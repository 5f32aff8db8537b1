"""A tenant's traceability settings: sharing agreements (what it shows other tenants, token
holders on other platforms, or the public), partner platforms (whose trace service its
traces follow identifiers into), named queries and their webhook subscriptions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request, Response
from pydantic import BaseModel, Field

from helan.api.deps import Admin, Reader, Writer
from helan.api.routers.epcis import _document
from helan.api.routers.epcis_deps import Hub, allowed_hosts
from helan.api.schemas.common import ObjectId
from helan.rules.notify.allowlist import check_url
from helan.trace.sharing import SHAREABLE

router = APIRouter(prefix="/api/v1/tenants/{tenant}/epcis", tags=["epcis"])
EventType = Literal[
    "ObjectEvent", "AggregationEvent", "AssociationEvent", "TransactionEvent", "TransformationEvent"
]


class AgreementIn(BaseModel):
    id: ObjectId
    audience: Literal["tenant", "token", "public"]
    partner_tenant: Annotated[str | None, Field(max_length=32)] = None
    event_types: Annotated[list[EventType], Field(min_length=1, max_length=5)]
    fields: Annotated[list[str], Field(max_length=len(SHAREABLE))] = []


class AgreementOut(BaseModel):
    id: str
    audience: str
    partner_tenant: str | None
    event_types: list[str]
    fields: list[str]
    created_at: datetime
    token: str | None = None


class PartnerIn(BaseModel):
    base_url: Annotated[str, Field(min_length=8, max_length=500)]
    remote_tenant: Annotated[str, Field(min_length=1, max_length=32)]
    token: Annotated[str, Field(min_length=8, max_length=200)]


class PartnerOut(BaseModel):
    prefix: str
    base_url: str
    remote_tenant: str
    created_at: datetime


class QueryIn(BaseModel):
    params: Annotated[dict[str, Annotated[str, Field(max_length=4000)]], Field(max_length=30)]


class QueryOut(BaseModel):
    name: str
    params: dict[str, str]
    created_at: datetime


class SubscriptionIn(BaseModel):
    id: ObjectId
    query: ObjectId
    dest: Annotated[str, Field(min_length=8, max_length=500)]


class SubscriptionOut(BaseModel):
    id: str
    query: str
    dest: str
    last_seq: int
    delivered: int
    failures: int
    last_error: str | None
    created_at: datetime


def _agreement(row: Any, token: str | None = None) -> AgreementOut:
    return AgreementOut(
        id=row.id,
        audience=row.audience,
        partner_tenant=row.partner_tenant,
        event_types=row.event_types,
        fields=row.fields,
        created_at=row.created_at,
        token=token,
    )


@router.post("/agreements", status_code=201, responses={409: {}, 422: {}})
def create_agreement(tenant: str, body: AgreementIn, principal: Admin, hub: Hub) -> AgreementOut:
    """For ``audience: token`` the answer holds the token, shown this once: the partner
    platform's enterprise puts it in its partner entry for this tenant's prefix."""
    row, token = hub.create_agreement(
        principal,
        tenant,
        agreement=body.id,
        audience=body.audience,
        partner_tenant=body.partner_tenant,
        event_types=body.event_types,
        fields=body.fields,
    )
    return _agreement(row, token)


@router.get("/agreements")
def list_agreements(tenant: str, _: Reader, hub: Hub) -> list[AgreementOut]:
    return [_agreement(r) for r in hub.agreements(tenant)]


@router.delete("/agreements/{agreement}", status_code=204)
def delete_agreement(tenant: str, agreement: str, principal: Admin, hub: Hub) -> Response:
    hub.delete_agreement(principal, tenant, agreement)
    return Response(status_code=204)


@router.put("/partners/{prefix}")
def put_partner(
    tenant: str, prefix: str, body: PartnerIn, principal: Admin, hub: Hub
) -> PartnerOut:
    """Identifiers under ``prefix`` are followed into ``base_url``'s trace service."""
    row = hub.put_partner(
        principal,
        tenant,
        prefix,
        base_url=body.base_url,
        remote_tenant=body.remote_tenant,
        token=body.token,
    )
    return PartnerOut.model_validate(row, from_attributes=True)


@router.get("/partners")
def list_partners(tenant: str, _: Reader, hub: Hub) -> list[PartnerOut]:
    return [PartnerOut.model_validate(r, from_attributes=True) for r in hub.partners(tenant)]


@router.delete("/partners/{prefix}", status_code=204)
def delete_partner(tenant: str, prefix: str, principal: Admin, hub: Hub) -> Response:
    hub.delete_partner(principal, tenant, prefix)
    return Response(status_code=204)


@router.put("/queries/{name}", responses={422: {}})
def put_query(tenant: str, name: str, body: QueryIn, principal: Writer, hub: Hub) -> QueryOut:
    """Save standard query parameters under ``name`` (checked as a query would be)."""
    row = hub.put_query(principal, tenant, name, body.params)
    return QueryOut(name=row.name, params=row.params, created_at=row.created_at)


@router.get("/queries")
def list_queries(tenant: str, _: Reader, hub: Hub) -> list[QueryOut]:
    return [
        QueryOut(name=r.name, params=r.params, created_at=r.created_at)
        for r in hub.named_queries(tenant)
    ]


@router.get("/queries/{name}/events", response_class=Response)
def run_query(tenant: str, name: str, request: Request, _: Reader, hub: Hub) -> Response:
    """The named query's events; ``perPage`` and ``nextPageToken`` page them."""
    paging = {k: v for k, v in request.query_params.items() if k in ("perPage", "nextPageToken")}
    return _document(request, hub.run_query(tenant, name, paging), query_name=name)


@router.delete("/queries/{name}", status_code=204, responses={409: {}})
def delete_query(tenant: str, name: str, principal: Writer, hub: Hub) -> Response:
    hub.delete_query(principal, tenant, name)
    return Response(status_code=204)


def _subscription(r: Any) -> SubscriptionOut:
    return SubscriptionOut(
        id=r.id,
        query=r.query_name,
        dest=r.dest,
        last_seq=r.last_seq,
        delivered=r.delivered,
        failures=r.failures,
        last_error=r.last_error,
        created_at=r.created_at,
    )


@router.post("/subscriptions", status_code=201, responses={404: {}, 409: {}, 422: {}})
def subscribe(
    tenant: str,
    body: Annotated[SubscriptionIn, Body()],
    principal: Writer,
    hub: Hub,
    request: Request,
) -> SubscriptionOut:
    """New events matching the named query are POSTed to ``dest`` (an EPCISQueryDocument)
    after each capture that adds some; a failed delivery is retried with the next one."""
    check_url(body.dest, allowed_hosts(request), field="dest")
    return _subscription(hub.subscribe(principal, tenant, body.id, body.query, body.dest))


@router.get("/subscriptions")
def list_subscriptions(tenant: str, _: Reader, hub: Hub) -> list[SubscriptionOut]:
    return [_subscription(r) for r in hub.subscriptions(tenant)]


@router.delete("/subscriptions/{subscription}", status_code=204)
def unsubscribe(tenant: str, subscription: str, principal: Writer, hub: Hub) -> Response:
    hub.unsubscribe(principal, tenant, subscription)
    return Response(status_code=204)
