"""Writes to a node's records, with Handle.Net's rules for who may write what.

Identity: the holder of the secret in an ``HS_SECKEY`` value at ``index:handle`` on this node.
Authority: an ``HS_ADMIN`` value naming that identity with the needed permission bit, either on
the handle itself or on its prefix record ``0.NA/<prefix>`` (Handle.Net's ``allow_na_admins``).
A new prefix ``0.NA/a.b.c`` needs ADD_DERIVED_PREFIX on the nearest ancestor prefix record held
here (``0.NA/a.b``, ``0.NA/a``, finally ``0.NA/0.NA``, the root's own record).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from helan.ident.codes import ALL_ADMIN_PERMISSIONS, AdminPermission, ResponseCode, ValuePermission
from helan.ident.errors import HandleError
from helan.ident.model import (
    NA_PREFIX,
    AdminRecord,
    Handle,
    HandleValue,
    SiteInfo,
    handle_key,
    prefix_handle,
)
from helan.ident.store.base import HandleStore
from helan.ident.templates import TemplateBook
from helan.ident.trust.signing import SIGNATURE_TYPE, Signer
from helan.ident.wire.records import (
    decode_admin,
    decode_record,
    decode_site,
    decode_stored,
    encode_admin,
    encode_record,
    encode_site,
)

MAX_VALUES = 1000
ADMIN_INDEX = 100
SECKEY_INDEX = 300
SITE_INDEX = 1
ROOT_RECORD = prefix_handle(NA_PREFIX)  # 0.NA/0.NA


@dataclass(frozen=True, slots=True)
class Credential:
    handle: str
    index: int
    secret: bytes


@dataclass(frozen=True, slots=True)
class Identity:
    handle: str
    index: int

    def __str__(self) -> str:
        return f"{self.index}:{self.handle}"


Validator = Callable[[Handle, Sequence[HandleValue]], None]
#: Told the key of every record written or deleted (answer caches drop it).
WriteListener = Callable[[bytes], None]


def check_values(values: Sequence[HandleValue]) -> None:
    """Structural checks on values about to be stored; raises INVALID_VALUE with the reason."""
    if len(values) > MAX_VALUES:
        raise HandleError(
            ResponseCode.INVALID_VALUE, f"{len(values)} values; the limit is {MAX_VALUES}"
        )
    seen: set[int] = set()
    for value in values:
        if not 0 < value.index <= 0xFFFFFFFF:
            raise HandleError(
                ResponseCode.INVALID_VALUE, f"value index {value.index} is not in 1..2^32-1"
            )
        if value.index in seen:
            raise HandleError(
                ResponseCode.INVALID_VALUE, f"value index {value.index} appears twice"
            )
        seen.add(value.index)
        if not value.type:
            raise HandleError(ResponseCode.INVALID_VALUE, f"value {value.index} has an empty type")
        if value.type == "HS_ADMIN":
            decode_admin(value.data)
        elif value.type == "HS_SITE":
            decode_site(value.data)
        elif value.type == "HS_SERV":
            try:
                Handle.parse(value.data.decode("utf-8"))
            except (UnicodeDecodeError, HandleError) as exc:
                raise HandleError(
                    ResponseCode.INVALID_VALUE,
                    f"value {value.index}: HS_SERV must name a service handle ({exc})",
                ) from None


class Registry:
    def __init__(
        self,
        store: HandleStore,
        *,
        homed: Iterable[str],
        validators: Sequence[Validator] = (),
        signer: Signer | None = None,
    ) -> None:
        self.store = store
        self.signer = signer
        self.homed = {p.upper() for p in homed}
        self.templates = TemplateBook(store)
        self.validators: list[Validator] = [self.templates, *validators]
        self.listeners: list[WriteListener] = []

    def changed(self, key: bytes) -> None:
        for listener in self.listeners:
            listener(key)

    # --- reading ---------------------------------------------------------------------------
    def get(self, handle: Handle) -> list[HandleValue] | None:
        raw = self.store.get(handle.key)
        return None if raw is None else decode_stored(raw)[1]

    def get_with_name(self, handle: Handle) -> tuple[str, list[HandleValue]] | None:
        raw = self.store.get(handle.key)
        return None if raw is None else decode_stored(raw)

    def list_handles(self, prefix: str, page: int, page_size: int) -> tuple[int, list[str]]:
        key = handle_key(prefix + "/")
        keys = self.store.scan(key, page * page_size, page_size)
        names = []
        for k in keys:
            raw = self.store.get(k)
            if raw is not None:
                names.append(decode_record(raw)[0])
        return self.store.count(key), names

    # --- identity ----------------------------------------------------------------------------
    def authenticate(self, cred: Credential) -> Identity:
        handle = Handle.parse(cred.handle)
        values = self.get(handle) or []
        for value in values:
            if value.index == cred.index and value.type == "HS_SECKEY":
                if hmac.compare_digest(value.data, cred.secret):
                    return Identity(str(handle), cred.index)
                break
        raise HandleError(
            ResponseCode.AUTHENTICATION_FAILED, f"authentication failed for {cred.index}:{handle}"
        )

    def admits(
        self, who: Identity, values: Sequence[HandleValue] | None, perm: AdminPermission
    ) -> bool | None:
        """True: allowed; False: an admin of the record without ``perm``; None: not an admin."""
        verdict: bool | None = None
        for value in values or ():
            if value.type != "HS_ADMIN":
                continue
            admin = decode_admin(value.data)
            if admin.handle.upper() == who.handle.upper() and admin.index in (0, who.index):
                if perm in admin.permissions:
                    return True
                verdict = False
        return verdict

    def authorize(
        self,
        who: Identity,
        handle: Handle,
        existing: Sequence[HandleValue] | None,
        perm: AdminPermission,
    ) -> None:
        self.check_homed(handle)
        authorities: list[Sequence[HandleValue] | None]
        if existing is None and handle.is_prefix_record:
            perm = AdminPermission.ADD_DERIVED_PREFIX
            parents = [prefix_handle(p) for p in handle.prefix_chain()[1:]] + [ROOT_RECORD]
            found = (self.get(Handle.parse(p)) for p in parents)
            authorities = [next((a for a in found if a is not None), None)]
        else:
            authorities = [existing, self.get(Handle.parse(_owner_record(handle)))]
        verdicts = [self.admits(who, a, perm) for a in authorities]
        if True in verdicts:
            return
        if False in verdicts:
            raise HandleError(
                ResponseCode.INSUFFICIENT_PERMISSIONS, f"{who} lacks {perm.name} on {handle}"
            )
        raise HandleError(ResponseCode.INVALID_ADMIN, f"{who} is not an administrator of {handle}")

    def authorize_node_admin(self, who: Identity) -> None:
        """Node-wide settings (templates) need ADD_HANDLE on the record of a prefix homed here."""
        for prefix in sorted(self.homed):
            if self.admits(
                who, self.get(Handle.parse(prefix_handle(prefix))), AdminPermission.ADD_HANDLE
            ):
                return
        raise HandleError(
            ResponseCode.INSUFFICIENT_PERMISSIONS,
            f"{who} administers no prefix homed on this node",
        )

    def check_homed(self, handle: Handle) -> None:
        names = handle.prefix_chain()
        if handle.is_prefix_record:
            names = [*names[1:], NA_PREFIX]
            if NA_PREFIX.upper() in self.homed or any(n.upper() in self.homed for n in names):
                return
        elif any(n.upper() in self.homed for n in names):
            return
        raise HandleError(
            ResponseCode.SERVER_NOT_RESP, f"this node does not home the prefix of {handle}"
        )

    # --- writing -----------------------------------------------------------------------------
    def validate(self, handle: Handle, values: Sequence[HandleValue]) -> None:
        """Structure, then every validator (templates first); raises on the first failure."""
        check_values(values)
        for validate in self.validators:
            validate(handle, values)

    def seal(self, name: str, values: Sequence[HandleValue]) -> bytes:
        """The stored form of a record whose values are validated and prepared; signed anew
        (any old ``HS_SIGNATURE`` replaced) when this node has a signing key."""
        if self.signer is None:
            return encode_record(name, values)
        unsigned = [v for v in values if v.type != SIGNATURE_TYPE]
        return encode_record(name, [*unsigned, self.signer.sign(name, unsigned)])

    def prepare(self, values: Sequence[HandleValue]) -> list[HandleValue]:
        """Values as stored: timestamped now, secrets never public."""
        now = int(time.time())
        out = []
        for value in values:
            perms = value.permissions
            if value.type == "HS_SECKEY":  # a secret is never public, whatever was asked
                perms &= ~(ValuePermission.PUBLIC_READ | ValuePermission.PUBLIC_WRITE)
            out.append(replace(value, timestamp=now, permissions=perms))
        return out

    def put_record(
        self, who: Identity, handle: Handle, values: Sequence[HandleValue], *, overwrite: bool
    ) -> bool:
        """Create or (with ``overwrite``) replace a whole record; True when created."""
        existing = self.get(handle)
        if existing is not None and not overwrite:
            raise HandleError(ResponseCode.HANDLE_ALREADY_EXISTS, f"{handle} already exists")
        self.authorize(
            who,
            handle,
            existing,
            AdminPermission.ADD_HANDLE if existing is None else AdminPermission.MODIFY_VALUE,
        )
        self.validate(handle, values)
        record = self.seal(str(handle), self.prepare(values))
        if existing is None:
            if not self.store.create(handle.key, record):
                raise HandleError(ResponseCode.HANDLE_ALREADY_EXISTS, f"{handle} already exists")
            self.changed(handle.key)
            return True
        self.store.put(handle.key, record)
        self.changed(handle.key)
        return False

    def put_values(
        self, who: Identity, handle: Handle, values: Sequence[HandleValue], *, overwrite: bool
    ) -> None:
        """Add values, or (with ``overwrite``) replace those with the same index."""
        existing = self.get(handle)
        if existing is None:
            raise HandleError(ResponseCode.HANDLE_NOT_FOUND, f"{handle} not found")
        by_index = {v.index: v for v in existing}
        clash = [v.index for v in values if v.index in by_index]
        if clash and not overwrite:
            raise HandleError(
                ResponseCode.VALUE_ALREADY_EXISTS, f"{handle} already has values at {clash}"
            )
        perm = AdminPermission.MODIFY_VALUE if clash else AdminPermission.ADD_VALUE
        self.authorize(who, handle, existing, perm)
        by_index.update({v.index: v for v in self.prepare(values)})
        merged = list(by_index.values())
        self.validate(handle, merged)
        self.store.put(handle.key, self.seal(self._stored_name(handle), merged))
        self.changed(handle.key)

    def _stored_name(self, handle: Handle) -> str:
        named = self.get_with_name(handle)
        return named[0] if named else str(handle)

    def delete(self, who: Identity, handle: Handle) -> None:
        existing = self.get(handle)
        if existing is None:
            raise HandleError(ResponseCode.HANDLE_NOT_FOUND, f"{handle} not found")
        self.authorize(who, handle, existing, AdminPermission.DELETE_HANDLE)
        self.store.delete(handle.key)
        self.changed(handle.key)

    def delete_values(self, who: Identity, handle: Handle, indexes: Sequence[int]) -> None:
        existing = self.get(handle)
        if existing is None:
            raise HandleError(ResponseCode.HANDLE_NOT_FOUND, f"{handle} not found")
        missing = [i for i in indexes if i not in {v.index for v in existing}]
        if missing:
            raise HandleError(ResponseCode.VALUES_NOT_FOUND, f"{handle} has no values at {missing}")
        self.authorize(who, handle, existing, AdminPermission.REMOVE_VALUE)
        kept = [v for v in existing if v.index not in indexes]
        self.store.put(handle.key, self.seal(self._stored_name(handle), kept))
        self.changed(handle.key)

    # --- bootstrap ---------------------------------------------------------------------------
    def bootstrap_prefix(self, prefix: str, secret: bytes, site: SiteInfo | None) -> None:
        """Create this node's own prefix record (``0.NA/<prefix>``) if absent: the trust anchor
        from which every later, authenticated write starts. Done locally, at first start."""
        name = prefix_handle(prefix)
        handle = Handle.parse(name)
        if self.store.get(handle.key) is not None:
            return
        values = [
            HandleValue(
                ADMIN_INDEX,
                "HS_ADMIN",
                encode_admin(AdminRecord(name, SECKEY_INDEX, ALL_ADMIN_PERMISSIONS)),
            ),
            HandleValue(
                SECKEY_INDEX,
                "HS_SECKEY",
                secret,
                permissions=ValuePermission.ADMIN_READ | ValuePermission.ADMIN_WRITE,
            ),
        ]
        if site is not None:
            values.append(HandleValue(SITE_INDEX, "HS_SITE", encode_site(site)))
        if self.signer is not None:
            values.append(self.signer.pubkey_value())
        self.store.put(handle.key, self.seal(name, values))


def _owner_record(handle: Handle) -> str:
    """The prefix record whose admins administer ``handle`` too."""
    if handle.is_prefix_record:
        chain = handle.prefix_chain()
        return prefix_handle(chain[1]) if len(chain) > 1 else ROOT_RECORD
    return prefix_handle(handle.prefix)
