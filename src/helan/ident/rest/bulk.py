"""``POST /api/bulk``: batch registration over HTTP, streamed.

The body (NDJSON, or CSV with ``Content-Type: text/csv`` or ``?format=csv``) is read as it
arrives and handled in batches of ``BATCH_LINES`` lines in a worker thread, so a body of
millions of lines never sits in memory. ``?overwrite=true`` replaces existing records (default:
such a line fails with 101). The reply is a summary ``{"responseCode": 1, "created", "updated",
"failed", "errors": [{"line", "handle", "responseCode", "message"}], "errorsTruncated"}``.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from helan.ident.bulk import BulkFormat, BulkLoader, numbered_chunks
from helan.ident.codes import ResponseCode
from helan.ident.errors import HandleError
from helan.ident.registry import Registry
from helan.ident.rest.http import error_response, identify, json_response


def _format(request: Request) -> BulkFormat:
    asked = request.query_params.get("format")
    if asked is None:
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        return BulkFormat.CSV if ctype == "text/csv" else BulkFormat.NDJSON
    try:
        return BulkFormat(asked.lower())
    except ValueError:
        raise HandleError(
            ResponseCode.INVALID_VALUE, f"format {asked!r}: use ndjson or csv"
        ) from None


def bulk_route(registry: Registry) -> Route:
    async def bulk(request: Request) -> Response:
        try:
            fmt = _format(request)
            who = await identify(registry, request)
            overwrite = request.query_params.get("overwrite", "false").lower() == "true"
            loader = BulkLoader(registry, who, fmt, overwrite=overwrite)
            async for batch in numbered_chunks(request.stream()):
                await run_in_threadpool(loader.feed, batch)
                if (bad := loader.header_error()) is not None:
                    raise bad
            if (bad := loader.header_error()) is not None:
                raise bad
            return json_response(200, loader.summary.to_json())
        except HandleError as exc:
            return error_response(exc, "")

    return Route("/api/bulk", bulk, methods=["POST"])
