"""The resolver role's REST API: ``GET /api/handles/{handle}`` for any identifier, resolved
recursively from the root down, like the Handle.Net proxy (hdl.handle.net) answers any handle.

The bodies are those of a node's REST API (``rest/app.py``), plus ``authenticated``: whether the
answer's SM2 signatures verified up to the trust anchor. A resolver holds no records, so it
lists nothing and writes nothing: those requests get RC_OPERATION_NOT_SUPPORTED.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helan.ident.codes import ResponseCode
from helan.ident.errors import HandleError
from helan.ident.rest.app import indexes_of
from helan.ident.rest.http import error_response, json_response
from helan.ident.rest.jsonvalues import value_to_json
from helan.ident.server.resolver import Resolver
from helan.ident.wire.records import decode_values

MAX_TYPES = 32


def create_proxy_app(resolver: Resolver) -> Starlette:
    async def get(request: Request) -> Response:
        name = request.path_params["handle"]
        try:
            indexes = indexes_of(request)
            types = request.query_params.getlist("type")
            if len(types) + len(indexes) > MAX_TYPES:
                raise HandleError(
                    ResponseCode.INVALID_VALUE, f"at most {MAX_TYPES} index and type filters"
                )
            try:
                wanted = tuple(t.encode("utf-8") for t in types)
            except UnicodeEncodeError:
                raise HandleError(ResponseCode.INVALID_VALUE, "type is not valid UTF-8") from None
            found = await resolver.resolve(name, indexes, wanted)
        except HandleError as exc:
            return error_response(exc, name)
        if found.rc == ResponseCode.VALUES_NOT_FOUND:
            handle = found.handle.decode("utf-8", "replace")
            return json_response(200, {"responseCode": 200, "handle": handle, "values": []})
        if found.rc != ResponseCode.SUCCESS:
            return error_response(HandleError(ResponseCode(found.rc), found.message), name)
        body = {
            "responseCode": 1,
            "handle": found.handle.decode("utf-8", "replace"),
            "values": [value_to_json(v) for v in decode_values(found.values)],
            "authenticated": found.authenticated,
        }
        return json_response(200, body)

    async def refuse(request: Request) -> Response:
        exc = HandleError(
            ResponseCode.OPERATION_NOT_SUPPORTED,
            "a resolver only resolves: write to the node that homes the prefix",
        )
        return error_response(exc, request.path_params.get("handle", ""))

    return Starlette(
        routes=[
            Route("/api/handles/{handle:path}", get, methods=["GET"]),
            Route("/api/handles/{handle:path}", refuse, methods=["PUT", "DELETE", "POST"]),
            Route("/api/handles", refuse, methods=["GET", "POST"]),
        ]
    )
