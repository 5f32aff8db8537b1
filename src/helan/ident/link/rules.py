"""Which identifiers a tenant may hold, checked before the metadata changes.

A tenant with an enterprise prefix (``88.118.100``) owns that prefix and every prefix derived
from it (``88.118.100.7``); no other tenant of the platform may hold an identifier there, and
the tenant's devices and products may hold identifiers only there. Devices and products share
that namespace: ``88.118.100/x-1`` names a device or a product, never both. Handles compare
ASCII-case-insensitively, so every comparison here upper-cases.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cached_property
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from helan.core.errors import Conflict, HelanError, ValidationFailed
from helan.ident.errors import HandleError
from helan.ident.model import Handle, validate_prefix
from helan.storage.meta.models import Device, Product, Tenant

# The prefix part of core.ids.IDENTIFIER (stricter than Handle's: no '_' or '-'), so that every
# identifier minted under a prefix is also a valid device identifier.
_PREFIX_RE = re.compile(r"[0-9A-Za-z]+(?:\.[0-9A-Za-z]+)*")
MAX_PREFIX = 64


def check_prefix(value: str) -> str:
    """Syntax of an enterprise prefix; raises ValidationFailed with the reason."""
    try:
        validate_prefix(value)
    except HandleError as exc:
        raise ValidationFailed(exc.message) from None
    if len(value) > MAX_PREFIX or not _PREFIX_RE.fullmatch(value):
        raise ValidationFailed(
            f"prefix {value!r} must be at most {MAX_PREFIX} characters of letters and digits "
            "in dot-separated segments, like 88.118.100"
        )
    if value.split(".")[0] == "0":
        raise ValidationFailed(f"prefix {value!r}: 0 and 0.* belong to the Handle system itself")
    return value


def is_under(prefix: str, name: str) -> bool:
    """Whether prefix ``name`` is ``prefix`` or derived from it."""
    a, b = prefix.upper(), name.upper()
    return b == a or b.startswith(a + ".")


Kind = Literal["device", "product"]
# Every table whose rows hold identifiers in the tenants' namespaces.
HOLDERS: dict[Kind, type[Device] | type[Product]] = {"device": Device, "product": Product}
# Identifiers looked up per query in bulk checks (well under SQLite's 32,766 parameters).
_CHUNK = 5_000


def _identifiers_under(column: InstrumentedAttribute[Any], prefix: str) -> sa.ColumnElement[bool]:
    upper = sa.func.upper(column)
    p = prefix.upper()  # letters, digits and dots only: no LIKE wildcards to escape
    return sa.or_(upper.startswith(p + "/"), upper.startswith(p + "."))


def check_tenant_prefix(s: Session, tenant: str, new: str | None, old: str | None) -> None:
    """May ``tenant`` change its prefix from ``old`` to ``new``? Raises Conflict if not.

    Prefixes never nest across tenants; a new prefix must hold no other tenant's identifiers;
    a prefix stays while devices or products of the tenant hold identifiers under it
    (identifiers are meant to last: clear or change those first).
    """
    if old is not None and (new is None or new.upper() != old.upper()):
        for kind, model in HOLDERS.items():
            held = s.scalar(
                sa.select(sa.func.count())
                .select_from(model)
                .where(model.tenant_id == tenant, _identifiers_under(model.identifier, old))
            )
            if held:
                raise Conflict(
                    f"{held} {kind}(s) of tenant {tenant!r} hold identifiers under {old}; "
                    "change or clear their identifiers first"
                )
    if new is None or (old is not None and new.upper() == old.upper()):
        return
    others = s.execute(
        sa.select(Tenant.id, Tenant.ident_prefix).where(
            Tenant.ident_prefix.is_not(None), Tenant.id != tenant
        )
    ).all()
    for other, theirs in others:
        if theirs and (is_under(theirs, new) or is_under(new, theirs)):
            raise Conflict(f"prefix {new} overlaps prefix {theirs} of tenant {other!r}")
    for model in HOLDERS.values():
        foreign = s.scalar(
            sa.select(model.identifier)
            .where(model.tenant_id != tenant, _identifiers_under(model.identifier, new))
            .limit(1)
        )
        if foreign is not None:
            raise Conflict(f"identifier {foreign} of another tenant is already under prefix {new}")


class _Placement:
    """Where a tenant's identifiers may lie: under its prefix, or (a tenant without one)
    outside every other tenant's prefix. Loaded once, so a bulk check asks the database once."""

    def __init__(self, s: Session, tenant: str) -> None:
        self.session = s
        self.tenant = tenant
        self.prefix = s.scalar(sa.select(Tenant.ident_prefix).where(Tenant.id == tenant))

    @cached_property
    def foreign(self) -> list[str]:
        """The other tenants' prefixes (needed only by a tenant without one)."""
        query = sa.select(Tenant.ident_prefix).where(
            Tenant.id != self.tenant, Tenant.ident_prefix.is_not(None)
        )
        return [p for p in self.session.scalars(query) if p is not None]

    def choose(self, own_id: str, identifier: str | None, *, given: bool) -> str | None:
        """``identifier`` when ``given`` (None clears it), else ``<prefix>/<own id>`` when the
        tenant has a prefix; ValidationFailed (``foreign_prefix``) when it lies elsewhere."""
        if not given:
            identifier = f"{self.prefix}/{own_id}" if self.prefix else None
        if identifier is None:
            return None
        if self.prefix is not None:
            try:
                handle = Handle.parse(identifier)
            except HandleError as exc:
                raise ValidationFailed(f"identifier {identifier!r}: {exc.message}") from None
            if not is_under(self.prefix, handle.prefix):
                raise ValidationFailed(
                    f"identifier {identifier!r} is not under this tenant's prefix {self.prefix}",
                    code="foreign_prefix",
                )
            return identifier
        own_prefix = identifier.partition("/")[0]
        for theirs in self.foreign:
            if is_under(theirs, own_prefix):
                raise ValidationFailed(
                    f"identifier {identifier!r} is under prefix {theirs}, which belongs to "
                    "another enterprise on this platform",
                    code="foreign_prefix",
                )
        return identifier


def _taken(
    identifier: str, tenant: str, holder: tuple[Kind, str, str], *, default: bool
) -> Conflict:
    kind, their_tenant, their_id = holder
    what = f"{kind} {their_id!r}" if their_tenant == tenant else f"another {kind}"
    hint = " (the default <prefix>/<id>: send another identifier, or null for none)"
    return Conflict(
        f"identifier {identifier!r} is already held by {what} (identifiers compare "
        f"case-insensitively; devices and products share them){hint if default else ''}"
    )


def _holder(
    s: Session, tenant: str, identifier: str, own: tuple[Kind, str]
) -> tuple[Kind, str, str] | None:
    # A case variant can only sit in this tenant: another tenant cannot hold identifiers under
    # this tenant's prefix, and outside every prefix identifiers are not served here. The
    # tenant-wide scan runs on the tenant's rows only (the primary key leads with tenant_id).
    for kind, model in HOLDERS.items():
        others = (
            sa.not_(sa.and_(model.tenant_id == tenant, model.id == own[1]))
            if kind == own[0]
            else sa.true()
        )
        row = (
            s.execute(
                sa.select(model.tenant_id, model.id).where(model.identifier == identifier, others)
            ).first()
            or s.execute(
                sa.select(model.tenant_id, model.id).where(
                    model.tenant_id == tenant,
                    sa.func.upper(model.identifier) == identifier.upper(),
                    others,
                )
            ).first()
        )
        if row is not None:
            return kind, row[0], row[1]
    return None


def claim_identifier(
    s: Session, tenant: str, kind: Kind, own_id: str, identifier: str | None, *, given: bool
) -> str | None:
    """The identifier device or product ``own_id`` will hold: ``identifier`` when ``given``
    (None clears it), else ``<tenant prefix>/<own id>`` when the tenant has a prefix. Raises
    ValidationFailed for an identifier outside the tenant's prefix or inside another tenant's,
    Conflict when another device or product holds it (compared case-insensitively)."""
    chosen = _Placement(s, tenant).choose(own_id, identifier, given=given)
    if chosen is None:
        return None
    holder = _holder(s, tenant, chosen, (kind, own_id))
    if holder is not None:
        raise _taken(chosen, tenant, holder, default=not given)
    return chosen


def device_identifier(
    s: Session, tenant: str, device: str, identifier: str | None, *, given: bool
) -> str | None:
    """:func:`claim_identifier` for a device."""
    return claim_identifier(s, tenant, "device", device, identifier, given=given)


def claim_identifiers(
    s: Session, tenant: str, kind: Kind, wanted: Sequence[tuple[str, str | None, bool]]
) -> tuple[list[str | None], dict[int, HelanError]]:
    """:func:`claim_identifier` for many new objects at once: ``wanted`` holds (own id,
    identifier, given) per object. Returns the identifiers and the errors by position; two
    objects of ``wanted`` claiming the same identifier is a Conflict for the later one. A few
    set queries instead of four per object, so 10,000 objects cost about what one does."""
    placement = _Placement(s, tenant)
    chosen: list[str | None] = []
    errors: dict[int, HelanError] = {}
    first: dict[str, int] = {}  # upper-cased identifier -> position claiming it first
    for i, (own_id, identifier, given) in enumerate(wanted):
        try:
            ident = placement.choose(own_id, identifier, given=given)
        except ValidationFailed as exc:
            errors[i] = exc
            ident = None
        chosen.append(ident)
        if ident is not None:
            j = first.setdefault(ident.upper(), i)
            if j != i:
                errors[i] = Conflict(
                    f"identifier {ident!r} is also claimed by item {j} ({wanted[j][0]!r}) of "
                    "this request (identifiers compare case-insensitively)"
                )
    claims = {c: i for i, c in enumerate(chosen) if c is not None and i not in errors}
    if not claims:
        return chosen, errors
    exact = list(claims)
    upper = {c.upper(): i for c, i in claims.items()}  # unique: duplicates are errors
    own = {own_id for own_id, _, _ in wanted}
    for model_kind, model in HOLDERS.items():
        found: list[sa.Row[str, str, str | None]] = []
        for n in range(0, len(exact), _CHUNK):
            chunk = exact[n : n + _CHUNK]
            found += s.execute(
                sa.select(model.tenant_id, model.id, model.identifier).where(
                    model.identifier.in_(chunk)
                )
            ).all()
            uppers = [c.upper() for c in chunk]
            found += s.execute(
                sa.select(model.tenant_id, model.id, model.identifier).where(
                    model.tenant_id == tenant, sa.func.upper(model.identifier).in_(uppers)
                )
            ).all()
        for their_tenant, their_id, theirs in found:
            if theirs is None or (
                model_kind == kind and their_tenant == tenant and their_id in own
            ):
                continue  # the object itself: a duplicate id, reported by the caller
            pos = upper.get(theirs.upper())
            if pos is not None and pos not in errors:
                errors[pos] = _taken(
                    chosen[pos] or theirs,
                    tenant,
                    (model_kind, their_tenant, their_id),
                    default=not wanted[pos][2],
                )
    return chosen, errors
