"""Handle.Net's REST API: ``GET/PUT/DELETE /api/handles/{handle}`` and ``GET /api/handles``.

Bodies and the responseCode <-> HTTP status mapping follow Handle.Net 9. Writes authenticate
with HTTP Basic, user ``index:handle`` (percent-encoded, as Handle.Net clients send it) and the
secret of that ``HS_SECKEY`` value. Serve it over HTTPS: Basic sends the secret in the clear.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helan.ident.codes import AdminPermission, ResponseCode
from helan.ident.errors import HandleError
from helan.ident.model import Handle, handle_key, prefix_handle, validate_prefix
from helan.ident.registry import Identity, Registry
from helan.ident.rest.bulk import bulk_route
from helan.ident.rest.http import error_response, identify, json_response, on_store
from helan.ident.rest.jsonvalues import plain_record_json, value_from_json, value_to_json
from helan.ident.rest.templates import template_routes

T = TypeVar("T")
MAX_BODY = 4 << 20


def _flag(request: Request, name: str, default: bool) -> bool:
    raw = request.query_params.get(name)
    return default if raw is None else raw.lower() == "true"


def indexes_of(request: Request) -> tuple[int, ...]:
    try:
        return tuple(int(i) for i in request.query_params.getlist("index"))
    except ValueError:
        raise HandleError(ResponseCode.INVALID_VALUE, "index must be an integer") from None


class HandleApi:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await on_store(self.registry, fn, *args, **kwargs)

    async def _who(self, request: Request) -> Identity:
        return await identify(self.registry, request)

    async def get(self, request: Request) -> Response:
        name = request.path_params["handle"]
        if not request.scope["query_string"] and not self.registry.store.blocking:
            fast = self._plain_get(name)
            if fast is not None:
                return Response(fast, media_type="application/json")
        try:
            handle = Handle.parse(name)
            found = await self._call(self.registry.get_with_name, handle)
            if found is None:
                raise HandleError(ResponseCode.HANDLE_NOT_FOUND, f"{handle} not found")
            stored, values = found
            indexes = indexes_of(request)
            types = request.query_params.getlist("type")
            shown = [v for v in values if v.public_read]
            if indexes or types:
                shown = [v for v in shown if v.index in indexes or v.type in types]
                if not shown:
                    return json_response(200, {"responseCode": 200, "handle": stored, "values": []})
            body = {
                "responseCode": 1,
                "handle": stored,
                "values": [value_to_json(v) for v in shown],
            }
            return json_response(200, body)
        except HandleError as exc:
            return error_response(exc, name)

    def _plain_get(self, name: str) -> bytes | None:
        """The body for an unfiltered read of a stored record, without validating ``name`` or
        building values (the per-request cost of the common case); None: take the general path.
        A stored key was a valid handle when it was registered, so a hit needs no syntax check;
        keys starting with NUL are the store's own (templates, platform index), never handles."""
        try:
            key = handle_key(name)
        except UnicodeEncodeError:
            return None
        if not key or key[0] == 0:
            return None
        raw = self.registry.store.get(key)
        return None if raw is None else plain_record_json(raw)

    async def put(self, request: Request) -> Response:
        name = request.path_params["handle"]
        try:
            if _flag(request, "mintNewSuffix", False):
                name = f"{name.rstrip('/')}/{uuid.uuid4()}"
            handle = Handle.parse(name)
            raw = await request.body()
            if len(raw) > MAX_BODY:
                raise HandleError(ResponseCode.INVALID_VALUE, f"body over {MAX_BODY} bytes")
            try:
                payload = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise HandleError(ResponseCode.INVALID_VALUE, f"body is not JSON: {exc}") from None
            items = payload.get("values") if isinstance(payload, dict) else payload
            if not isinstance(items, list):
                raise HandleError(ResponseCode.INVALID_VALUE, "body must be {'values': [...]}")
            values = [value_from_json(v) for v in items]
            who = await self._who(request)
            overwrite = _flag(request, "overwrite", True)
            indexes = indexes_of(request)
            if indexes:
                chosen = [v for v in values if v.index in indexes]
                await self._call(self.registry.put_values, who, handle, chosen, overwrite=overwrite)
                return json_response(200, {"responseCode": 1, "handle": str(handle)})
            created = await self._call(
                self.registry.put_record, who, handle, values, overwrite=overwrite
            )
            return json_response(
                201 if created else 200, {"responseCode": 1, "handle": str(handle)}
            )
        except HandleError as exc:
            return error_response(exc, name)

    async def delete(self, request: Request) -> Response:
        name = request.path_params["handle"]
        try:
            handle = Handle.parse(name)
            who = await self._who(request)
            indexes = indexes_of(request)
            if indexes:
                await self._call(self.registry.delete_values, who, handle, indexes)
            else:
                await self._call(self.registry.delete, who, handle)
            return json_response(200, {"responseCode": 1, "handle": str(handle)})
        except HandleError as exc:
            return error_response(exc, name)

    async def list(self, request: Request) -> Response:
        prefix = request.query_params.get("prefix", "")
        try:
            validate_prefix(prefix)
            try:
                page = int(request.query_params.get("page", "0"))
                size = int(request.query_params.get("pageSize", "1000"))
            except ValueError:
                raise HandleError(
                    ResponseCode.INVALID_VALUE, "page and pageSize must be integers"
                ) from None
            if page < 0 or not 0 < size <= 10_000:
                raise HandleError(ResponseCode.INVALID_VALUE, "page >= 0 and 0 < pageSize <= 10000")
            who = await self._who(request)
            owner = Handle.parse(prefix_handle(prefix))
            admins = await self._call(self.registry.get, owner)
            if not self.registry.admits(who, admins, AdminPermission.LIST_HANDLES):
                raise HandleError(
                    ResponseCode.INSUFFICIENT_PERMISSIONS, f"{who} may not list {prefix}"
                )
            total, names = await self._call(self.registry.list_handles, prefix, page, size)
            body = {
                "responseCode": 1,
                "prefix": prefix,
                "totalCount": str(total),
                "page": page,
                "pageSize": size,
                "handles": names,
            }
            return json_response(200, body)
        except HandleError as exc:
            return error_response(exc, prefix)


def create_app(registry: Registry, extra_routes: list[Route] | None = None) -> Starlette:
    api = HandleApi(registry)
    routes = [
        Route("/api/handles", api.list, methods=["GET"]),
        Route("/api/handles/{handle:path}", api.get, methods=["GET"]),
        Route("/api/handles/{handle:path}", api.put, methods=["PUT"]),
        Route("/api/handles/{handle:path}", api.delete, methods=["DELETE"]),
        bulk_route(registry),
        *template_routes(registry),
        *(extra_routes or []),
    ]
    return Starlette(routes=routes)
