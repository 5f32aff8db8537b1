"""``/api/templates``: identifier data templates. Anyone may read them (a client needs to know
what to send); only an administrator of a prefix homed on the node may define or delete one."""

from __future__ import annotations

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helan.ident.codes import ResponseCode
from helan.ident.errors import HandleError
from helan.ident.registry import Registry
from helan.ident.rest.http import error_response, identify, json_response, on_store
from helan.ident.templates import parse_template

MAX_TEMPLATE_BODY = 256 << 10


class TemplateApi:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.book = registry.templates

    async def list(self, request: Request) -> Response:
        names = await on_store(self.registry, self.book.names)
        return json_response(200, {"responseCode": 1, "templates": names})

    async def get(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            template = await on_store(self.registry, self.book.get, name)
            if template is None:
                raise HandleError(ResponseCode.HANDLE_NOT_FOUND, f"template {name!r} not found")
            return json_response(
                200, {"responseCode": 1, "template": template.model_dump(mode="json")}
            )
        except HandleError as exc:
            return error_response(exc, name)

    async def put(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            who = await identify(self.registry, request)
            await on_store(self.registry, self.registry.authorize_node_admin, who)
            raw = await request.body()
            if len(raw) > MAX_TEMPLATE_BODY:
                raise HandleError(
                    ResponseCode.INVALID_VALUE, f"template body over {MAX_TEMPLATE_BODY} bytes"
                )
            try:
                payload = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise HandleError(ResponseCode.INVALID_VALUE, f"body is not JSON: {exc}") from None
            template = parse_template(name, payload)
            created = await on_store(self.registry, self.book.put, template)
            return json_response(201 if created else 200, {"responseCode": 1, "template": name})
        except HandleError as exc:
            return error_response(exc, name)

    async def delete(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            who = await identify(self.registry, request)
            await on_store(self.registry, self.registry.authorize_node_admin, who)
            if not await on_store(self.registry, self.book.delete, name):
                raise HandleError(ResponseCode.HANDLE_NOT_FOUND, f"template {name!r} not found")
            return json_response(200, {"responseCode": 1, "template": name})
        except HandleError as exc:
            return error_response(exc, name)


def template_routes(registry: Registry) -> list[Route]:
    api = TemplateApi(registry)
    return [
        Route("/api/templates", api.list, methods=["GET"]),
        Route("/api/templates/{name}", api.get, methods=["GET"]),
        Route("/api/templates/{name}", api.put, methods=["PUT"]),
        Route("/api/templates/{name}", api.delete, methods=["DELETE"]),
    ]
