"""Which identifiers a tenant may hold, checked before the metadata changes.

A tenant with an enterprise prefix (``88.118.100``) owns that prefix and every prefix derived
from it (``88.118.100.7``); no other tenant of the platform may hold an identifier there, and
the tenant's devices may hold identifiers only there. Handles compare ASCII-case-insensitively,
so every comparison here upper-cases.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.orm import Session

from helan.core.errors import Conflict, ValidationFailed
from helan.ident.errors import HandleError
from helan.ident.model import Handle, validate_prefix
from helan.storage.meta.models import Device, Tenant

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


def _identifiers_under(prefix: str) -> sa.ColumnElement[bool]:
    upper = sa.func.upper(Device.identifier)
    p = prefix.upper()  # letters, digits and dots only: no LIKE wildcards to escape
    return sa.or_(upper.startswith(p + "/"), upper.startswith(p + "."))


def check_tenant_prefix(s: Session, tenant: str, new: str | None, old: str | None) -> None:
    """May ``tenant`` change its prefix from ``old`` to ``new``? Raises Conflict if not.

    Prefixes never nest across tenants; a new prefix must hold no other tenant's identifiers;
    a prefix stays while devices of the tenant hold identifiers under it (identifiers are
    meant to last: clear or change those first).
    """
    if old is not None and (new is None or new.upper() != old.upper()):
        held = s.scalar(
            sa.select(sa.func.count())
            .select_from(Device)
            .where(Device.tenant_id == tenant, _identifiers_under(old))
        )
        if held:
            raise Conflict(
                f"{held} device(s) of tenant {tenant!r} hold identifiers under {old}; "
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
    foreign = s.scalar(
        sa.select(Device.identifier)
        .where(Device.tenant_id != tenant, _identifiers_under(new))
        .limit(1)
    )
    if foreign is not None:
        raise Conflict(f"identifier {foreign} of another tenant is already under prefix {new}")


def device_identifier(
    s: Session, tenant: str, device: str, identifier: str | None, *, given: bool
) -> str | None:
    """The identifier a device will hold: ``identifier`` when ``given`` (None clears it), else
    ``<tenant prefix>/<device id>`` when the tenant has a prefix. Raises ValidationFailed for
    an identifier outside the tenant's prefix or inside another tenant's, Conflict when another
    device holds the same identifier (compared case-insensitively, as handles are)."""
    prefix = s.scalar(sa.select(Tenant.ident_prefix).where(Tenant.id == tenant))
    if not given:
        identifier = f"{prefix}/{device}" if prefix else None
    if identifier is None:
        return None
    if prefix is not None:
        try:
            handle = Handle.parse(identifier)
        except HandleError as exc:
            raise ValidationFailed(f"identifier {identifier!r}: {exc.message}") from None
        if not is_under(prefix, handle.prefix):
            raise ValidationFailed(
                f"identifier {identifier!r} is not under this tenant's prefix {prefix}",
                code="foreign_prefix",
            )
    else:
        own_prefix = identifier.partition("/")[0]
        for theirs in s.scalars(sa.select(Tenant.ident_prefix).where(Tenant.id != tenant)):
            if theirs is not None and is_under(theirs, own_prefix):
                raise ValidationFailed(
                    f"identifier {identifier!r} is under prefix {theirs}, which belongs to "
                    "another enterprise on this platform",
                    code="foreign_prefix",
                )
    # A case variant can only sit in this tenant: another tenant cannot hold identifiers under
    # this tenant's prefix, and outside every prefix identifiers are not served here. The
    # tenant-wide scan runs on the tenant's rows only (the primary key leads with tenant_id).
    others = sa.not_(sa.and_(Device.tenant_id == tenant, Device.id == device))
    holder = (
        s.execute(
            sa.select(Device.tenant_id, Device.id).where(Device.identifier == identifier, others)
        ).first()
        or s.execute(
            sa.select(Device.tenant_id, Device.id).where(
                Device.tenant_id == tenant,
                sa.func.upper(Device.identifier) == identifier.upper(),
                others,
            )
        ).first()
    )
    if holder is not None:
        what = "another device" if holder[0] != tenant else f"device {holder[1]!r}"
        raise Conflict(
            f"identifier {identifier!r} is already held by {what} (identifiers compare "
            "case-insensitively)"
        )
    return identifier
