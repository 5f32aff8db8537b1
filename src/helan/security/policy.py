"""The platform's authorisation policy: what a credential may do, decided in one place.

This first part holds the device topic rights every broker enforces (the Mosquitto ACL file,
the embedded NATS broker's permissions): a device reads and writes everything under its own
``helan/v1/{tenant}/{device}/`` and those of the devices it is the gateway of; as a Sparkplug
edge node (group = tenant, edge node id = device id) it publishes its node's and devices'
births, data and deaths and receives its commands. The platform's services read the ingest
topics, command replies and all Sparkplug traffic, and write only error reports, commands and
Sparkplug commands. The rights are MQTT topic filters, so each broker translates one list
instead of restating the rules (NATS: :func:`helan.connect.nats.rights.subjects`).

API keys: a route belongs to a scope family (its last known path segment after ``{tenant}``;
anything unknown is ``admin``), and a key's ``{family}:read`` / ``{family}:write`` / ``admin``
scopes decide. Apps add families for their routes with :func:`register_families`.

Roles and tenants (:func:`may_see_tenant`, :func:`may_read`, :func:`may_write`,
:func:`may_admin`, :func:`may_admin_platform`, :func:`may_grant_role`): each answers a
:class:`Decision` that says how a refusal looks, ``hidden`` (the object does not exist for the
caller: 404, so nothing leaks) or ``forbidden`` (403), and the message. A platform administrator
sees every existing tenant; a tenant's users and keys see only their own; a device credential
sees its tenant but may read nothing through tenant routes; a region viewer sees no tenant at
all, nor does a security officer (it sees security data through :func:`may_see_security`).
Writing needs a writer role (and a key's write scope), administering an admin role (and
the ``admin`` scope). Apps act in a tenant only while it has them installed (:func:`app_may_act`).

Regions (:func:`may_see_region`, :func:`may_manage_region`): a region viewer oversees one
administrative division (GB/T 2260 code) and every division below it, and sees only
aggregates there, never a tenant's data.
A code's significant part is the code without its trailing ``00`` pairs (640000 → ``64``, the
province; 640100 → ``6401``, a prefecture; 640122 → ``640122``, a county), and a division or
tenant region lies in another when its code starts with that part. A platform administrator
sees every region; every other principal is refused (403); a region viewer asking for a region
outside its own gets 404, as for a tenant it cannot see. A region viewer granted a region's
administration manages its plans, schemes, calls, experts and credit records. A region
viewer asking for any tenant's telemetry gets 403: it may know the tenants of its region,
never their data.

Not here: the Handle REST API of the identifier node authorises with Handle's own credentials
and ``HS_ADMIN`` records (:mod:`helan.ident.registry`), as Handle.Net clients expect; no
platform role or tenant takes part in it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from helan.core.ids import DEVICE_ID, TENANT_ID
from helan.protocol.topics import (
    INGEST_KINDS,
    ROOT,
    SPARKPLUG_DOWN,
    SPARKPLUG_NAMESPACE,
    SPARKPLUG_UP,
)
from helan.region.divisions import in_region
from helan.security.principal import ADMINS, PLATFORM_ROLES, WRITERS, Principal, Role


@dataclass(frozen=True, slots=True)
class DeviceTopics:
    """MQTT topic filters a credential may publish to and subscribe to."""

    publish: tuple[str, ...]
    subscribe: tuple[str, ...]

    def may_publish(self, topic: str) -> bool:
        """Whether a publish on the concrete ``topic`` is allowed (wildcards never are)."""
        if not _is_topic(topic):
            return False
        return any(covers(allowed, topic) for allowed in self.publish)

    def may_subscribe(self, topic_filter: str) -> bool:
        """Whether subscribing to ``topic_filter`` is allowed: every topic it can match must be
        matched by one allowed filter (``a/+/c`` under ``a/#`` yes, ``a/#`` under ``a/+`` no)."""
        if not _is_filter(topic_filter):
            return False
        return any(covers(allowed, topic_filter) for allowed in self.subscribe)


def device_topics(tenant: str, device: str, children: Iterable[str] = ()) -> DeviceTopics:
    """Rights of ``device``'s credential in ``tenant``; ``children``: ids of the devices it is the
    gateway of. Raises ValueError for an id that could smuggle a wildcard or extra level."""
    if not TENANT_ID.fullmatch(tenant):
        raise ValueError(f"invalid tenant id {tenant!r}")
    devices = [device, *sorted(set(children) - {device})]
    for d in devices:
        if not DEVICE_ID.fullmatch(d):
            raise ValueError(f"invalid device id {d!r}")
    own = tuple(f"{ROOT}/{tenant}/{d}/#" for d in devices)
    up = tuple(f"{SPARKPLUG_NAMESPACE}/{tenant}/{k}/{device}/#" for k in sorted(SPARKPLUG_UP))
    down = tuple(f"{SPARKPLUG_NAMESPACE}/{tenant}/{k}/{device}/#" for k in sorted(SPARKPLUG_DOWN))
    return DeviceTopics(publish=own + up, subscribe=own + down)


def service_topics() -> DeviceTopics:
    """Rights of the platform's ingest, Sparkplug host and command services (any tenant)."""
    subscribe: tuple[str, ...] = tuple(f"{ROOT}/+/+/{kind}" for kind in INGEST_KINDS)
    subscribe += (f"{ROOT}/+/+/commands/+/reply", f"{SPARKPLUG_NAMESPACE}/#")
    publish: tuple[str, ...] = (f"{ROOT}/+/+/errors", f"{ROOT}/+/+/commands/+")
    publish += tuple(f"{SPARKPLUG_NAMESPACE}/+/{k}/#" for k in sorted(SPARKPLUG_DOWN))
    return DeviceTopics(publish=publish, subscribe=subscribe)


def covers(allowed: str, candidate: str) -> bool:
    """Whether the filter ``allowed`` matches every topic the topic or filter ``candidate`` can
    name, by MQTT rules: ``+`` one level, a final ``#`` the parent level and everything below,
    and a wildcard in the first level never matches a ``$``-topic (``$SYS``)."""
    want, have = allowed.split("/"), candidate.split("/")
    if have[0].startswith("$") and want[0] in ("+", "#"):
        return False
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have):
            return False
        if level == "+":
            if have[i] == "#":
                return False
        elif level != have[i]:
            return False
    return len(have) == len(want)


def _is_topic(topic: str) -> bool:
    return 0 < len(topic) <= 65535 and not any(c in topic for c in "+#\x00")


def _is_filter(topic_filter: str) -> bool:
    if not 0 < len(topic_filter) <= 65535 or "\x00" in topic_filter:
        return False
    levels = topic_filter.split("/")
    for i, level in enumerate(levels):
        if level == "#" and i != len(levels) - 1:
            return False
        if level not in ("+", "#") and ("+" in level or "#" in level):
            return False
    return True


# What an API key may be granted: read/write per scope family, or everything (``admin``).
# The API schema's ``Scope`` literal lists the same (a test keeps them equal).
API_KEY_SCOPES: frozenset[str] = frozenset(
    {
        "telemetry:read",
        "telemetry:write",
        "devices:read",
        "devices:write",
        "commands:read",
        "commands:write",
        "admin",
    }
)

# Route segment -> API-key scope family.
_FAMILIES: dict[str, str] = {
    "devices": "devices",
    "device-types": "devices",
    "assets": "devices",
    "asset-tree": "devices",
    # What the devices made: the same people manage both.
    "products": "devices",
    "telemetry": "telemetry",
    "live": "telemetry",
    "ingest": "telemetry",
    # What a device raised is its data, like its telemetry.
    "events": "telemetry",
    # Remote operation moves real machines: a key needs its own scope for it.
    "commands": "commands",
    # Rules and what they raise: the people who watch the plant.
    "rules": "alarms",
    "alarms": "alarms",
    "alarm-service": "alarms",
    "notification-channels": "alarms",
    "notifications": "alarms",
}


def register_families(families: Mapping[str, str]) -> None:
    """Add route segment -> scope family pairs (an app's routes). A segment already mapped to
    another family is refused: an app must not move built-in routes under its own scope."""
    for segment, family in families.items():
        if not segment or "/" in segment or not family or family == "admin":
            raise ValueError(f"bad scope family {segment!r} -> {family!r}")
        if _FAMILIES.get(segment, family) != family:
            raise ValueError(f"route segment {segment!r} is already family {_FAMILIES[segment]!r}")
    _FAMILIES.update(families)


def scope_family(route_path: str) -> str:
    """The scope family of a tenant route template (``/api/v1/tenants/{tenant}/devices/{d}``)."""
    _, _, after = route_path.partition("{tenant}")
    for segment in reversed(after.split("/")):
        name = segment.partition(":")[0]  # a custom method: /products:bulk is products
        if name in _FAMILIES:
            return _FAMILIES[name]
    return "admin"


def key_allows(scopes: Iterable[str], family: str, *, write: bool) -> bool:
    """Whether an API key with ``scopes`` may read (or write) routes of ``family``."""
    held = set(scopes)
    if "admin" in held:
        return True
    if family == "admin":
        return False
    return f"{family}:write" in held or (not write and f"{family}:read" in held)


# --- roles, tenants, regions -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed, or refused: ``denial`` says how (``hidden``: answer as if the object did not
    exist; ``forbidden``: the caller sees it but lacks the right) and ``reason`` is the message."""

    denial: Literal["hidden", "forbidden"] | None = None
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.denial is None

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision()


def _hidden(reason: str) -> Decision:
    return Decision("hidden", reason)


def _forbidden(reason: str) -> Decision:
    return Decision("forbidden", reason)


def may_see_tenant(
    principal: Principal, tenant: str, *, tenant_exists: Callable[[str], bool]
) -> Decision:
    """Whether ``tenant`` exists for ``principal``. ``tenant_exists`` is asked only for a
    platform administrator (everyone else sees just the tenant it authenticated in)."""
    if principal.role is Role.PLATFORM_ADMIN:
        visible = tenant_exists(tenant)
    else:
        visible = principal.role not in PLATFORM_ROLES and principal.tenant == tenant
    return ALLOW if visible else _hidden(f"tenant {tenant!r} not found")


def may_read(
    principal: Principal, tenant: str, family: str, *, tenant_exists: Callable[[str], bool]
) -> Decision:
    """Whether ``principal`` may read the tenant's objects of scope ``family``. A region
    viewer asking for telemetry is refused (403) whatever the tenant, so nothing leaks."""
    if principal.role is Role.REGION_VIEWER and family == "telemetry":
        return _forbidden("a region viewer sees its region's aggregates, never a tenant's data")
    seen = may_see_tenant(principal, tenant, tenant_exists=tenant_exists)
    if not seen:
        return seen
    if principal.kind == "device":
        return _forbidden("a device credential may only send its own data")
    if principal.kind == "api_key" and not key_allows(principal.scopes, family, write=False):
        return _forbidden(f"API key lacks the scope for this resource ({family})")
    return ALLOW


def may_write(
    principal: Principal, tenant: str, family: str, *, tenant_exists: Callable[[str], bool]
) -> Decision:
    """Whether ``principal`` may change the tenant's devices, models, assets and data."""
    read = may_read(principal, tenant, family, tenant_exists=tenant_exists)
    if not read:
        return read
    if principal.role not in WRITERS:
        return _forbidden(f"role {principal.role.value} may not modify this tenant's objects")
    if principal.kind == "api_key" and not key_allows(principal.scopes, family, write=True):
        return _forbidden(f"API key lacks the write scope for this resource ({family})")
    return ALLOW


def may_admin(
    principal: Principal, tenant: str, family: str, *, tenant_exists: Callable[[str], bool]
) -> Decision:
    """Whether ``principal`` may manage the tenant's users, keys and settings."""
    read = may_read(principal, tenant, family, tenant_exists=tenant_exists)
    if not read:
        return read
    if principal.role not in ADMINS or (
        principal.kind == "api_key" and "admin" not in principal.scopes
    ):
        return _forbidden("tenant administrator rights required")
    return ALLOW


def may_admin_platform(principal: Principal) -> Decision:
    """Whether ``principal`` may act on the platform as a whole (tenants, platform accounts)."""
    if principal.role is not Role.PLATFORM_ADMIN:
        return _forbidden("platform administrator rights required")
    return ALLOW


def may_grant_role(principal: Principal, role: Role) -> Decision:
    """Whether ``principal`` may give an account ``role``: the roles outside every tenant
    (platform administrator, region viewer) only a platform administrator grants. The caller
    has already checked that ``principal`` administers the account's tenant."""
    if role in PLATFORM_ROLES and principal.role is not Role.PLATFORM_ADMIN:
        return _forbidden(f"only a platform administrator may grant the role {role.value}")
    return ALLOW


def may_see_security(principal: Principal, tenant: str | None) -> Decision:
    """Whether ``principal`` may read security data (audit trail, sessions, asset inventory,
    security events) of ``tenant`` (None: the platform's own). Platform administrators and
    security officers see every tenant's, a tenant administrator (a user, or a key with the
    ``admin`` scope) its own tenant's; nobody else (403, or 404 for another tenant)."""
    if principal.role in (Role.PLATFORM_ADMIN, Role.SECURITY_OFFICER):
        if principal.kind == "user" or "admin" in principal.scopes:
            return ALLOW
        return _forbidden("API key lacks the admin scope")
    if tenant is None or principal.tenant != tenant:
        return _hidden("not found" if tenant is None else f"tenant {tenant!r} not found")
    if principal.role is not Role.TENANT_ADMIN or (
        principal.kind == "api_key" and "admin" not in principal.scopes
    ):
        return _forbidden("security data needs tenant administrator rights")
    return ALLOW


def may_see_region(principal: Principal, region: str) -> Decision:
    """Whether ``principal`` may see the aggregates of ``region`` (a valid six-digit code)."""
    if principal.role is Role.PLATFORM_ADMIN:
        return ALLOW
    if principal.role is Role.REGION_VIEWER and principal.kind == "user":
        if principal.region is not None and in_region(principal.region, region):
            return ALLOW
        return _hidden(f"region {region!r} not found")
    return _forbidden("platform administrator or region viewer rights required")


def may_manage_region(
    principal: Principal, region: str, *, granted: Callable[[str, str], bool]
) -> Decision:
    """Whether ``principal`` may manage ``region``'s plans, schemes, calls, experts and credit
    records: a platform administrator, or a region viewer of it whom a platform administrator
    granted the administration of it or of a division above it (``granted(username,
    region)`` answers that). Anyone else who sees the region: 403."""
    if principal.role is Role.PLATFORM_ADMIN:
        return ALLOW
    seen = may_see_region(principal, region)
    if not seen:
        return seen
    if granted(principal.subject, region):
        return ALLOW
    return _forbidden(f"region administrator rights for {region!r} required")


def may_publish_warnings(principal: Principal) -> Decision:
    """Whether ``principal`` may publish, withdraw and follow up the regional platform's
    security warnings: a security officer or platform administrator (a user, or a key with
    the ``admin`` scope)."""
    if principal.role not in (Role.PLATFORM_ADMIN, Role.SECURITY_OFFICER):
        return _forbidden("security officer rights required")
    return may_see_security(principal, None)


def app_may_act(app_id: str, tenant: str, installed: Collection[str]) -> Decision:
    """Whether app ``app_id`` may act in ``tenant``, given the tenants that installed it."""
    if tenant not in installed:
        return _forbidden(f"app {app_id!r} is not installed for tenant {tenant!r}")
    return ALLOW
