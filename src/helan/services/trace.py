"""Traceability: EPCIS capture and query per tenant, genealogy across tenants and platforms,
sharing agreements, named queries and subscriptions. The events are in the trace event store
(:mod:`helan.trace.store`); agreements, partners, queries and subscriptions in the metadata
database (``models_trace``)."""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from helan.core import ids
from helan.core.errors import Conflict, NotFound, PayloadTooLarge, ValidationFailed
from helan.security.audit import audited
from helan.security.principal import Principal
from helan.storage.meta import MetaStore
from helan.storage.meta.models import Tenant
from helan.storage.meta.models_trace import (
    TraceAgreement,
    TraceNamedQuery,
    TracePartner,
    TraceSubscription,
)
from helan.trace import genealogy, identifiers, query
from helan.trace.epcis.document import parse_json, read_document
from helan.trace.epcis.xml import read_xml
from helan.trace.genealogy import Direction, Source
from helan.trace.remote import RemoteSource, view_out
from helan.trace.sharing import Terms
from helan.trace.sources import LocalSource, MergedSource, SharedSource
from helan.trace.store import CaptureResult, Stored, TraceStore

MAX_CAPTURE_BYTES = 64 << 20
STANDARD_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
_PREFIX_TTL_S = 5.0


def store_path(data_dir: Path) -> Path:
    return data_dir / "trace" / "events.sqlite3"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Page:
    events: list[Stored]
    next_token: str | None
    contexts: dict[int, Any]


class TraceHub:
    """One per API process: the store, the metadata, and the cached prefix owners."""

    def __init__(self, meta: MetaStore, store: TraceStore) -> None:
        self.meta = meta
        self.store = store
        self._prefixes: dict[str, str] = {}
        self._prefixes_at = 0.0
        self._lock = threading.Lock()

    # -- tenants and prefixes ------------------------------------------------------------

    def prefix_owners(self) -> dict[str, str]:
        """Handle prefix -> tenant, refreshed every few seconds."""
        with self._lock:
            if time.monotonic() - self._prefixes_at > _PREFIX_TTL_S:
                with self.meta.session() as s:
                    rows = s.execute(
                        sa.select(Tenant.ident_prefix, Tenant.id).where(
                            Tenant.ident_prefix.is_not(None)
                        )
                    ).all()
                self._prefixes = {p: t for p, t in rows if p}
                self._prefixes_at = time.monotonic()
            return self._prefixes

    def tenant_prefix(self, tenant: str) -> str | None:
        return next((p for p, t in self.prefix_owners().items() if t == tenant), None)

    # -- capture and query ---------------------------------------------------------------

    def capture(self, tenant: str, body: bytes, content_type: str | None) -> CaptureResult:
        """Capture one document, all or nothing (ValidationFailed with every problem)."""
        if len(body) > MAX_CAPTURE_BYTES:
            raise PayloadTooLarge(
                f"capture documents are limited to {MAX_CAPTURE_BYTES >> 20} MiB; split it"
            )
        kind = (content_type or "application/json").split(";")[0].strip().lower()
        if kind in ("application/xml", "text/xml"):
            doc = read_xml(body)
        elif kind in ("application/json", "application/ld+json"):
            doc = parse_json(body)
        else:
            raise ValidationFailed(
                f"Content-Type {kind!r}: send application/ld+json, application/json or "
                "application/xml",
                code="unsupported_media_type",
            )
        owners = self.prefix_owners()
        events = read_document(
            doc,
            tenant_prefix=self.tenant_prefix(tenant),
            prefix_owner=owners.get,
            tenant=tenant,
        )
        return self.store.capture(tenant, events)

    def events(self, tenant: str, params: Mapping[str, str]) -> Page:
        q = query.parse(params)
        return self._page(tenant, q)

    def _page(self, tenant: str, q: query.EventQuery) -> Page:
        sql, args = query.where(tenant, q)
        rows = self.store.select(sql, args)
        more = len(rows) > q.per_page
        rows = rows[: q.per_page]
        token = query.token(q, rows[-1].seq) if more and rows else None
        contexts = self.store.contexts({r.context_id for r in rows})
        return Page(rows, token, contexts)

    # -- genealogy -----------------------------------------------------------------------

    def terms_for(self, owner: str, viewer: str | None) -> Terms | None:
        """What ``owner`` shares with ``viewer`` (None: the public): the union of its
        agreements that apply."""
        with self.meta.session() as s:
            rows = s.scalars(
                sa.select(TraceAgreement).where(TraceAgreement.tenant_id == owner)
            ).all()
        terms: Terms | None = None
        for a in rows:
            applies = a.audience == "public" or (
                viewer is not None and a.audience == "tenant" and a.partner_tenant == viewer
            )
            if applies:
                t = Terms(frozenset(a.event_types), frozenset(a.fields))
                terms = t if terms is None else terms.union(t)
        return terms

    def source_for(self, tenant: str | None, *, public_owner: str | None = None) -> Picker:
        """The genealogy source picker for ``tenant`` (None: the public view of
        ``public_owner``'s shared events)."""
        partners: dict[str, TracePartner] = {}
        if tenant is not None:
            with self.meta.session() as s:
                for p in s.scalars(sa.select(TracePartner).where(TracePartner.tenant_id == tenant)):
                    s.expunge(p)
                    partners[p.prefix] = p
        if tenant is not None:
            own: Source = LocalSource(self.store, tenant)
        else:
            assert public_owner is not None
            own = SharedSource(self.store, public_owner, self.terms_for(public_owner, None))
        return Picker(self, tenant, own, partners, me=tenant or public_owner)

    def trace(
        self,
        tenant: str | None,
        epc: str,
        direction: Direction,
        depth: int,
        *,
        public_owner: str | None = None,
    ) -> dict[str, Any]:
        pick = self.source_for(tenant, public_owner=public_owner)
        result = genealogy.walk(identifiers.key(epc), direction, pick, max_depth=depth)
        out = result.out()
        out["epc"] = epc
        out["withheld"] = pick.withheld()
        return out

    def recall(self, tenant: str, lot: str, depth: int) -> dict[str, Any]:
        pick = self.source_for(tenant)
        out = genealogy.recall(identifiers.key(lot), pick, max_depth=depth)
        out["epc"] = lot
        out["withheld"] = pick.withheld()
        return out

    def events_public(self, owner: str, epc: str) -> dict[str, Any]:
        """The events naming ``epc`` that ``owner`` shares with the public, newest last."""
        src = SharedSource(self.store, owner, self.terms_for(owner, None))
        key = identifiers.key(epc)
        views = sorted(src.naming([key])[key], key=lambda v: v.event_time_ms)
        return {"items": [view_out(v) for v in views], "withheld": src.withheld()}

    # -- sharing with other platforms ----------------------------------------------------

    def share_naming(self, token: str, keys: Sequence[str]) -> dict[str, Any]:
        """What a token's holder may see of the events naming ``keys``."""
        with self.meta.session() as s:
            rows = s.scalars(
                sa.select(TraceAgreement).where(TraceAgreement.token_hash == _hash(token))
            ).all()
        if not rows:
            raise NotFound("no sharing agreement for this token")
        owner = rows[0].tenant_id
        terms = Terms(frozenset(rows[0].event_types), frozenset(rows[0].fields))
        for a in rows[1:]:
            terms = terms.union(Terms(frozenset(a.event_types), frozenset(a.fields)))
        src = SharedSource(self.store, owner, terms)
        found = src.naming(list(dict.fromkeys(keys)))
        return {
            "events": {k: [view_out(v) for v in views] for k, views in found.items()},
            "withheld": src.withheld(),
        }

    # -- agreements, partners, named queries, subscriptions ------------------------------

    def create_agreement(
        self,
        principal: Principal,
        tenant: str,
        *,
        agreement: str,
        audience: str,
        partner_tenant: str | None,
        event_types: Sequence[str],
        fields: Sequence[str],
    ) -> tuple[TraceAgreement, str | None]:
        """The token (audience ``token``) is returned once; only its hash is kept."""
        ids.device_id(agreement)
        terms = Terms.of(event_types, fields)
        if audience not in ("tenant", "token", "public"):
            raise ValidationFailed("audience must be tenant, token or public")
        if (audience == "tenant") != (partner_tenant is not None):
            raise ValidationFailed("partner_tenant is given exactly when audience is tenant")
        token = secrets.token_urlsafe(24) if audience == "token" else None
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="create",
            object_type="trace_agreement",
            object_id=agreement,
        ) as s:
            if s.get(TraceAgreement, (tenant, agreement)) is not None:
                raise Conflict(f"agreement {agreement!r} exists")
            if partner_tenant is not None and s.get(Tenant, partner_tenant) is None:
                raise ValidationFailed(
                    f"unknown tenant {partner_tenant!r}", code="unknown_reference"
                )
            row = TraceAgreement(
                tenant_id=tenant,
                id=agreement,
                audience=audience,
                partner_tenant=partner_tenant,
                token_hash=_hash(token) if token else None,
                event_types=sorted(terms.event_types),
                fields=sorted(terms.fields),
                created_at=datetime.now(UTC),
            )
            s.add(row)
            s.flush()
            s.expunge(row)
        return row, token

    def agreements(self, tenant: str) -> list[TraceAgreement]:
        with self.meta.session() as s:
            rows = list(
                s.scalars(
                    sa.select(TraceAgreement)
                    .where(TraceAgreement.tenant_id == tenant)
                    .order_by(TraceAgreement.id)
                )
            )
            for r in rows:
                s.expunge(r)
        return rows

    def delete_agreement(self, principal: Principal, tenant: str, agreement: str) -> None:
        self._delete(principal, tenant, TraceAgreement, (tenant, agreement), "trace_agreement")

    def _delete(
        self, principal: Principal, tenant: str, model: Any, pk: tuple[str, str], kind: str
    ) -> None:
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="delete",
            object_type=kind,
            object_id=pk[1],
        ) as s:
            row = s.get(model, pk)
            if row is None:
                raise NotFound(f"{kind.replace('trace_', '')} {pk[1]!r} not found")
            s.delete(row)

    def put_partner(
        self,
        principal: Principal,
        tenant: str,
        prefix: str,
        *,
        base_url: str,
        remote_tenant: str,
        token: str,
    ) -> TracePartner:
        if identifiers.handle_prefix(f"{prefix}/x") != prefix:
            raise ValidationFailed(f"{prefix!r} is not a Handle prefix (e.g. 88.118.100)")
        if not base_url.startswith(("http://", "https://")):
            raise ValidationFailed("base_url must be an http(s) URL")
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="put",
            object_type="trace_partner",
            object_id=prefix,
        ) as s:
            row = s.get(TracePartner, (tenant, prefix))
            if row is None:
                row = TracePartner(tenant_id=tenant, prefix=prefix, created_at=datetime.now(UTC))
                s.add(row)
            row.base_url = base_url
            row.remote_tenant = remote_tenant
            row.token = token
            s.flush()
            s.expunge(row)
        return row

    def partners(self, tenant: str) -> list[TracePartner]:
        with self.meta.session() as s:
            rows = list(s.scalars(sa.select(TracePartner).where(TracePartner.tenant_id == tenant)))
            for r in rows:
                s.expunge(r)
        return rows

    def delete_partner(self, principal: Principal, tenant: str, prefix: str) -> None:
        self._delete(principal, tenant, TracePartner, (tenant, prefix), "trace_partner")

    def put_query(
        self, principal: Principal, tenant: str, name: str, params: Mapping[str, str]
    ) -> TraceNamedQuery:
        ids.device_id(name)
        clean = {k: v for k, v in params.items() if k not in ("perPage", "nextPageToken")}
        query.parse(clean)  # refuse what a query would refuse
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="put",
            object_type="trace_query",
            object_id=name,
        ) as s:
            row = s.get(TraceNamedQuery, (tenant, name))
            if row is None:
                row = TraceNamedQuery(tenant_id=tenant, name=name, created_at=datetime.now(UTC))
                s.add(row)
            row.params = dict(clean)
            s.flush()
            s.expunge(row)
        return row

    def named_query(self, tenant: str, name: str) -> TraceNamedQuery:
        with self.meta.session() as s:
            row = s.get(TraceNamedQuery, (tenant, name))
            if row is None:
                raise NotFound(f"query {name!r} not found")
            s.expunge(row)
        return row

    def named_queries(self, tenant: str) -> list[TraceNamedQuery]:
        with self.meta.session() as s:
            rows = list(
                s.scalars(
                    sa.select(TraceNamedQuery)
                    .where(TraceNamedQuery.tenant_id == tenant)
                    .order_by(TraceNamedQuery.name)
                )
            )
            for r in rows:
                s.expunge(r)
        return rows

    def delete_query(self, principal: Principal, tenant: str, name: str) -> None:
        with self.meta.session() as s:
            used = s.scalar(
                sa.select(sa.func.count()).where(
                    TraceSubscription.tenant_id == tenant, TraceSubscription.query_name == name
                )
            )
        if used:
            raise Conflict(f"query {name!r} has subscriptions: delete them first")
        self._delete(principal, tenant, TraceNamedQuery, (tenant, name), "trace_query")

    def run_query(self, tenant: str, name: str, paging: Mapping[str, str]) -> Page:
        params = {**self.named_query(tenant, name).params, **paging}
        return self.events(tenant, params)

    def subscribe(
        self, principal: Principal, tenant: str, subscription: str, query_name: str, dest: str
    ) -> TraceSubscription:
        """New matches only: the subscription starts at the store's current position."""
        ids.device_id(subscription)
        self.named_query(tenant, query_name)
        start = int(
            self.store.con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
        )
        with audited(
            self.meta,
            principal,
            tenant=tenant,
            action="create",
            object_type="trace_subscription",
            object_id=subscription,
        ) as s:
            if s.get(TraceSubscription, (tenant, subscription)) is not None:
                raise Conflict(f"subscription {subscription!r} exists")
            row = TraceSubscription(
                tenant_id=tenant,
                id=subscription,
                query_name=query_name,
                dest=dest,
                last_seq=start,
                delivered=0,
                failures=0,
                created_at=datetime.now(UTC),
            )
            s.add(row)
            s.flush()
            s.expunge(row)
        return row

    def subscriptions(self, tenant: str) -> list[TraceSubscription]:
        with self.meta.session() as s:
            rows = list(
                s.scalars(
                    sa.select(TraceSubscription)
                    .where(TraceSubscription.tenant_id == tenant)
                    .order_by(TraceSubscription.id)
                )
            )
            for r in rows:
                s.expunge(r)
        return rows

    def unsubscribe(self, principal: Principal, tenant: str, subscription: str) -> None:
        self._delete(
            principal, tenant, TraceSubscription, (tenant, subscription), "trace_subscription"
        )

    def pending(self, sub: TraceSubscription, limit: int = 500) -> Page:
        """The subscription's next matches after its checkpoint."""
        params = dict(self.named_query(sub.tenant_id, sub.query_name).params)
        q = query.parse(params)
        q = query.EventQuery(params=q.params, per_page=limit, after_seq=sub.last_seq)
        return self._page(sub.tenant_id, q)

    def delivered(
        self, sub: TraceSubscription, last_seq: int, count: int, error: str | None
    ) -> None:
        with self.meta.session() as s:
            row = s.get(TraceSubscription, (sub.tenant_id, sub.id))
            if row is None:
                return
            if error is None:
                row.last_seq = max(row.last_seq, last_seq)
                row.delivered += count
                row.last_error = None
            else:
                row.failures += 1
                row.last_error = error[:500]


class Picker:
    """Picks the source of an identifier by its Handle prefix: this tenant's own store; for
    another tenant's prefix that tenant's shared events and this tenant's own; for a
    partner platform's prefix its trace service and this tenant's own. One per trace, so
    each source is made once and what each withheld is collected."""

    def __init__(
        self,
        hub: TraceHub,
        viewer: str | None,
        own: Source,
        partners: Mapping[str, TracePartner],
        *,
        me: str | None,
    ) -> None:
        self.hub = hub
        self.viewer = viewer
        self.own = own
        self.partners = partners
        self.me = me
        self.owners = hub.prefix_owners()
        self.made: dict[str, Source] = {}

    def __call__(self, key: str) -> Source:
        prefix = identifiers.handle_prefix(key.removeprefix("hdl:"))
        owner = self.owners.get(prefix) if prefix else None
        if prefix is None or owner == self.me:
            return self.own
        if prefix not in self.made:
            other: Source | None = None
            if owner is not None:
                terms = self.hub.terms_for(owner, self.viewer)
                other = SharedSource(self.hub.store, owner, terms)
            elif prefix in self.partners:
                p = self.partners[prefix]
                other = RemoteSource(p.base_url, p.token)
            self.made[prefix] = self.own if other is None else MergedSource([self.own, other])
        return self.made[prefix]

    def withheld(self) -> list[dict[str, Any]]:
        seen: list[dict[str, Any]] = []
        sources: list[Source] = [self.own]
        for src in self.made.values():
            sources.extend(getattr(src, "sources", [src]))
        done: set[int] = set()
        for inner in sources:
            if id(inner) in done:
                continue
            done.add(id(inner))
            seen.extend(w for w in inner.withheld() if w not in seen)
        return seen


def query_document(page: Page, *, query_name: str = "SimpleEventQuery") -> bytes:
    """An EPCISQueryDocument of the page's events, each exactly as captured. The @context is
    the standard one and the prefix maps of the events' documents."""
    prefixes: dict[str, Any] = {}
    urls: list[str] = [STANDARD_CONTEXT]
    for ctx in page.contexts.values():
        for item in ctx if isinstance(ctx, list) else [ctx]:
            if isinstance(item, dict):
                for k, v in item.items():
                    prefixes.setdefault(k, v)
            elif isinstance(item, str) and item not in urls:
                urls.append(item)
    context: list[Any] = [*urls, prefixes] if prefixes else urls
    head = orjson.dumps(
        {
            "@context": context,
            "type": "EPCISQueryDocument",
            "schemaVersion": "2.0",
            "creationDate": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        }
    )
    body = b",".join(r.body for r in page.events)
    name = orjson.dumps(query_name)
    return (
        head[:-1]
        + b',"epcisBody":{"queryResults":{"queryName":'
        + name
        + b',"resultsBody":{"eventList":['
        + body
        + b"]}}}}"
    )
