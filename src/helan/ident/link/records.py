"""The identifier records the platform publishes, as pure functions of metadata.

A device's record (``88.118.100/pump-1``):

- index 1, ``URL``: the device's resource on this platform's data service;
- index 2, ``HELAN_DEVICE``: the public description, JSON (name, type, vendor, model, tenant
  name). A type of our own rather than Handle.Net's ``DESC`` (plain text): the data is
  structured, and the type also marks the record as one the platform manages;
- index 100, ``HS_ADMIN``: the tenant's prefix admin ``300:0.NA/<prefix>`` with every right.

A product's record (``88.118.100/SN-0001``) is the same with the product's resource as URL and
``HELAN_PRODUCT`` at index 2: name, model, kind, the identifiers of its batch and of the device
that made it (when they have one), when it was produced and the tenant name.

A product's record also holds, at index 10, ``HELAN_TRACE``: where its EPCIS events are (JSON:
the tenant's event query for the identifier, its public trace, and the share API other
platforms call with a token), so a client that has only the identifier finds the events.

A prefix record (``0.NA/88.118.100``): ``HS_ADMIN`` (100), ``HS_SITE`` (1, this node),
``HELAN_TENANT`` (2, the owning tenant's id) and, when the platform has an ident admin secret,
``HS_SECKEY`` (300, admin-read only), so the operator can write under the prefix over REST.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import orjson

from helan.ident.codes import ALL_ADMIN_PERMISSIONS, ValuePermission
from helan.ident.model import AdminRecord, HandleValue, SiteInfo, prefix_handle
from helan.ident.registry import ADMIN_INDEX, SECKEY_INDEX, SITE_INDEX
from helan.ident.wire.records import encode_admin, encode_site

URL_INDEX = 1
DESCRIPTION_INDEX = 2
TRACE_INDEX = 10  # 3-9 are left to values an operator adds over REST
DEVICE_TYPE = "HELAN_DEVICE"
PRODUCT_TYPE = "HELAN_PRODUCT"
TENANT_TYPE = "HELAN_TENANT"
TRACE_TYPE = "HELAN_TRACE"
_UTC_Z = orjson.OPT_UTC_Z  # RFC 3339 times ending in Z, as the REST API writes them


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What a device's public record is made of: nothing secret, no telemetry."""

    tenant: str
    tenant_name: str
    prefix: str
    device: str
    identifier: str
    name: str
    type_id: str | None
    type_name: str | None
    vendor: str | None
    model: str | None


@dataclass(frozen=True, slots=True)
class ProductFacts:
    """What a product's public record is made of: ``attributes`` stay private (free-form data
    may hold anything), related objects appear by identifier only."""

    tenant: str
    tenant_name: str
    prefix: str
    product: str
    identifier: str
    name: str
    model: str | None
    kind: str
    batch_identifier: str | None
    made_by_identifier: str | None
    produced_at: datetime | None


def _resource_url(base_url: str, tenant: str, collection: str, object_id: str) -> str:
    t, o = quote(tenant, safe=""), quote(object_id, safe=":")
    return f"{base_url}/api/v1/tenants/{t}/{collection}/{o}"


def device_url(base_url: str, tenant: str, device: str) -> str:
    return _resource_url(base_url, tenant, "devices", device)


def product_url(base_url: str, tenant: str, product: str) -> str:
    return _resource_url(base_url, tenant, "products", product)


def _admin(prefix: str) -> HandleValue:
    admin = AdminRecord(prefix_handle(prefix), SECKEY_INDEX, ALL_ADMIN_PERMISSIONS)
    return HandleValue(ADMIN_INDEX, "HS_ADMIN", encode_admin(admin))


def device_values(facts: DeviceFacts, base_url: str) -> list[HandleValue]:
    description = {
        "name": facts.name,
        "type": None
        if facts.type_id is None
        else {"id": facts.type_id, "name": facts.type_name or facts.type_id},
        "vendor": facts.vendor,
        "model": facts.model,
        "tenant": facts.tenant_name,
    }
    return [
        HandleValue(URL_INDEX, "URL", device_url(base_url, facts.tenant, facts.device).encode()),
        HandleValue(DESCRIPTION_INDEX, DEVICE_TYPE, orjson.dumps(description)),
        _admin(facts.prefix),
    ]


def product_values(facts: ProductFacts, base_url: str) -> list[HandleValue]:
    description = {
        "name": facts.name,
        "model": facts.model,
        "kind": facts.kind,
        "batch": facts.batch_identifier,
        "made_by": facts.made_by_identifier,
        "produced_at": facts.produced_at,
        "tenant": facts.tenant_name,
    }
    return [
        HandleValue(URL_INDEX, "URL", product_url(base_url, facts.tenant, facts.product).encode()),
        HandleValue(DESCRIPTION_INDEX, PRODUCT_TYPE, orjson.dumps(description, option=_UTC_Z)),
        HandleValue(TRACE_INDEX, TRACE_TYPE, orjson.dumps(trace_service(facts, base_url))),
        _admin(facts.prefix),
    ]


def trace_service(facts: ProductFacts, base_url: str) -> dict[str, str]:
    """Where a product's EPCIS events are (``HELAN_TRACE``)."""
    t, i = quote(facts.tenant, safe=""), quote(facts.identifier, safe="")
    return {
        "events": f"{base_url}/api/v1/tenants/{t}/epcis/events?MATCH_anyEPC={i}",
        "public": f"{base_url}/api/v1/trace/public?identifier={i}",
        "share": f"{base_url}/api/v1/trace-share/naming",
    }


def prefix_values(
    prefix: str,
    tenant: str,
    site: SiteInfo | None,
    secret: bytes,
    pubkey: HandleValue | None = None,
) -> list[HandleValue]:
    """``pubkey``: the node's HS_PUBKEY when it signs its records (resolvers verify with it)."""
    values = [_admin(prefix), HandleValue(DESCRIPTION_INDEX, TENANT_TYPE, tenant.encode())]
    if site is not None:
        values.append(HandleValue(SITE_INDEX, "HS_SITE", encode_site(site)))
    if pubkey is not None:
        values.append(pubkey)
    if secret:
        private = ValuePermission.ADMIN_READ | ValuePermission.ADMIN_WRITE
        values.append(HandleValue(SECKEY_INDEX, "HS_SECKEY", secret, permissions=private))
    return values


def same_values(stored: Sequence[HandleValue] | None, wanted: Sequence[HandleValue]) -> bool:
    """Equal ignoring timestamps (stored values are stamped when written)."""
    if stored is None:
        return False

    def shape(values: Sequence[HandleValue]) -> set[tuple[int, str, bytes, int]]:
        return {(v.index, v.type, v.data, int(v.permissions)) for v in values}

    return shape(stored) == shape(wanted)
