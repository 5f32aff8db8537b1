"""HTTP ingest: bulk bodies from a tenant's writers, and a device's own telemetry.

Answers 200 only once the accepted points are durable, with per-point errors for the rest;
400 for a body that cannot be read, 413 oversize, 415 unknown type, 422 when no point was valid,
503 when the store refused the write (nothing was accepted; send again).
"""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from helan.api.deps import CurrentPrincipal, Writer, get_platform
from helan.connect.http.bodies import ARROW, CSV, JSON, BodyError, decode
from helan.core.errors import Forbidden, HelanError, PayloadTooLarge
from helan.ingest.bulk import validate
from helan.ingest.live import now_ms
from helan.ingest.native import decode_native
from helan.ingest.reasons import MALFORMED, TOO_LARGE, TOO_MANY_POINTS
from helan.platform import Platform

router = APIRouter(tags=["ingest"])
PlatformDep = Annotated[Platform, Depends(get_platform)]

# Bodies this large are decoded and validated in a worker thread, so a bulk upload does not
# hold up every other request on the event loop.
_THREAD_ABOVE_BYTES = 64 * 1024


class BadBody(HelanError):
    code = "bad_body"
    status = 400


class UnsupportedMediaType(HelanError):
    code = "unsupported_media_type"
    status = 415


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit`` bytes (without reading on)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body of {declared} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body exceeds the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


_SCALAR: dict[str, Any] = {"type": ["number", "boolean", "string"]}
_TS: dict[str, Any] = {
    "description": "Epoch milliseconds or RFC 3339 with a UTC offset",
    "type": ["integer", "string"],
}
_ROW: dict[str, Any] = {
    "type": "object",
    "required": ["device", "metric", "ts", "value"],
    "properties": {
        "device": {"type": "string"},
        "metric": {"type": "string"},
        "ts": _TS,
        "value": _SCALAR,
    },
}
_COLUMNS: dict[str, Any] = {
    "type": "object",
    "required": ["device", "ts", "values"],
    "properties": {
        "device": {"type": "string"},
        "ts": {"type": "array", "items": _TS},
        "values": {
            "type": "object",
            "description": "metric -> one value per entry of ts",
            "additionalProperties": {"type": "array", "items": _SCALAR},
        },
    },
}
_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["accepted", "rejected", "errors"],
    "properties": {
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "errors": {
            "type": "array",
            "description": "The first 100 rejected points with their reason; the rest counted",
            "items": {"type": "object"},
        },
    },
}
# The body is read by hand (four formats, streamed size limit), so OpenAPI is told its shapes.
BULK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {"oneOf": [{"type": "array", "items": _ROW}, _COLUMNS]},
                "examples": {
                    "rows": {
                        "value": [
                            {
                                "device": "pump-1",
                                "metric": "temp",
                                "ts": 1714521600000,
                                "value": 21.5,
                            }
                        ]
                    },
                    "columns": {
                        "value": {
                            "device": "pump-1",
                            "ts": [1714521600000, 1714521601000],
                            "values": {"temp": [21.5, 21.6], "running": [True, True]},
                        }
                    },
                },
            },
            ARROW: {
                "schema": {"type": "string", "format": "binary"},
                "description": "Arrow IPC stream with columns device, metric, ts (int64 ms), "
                "value (float64) and optionally text",
            },
            CSV: {
                "schema": {"type": "string"},
                "example": "device,metric,ts,value\npump-1,temp,1714521600000,21.5\n",
            },
        },
    },
    "responses": {"200": {"content": {JSON: {"schema": _ANSWER}}}},
}
NATIVE_MESSAGE: dict[str, Any] = {
    "type": "object",
    "required": ["values"],
    "properties": {
        "ts": _TS,
        "values": {"type": "object", "additionalProperties": _SCALAR},
    },
}
DEVICE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "description": "The MQTT telemetry payload: one message or a list of them",
                    "oneOf": [
                        NATIVE_MESSAGE,
                        {"type": "array", "items": NATIVE_MESSAGE},
                    ],
                },
                "example": {"ts": 1714521600000, "values": {"temp": 21.5, "running": True}},
            }
        },
    },
    "responses": {"200": {"content": {JSON: {"schema": _ANSWER}}}},
}


def _answer(accepted: int, rejected: int, errors: list[dict[str, Any]]) -> Response:
    body: dict[str, Any] = {"accepted": accepted, "rejected": rejected, "errors": errors}
    status = 200
    if accepted == 0 and rejected > 0:
        body["error"] = {"code": "invalid", "message": f"all {rejected} points were rejected"}
        status = 422
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.post(
    "/api/v1/tenants/{tenant}/ingest",
    summary="Bulk ingest (JSON rows or columns, Arrow IPC stream, CSV)",
    responses={400: {}, 413: {}, 415: {}, 422: {}, 503: {}},
    openapi_extra=BULK_BODY,
)
async def ingest_bulk(
    tenant: str, request: Request, principal: Writer, platform: PlatformDep
) -> Response:
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() not in (JSON, ARROW, CSV):
        raise UnsupportedMediaType(
            f"content type {content_type!r} is not one of {JSON}, {ARROW}, {CSV}"
        )
    body = await read_body(request, platform.settings.max_payload_bytes)
    counters = platform.pipeline.counters

    def work() -> Any:
        cand = decode(body, content_type, tenant=tenant, now_ms=now_ms())
        return validate(
            cand,
            tenant=tenant,
            directory=platform.directory,
            settings=platform.settings,
            now_ms=now_ms(),
        )

    try:
        result = await run_in_threadpool(work) if len(body) > _THREAD_ABOVE_BYTES else work()
    except BodyError as exc:
        counters.rejected(tenant, {MALFORMED: 1})
        raise BadBody(str(exc)) from exc
    counters.message(tenant)
    if result.rejected:
        counters.rejected(tenant, result.reasons)
    if result.accepted:
        await platform.pipeline.submit(result.table)
    return _answer(result.accepted, result.rejected, [e.as_dict() for e in result.errors])


@router.post(
    "/api/v1/devices/me/telemetry",
    summary="A device sends its own telemetry (HTTP Basic device credential; MQTT payload)",
    responses={400: {}, 413: {}, 415: {}, 422: {}, 503: {}},
    openapi_extra=DEVICE_BODY,
)
async def device_telemetry(
    request: Request, principal: CurrentPrincipal, platform: PlatformDep
) -> Response:
    if principal.kind != "device" or principal.tenant is None:
        raise Forbidden("this endpoint takes a device credential (HTTP Basic)")
    content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != JSON:
        raise UnsupportedMediaType(f"content type {content_type!r}: send {JSON}")
    tenant, device = principal.tenant, principal.subject
    body = await read_body(request, platform.settings.max_payload_bytes)
    now = now_ms()
    ref = platform.directory.lookup(tenant, device)
    decoded = await run_in_threadpool(
        lambda: decode_native(
            body, tenant=tenant, device=device, ref=ref, now_ms=now, settings=platform.settings
        )
    )
    counters = platform.pipeline.counters
    counters.message(tenant)
    if ref is not None:
        platform.live.seen(tenant, device, now)
    if decoded.reasons:
        counters.rejected(tenant, decoded.reasons)
    if decoded.fault == MALFORMED or decoded.fault == TOO_MANY_POINTS:
        raise BadBody(decoded.fault_message, code=decoded.fault)
    if decoded.fault == TOO_LARGE:
        raise PayloadTooLarge(decoded.fault_message)
    if decoded.points.ts:
        await platform.pipeline.submit_points(decoded.points)
    return _answer(len(decoded.points), decoded.rejected, [e.as_dict() for e in decoded.errors])
