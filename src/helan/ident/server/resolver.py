"""A caching recursive resolver: walks referrals from the root down, like a DNS resolver.

To resolve ``88.118.100/SN-1`` it asks the root for ``0.NA/88.118.100``; the root refers it
(RC_PREFIX_REFERRAL) to the site of ``0.NA/88.118``; that secondary node answers with the
enterprise's ``HS_SITE``; the enterprise node answers the handle. Every answer is cached for
its TTL (negative answers for ``negative_ttl``), concurrent identical queries share one walk,
and a walk is bounded in hops and refuses to visit the same site twice for one question.

A delegation may name a service handle (``HS_SERV``) instead of listing sites: the resolver
then resolves that handle's ``HS_SITE`` values (cached like any answer) and goes on there, as
it does for an RC_SERVICE_REFERRAL. A question that would need its own answer (a service handle
that leads back to itself) fails with RC_RECURSION_COUNT_TOO_HIGH instead of waiting forever.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from helan.ident.codes import OpCode, OpFlag, ResponseCode
from helan.ident.errors import HandleError, WireError
from helan.ident.model import Handle, Transport, prefix_handle
from helan.ident.node import Answer, error_reply, reply, select_values
from helan.ident.server.client import HandleClient, Target
from helan.ident.trust.signing import PUBKEY_TYPE, SIGNATURE_TYPE, published_key, verify_values
from helan.ident.wire import messages as m
from helan.ident.wire.records import decode_site, decode_values

Key = tuple[bytes, tuple[int, ...], tuple[bytes, ...]]
_SIGNATURE = SIGNATURE_TYPE.encode()
_DELEGATION_TYPES = (b"HS_SITE", b"HS_SERV", PUBKEY_TYPE.encode(), _SIGNATURE)
_SERVICE_TYPES = (b"HS_SITE", PUBKEY_TYPE.encode(), _SIGNATURE)
# The questions the current call chain is answering: a nested question equal to one of them
# would wait on its own future.
_answering: ContextVar[frozenset[Key]] = ContextVar("_answering", default=frozenset())


@dataclass(frozen=True, slots=True)
class Resolved:
    rc: ResponseCode
    handle: bytes
    values: tuple[bytes, ...] = ()
    message: str = ""
    authenticated: bool = False  # SM2 signatures verified from the trust anchor down


def _ttl_of(values: Sequence[bytes], default: int) -> float:
    ttls = []
    now = time.time()
    for value in decode_values(values):
        ttls.append(value.ttl - now if value.ttl_type == 1 else value.ttl)
    return max(0.0, min(ttls)) if ttls else float(default)


def _services(values: Sequence[bytes]) -> list[str]:
    return [v.data.decode("utf-8", "replace") for v in decode_values(values) if v.type == "HS_SERV"]


def _targets(site_values: Sequence[bytes], tcp: bool) -> tuple[Target, ...]:
    out = []
    for value in decode_values(site_values):
        if value.type.upper() != "HS_SITE":
            continue
        for server in decode_site(value.data).servers:
            port = server.port(Transport.TCP if tcp else Transport.UDP)
            if port is not None:
                out.append(Target(str(server.address), port, tcp))
    return tuple(out)


class TtlCache:
    """Bounded cache; entries expire at their own time; the oldest go first when full."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Key, tuple[float, Resolved]] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: Key) -> Resolved | None:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            self.misses += 1
            return None
        self.hits += 1
        return entry[1]

    def put(self, key: Key, ttl: float, value: Resolved) -> None:
        if ttl <= 0:
            return
        self._data[key] = (time.monotonic() + ttl, value)
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)


class Resolver:
    def __init__(
        self,
        roots: Sequence[Target],
        *,
        client: HandleClient | None = None,
        max_hops: int = 8,
        negative_ttl: int = 60,
        max_entries: int = 200_000,
        trust_anchor: bytes | None = None,
    ) -> None:
        self.roots = tuple(roots)
        self.trust_anchor = trust_anchor  # the root's SM2 public key (04 || x || y)
        self.client = client or HandleClient()
        self.max_hops = max_hops
        self.negative_ttl = negative_ttl
        self.cache = TtlCache(max_entries)
        self._inflight: dict[Key, asyncio.Future[Resolved]] = {}
        self.walks = 0

    async def resolve(
        self, handle: str, indexes: tuple[int, ...] = (), types: tuple[bytes, ...] = ()
    ) -> Resolved:
        parsed = Handle.parse(handle)
        key: Key = (parsed.key, indexes, types)
        if (hit := self.cache.get(key)) is not None:
            return hit
        answering = _answering.get()
        if key in answering or len(answering) > self.max_hops:
            raise HandleError(
                ResponseCode.RECURSION_COUNT_TOO_HIGH,
                f"resolving {parsed} needs its own answer: a service referral loop",
            )
        if (pending := self._inflight.get(key)) is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Resolved] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        token = _answering.set(answering | {key})
        try:
            result = await self._walk(parsed, indexes, types)
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody else must log it
            raise
        else:
            future.set_result(result)
        finally:
            _answering.reset(token)
            del self._inflight[key]
        return result

    async def _ask(
        self,
        targets: Sequence[Target],
        handle: bytes,
        types: tuple[bytes, ...],
        indexes: tuple[int, ...] = (),
    ) -> m.Message:
        if not targets:
            raise HandleError(
                ResponseCode.SERVER_NOT_RESP, f"no usable server for {handle.decode()}"
            )
        failures = []
        for target in targets:
            request = m.Message(
                opcode=OpCode.RESOLUTION,
                rc=ResponseCode.RESERVED,
                body=m.ResolutionRequest(handle, indexes, types),
                request_id=self.client.next_id(),
            )
            try:
                return await self.client.send(target, request)
            except HandleError as exc:
                failures.append(exc.message)
        raise HandleError(ResponseCode.SERVER_NOT_RESP, "; ".join(failures))

    async def _site_of(self, prefix: str) -> Resolved:
        """The delegation record of ``prefix`` (its HS_SITE, HS_PUBKEY and HS_SIGNATURE values),
        found from the root down and cached by TTL."""
        answer = await self.resolve(prefix_handle(prefix), (), _DELEGATION_TYPES)
        if answer.rc != ResponseCode.SUCCESS:
            raise HandleError(answer.rc, answer.message or f"prefix {prefix} is not registered")
        return answer

    async def _sites(
        self, values: Sequence[bytes], referred: bytes | None, zone_key: bytes | None
    ) -> tuple[tuple[Target, ...], bytes | None]:
        """Where to ask next, and the key that signs the answers there: the ``HS_SITE`` values
        themselves, else those of the service handle the values (``HS_SERV``) or a service
        referral (``referred``) name. A service hop is trusted as far as the service handle's
        own answer was authenticated."""
        if targets := _targets(values, tcp=False):
            return targets, zone_key
        services = _services(values) or ([referred.decode("utf-8", "replace")] if referred else [])
        if not services:
            return (), None
        service = await self.resolve(services[0], (), _SERVICE_TYPES)
        if service.rc != ResponseCode.SUCCESS:
            raise HandleError(
                ResponseCode.SERVER_NOT_RESP,
                f"service handle {services[0]}: {service.message or ResponseCode(service.rc).name}",
            )
        key = published_key(service.values) if service.authenticated else None
        return _targets(service.values, tcp=False), key

    def _hop_key(self, key: bytes | None, handle: bytes, values: Sequence[bytes]) -> bytes | None:
        """The key that signs the zone below a delegation, if the delegation verifies."""
        if key is None or not verify_values(handle.decode("utf-8", "replace"), values, key):
            return None
        return published_key(values)

    async def _walk(
        self, handle: Handle, indexes: tuple[int, ...], types: tuple[bytes, ...]
    ) -> Resolved:
        self.walks += 1
        key: Key = (handle.key, indexes, types)
        wanted = str(handle).encode()
        zone_key = self.trust_anchor
        if handle.is_prefix_record:
            targets = self.roots
        else:
            site = await self._site_of(handle.prefix)
            # The delegation record was verified in its own walk; its key signs this zone.
            zone_key = published_key(site.values) if site.authenticated else None
            targets, zone_key = await self._sites(site.values, None, zone_key)
        asked = types  # a trusting resolver also asks for the signature of a filtered answer
        if zone_key is not None and (types or indexes):
            asked = (*types, _SIGNATURE)
        seen: set[tuple[Target, ...]] = set()
        for _hop in range(self.max_hops):
            if targets in seen:
                raise HandleError(
                    ResponseCode.RECURSION_COUNT_TOO_HIGH,
                    f"referral loop resolving {handle}: {', '.join(map(str, targets))} seen twice",
                )
            seen.add(targets)
            msg = await self._ask(targets, wanted, asked, indexes)
            body = msg.body
            if msg.rc == ResponseCode.SUCCESS and isinstance(body, m.ResolutionResponse):
                values = tuple(select_values(body.values, (), ()))
                authentic = zone_key is not None and verify_values(
                    body.handle.decode("utf-8", "replace"), values, zone_key
                )
                result = Resolved(ResponseCode.SUCCESS, body.handle, values, "", authentic)
                self.cache.put(key, _ttl_of(values, self.negative_ttl), result)
                return result
            if msg.rc in (
                ResponseCode.PREFIX_REFERRAL,
                ResponseCode.SERVICE_REFERRAL,
            ) and isinstance(body, m.ReferralResponse):
                values = body.values or ()
                if msg.rc == ResponseCode.PREFIX_REFERRAL:
                    zone_key = self._hop_key(zone_key, body.handle, values)
                    targets, zone_key = await self._sites(values, None, zone_key)
                else:  # the sites, if given, are those of the service handle: not signed here
                    targets, zone_key = await self._sites(values, body.handle, None)
                continue
            text = (
                body.message.decode("utf-8", "replace") if isinstance(body, m.ErrorResponse) else ""
            )
            result = Resolved(ResponseCode(msg.rc), wanted, (), text)
            if msg.rc in (ResponseCode.HANDLE_NOT_FOUND, ResponseCode.VALUES_NOT_FOUND):
                self.cache.put(key, self.negative_ttl, result)
            return result
        raise HandleError(
            ResponseCode.RECURSION_COUNT_TOO_HIGH,
            f"more than {self.max_hops} referrals resolving {handle}",
        )

    async def respond(self, data: bytes) -> bytes:
        """Server side: answer a client's request by resolving it recursively."""
        try:
            request = m.decode(data)
        except WireError as exc:
            return error_reply(data, exc.rc, exc.message)
        body = request.body
        if not request.is_request or not isinstance(body, m.ResolutionRequest):
            return error_reply(
                data,
                ResponseCode.OPERATION_NOT_SUPPORTED,
                "a resolver answers resolution requests only",
            )
        try:
            result = await self.resolve(
                body.handle.decode("utf-8", "strict"), body.indexes, body.types
            )
        except UnicodeDecodeError:
            return reply(
                request,
                ResponseCode.INVALID_HANDLE,
                m.ErrorResponse(b"handle is not valid UTF-8"),
                data,
            )
        except HandleError as exc:
            return reply(request, exc.rc, m.ErrorResponse(exc.message.encode()), data)
        answer = (
            Answer(result.rc, m.ResolutionResponse(result.handle, result.values))
            if result.rc == ResponseCode.SUCCESS
            else Answer(result.rc, m.ErrorResponse(result.message.encode()))
        )
        flags = OpFlag.AUTHENTICATED if result.authenticated else 0
        return reply(request, answer.rc, answer.body, data, flags)

    def close(self) -> None:
        self.client.close()
