"""The console's live stream: one authenticated Server-Sent Events connection per browser tab.

``GET /api/v1/tenants/{tenant}/stream`` with the usual ``Authorization`` header (the console
reads it with ``fetch()`` and a ReadableStream, since ``EventSource`` cannot send one). Events:

- ``hello``: the connection's id; ``snapshot``: every watched device's online state and latest
  values, so a page draws at once;
- ``points``: ``{device: {metric: [ts, value]}}``, the latest value of each series since the
  last flush (about every 250 ms; a value overwritten in between is not sent, see
  :mod:`helan.services.stream_hub`);
- ``device``: ``{device, online, ts}``; ``alarm``: an alarm's new state;
- ``lost``: ``{count}`` changes this tab missed because it read too slowly: reload;
- ``heartbeat``: every ``heartbeat`` seconds, with the connection's counts; a client that
  hears nothing for twice that reconnects.

The connection ends when the client goes (the server notices on its next write at the latest,
a heartbeat away) and its mailbox is dropped with it.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from helan.api.deps import Reader
from helan.core import ids
from helan.core.errors import ValidationFailed
from helan.core.thing import typed_value
from helan.ingest.live import now_ms
from helan.platform import Platform
from helan.services.stream_hub import Client, StreamHub, hello

router = APIRouter(prefix="/api/v1/tenants/{tenant}", tags=["stream"])

FLUSH_S = 0.25
MAX_DEVICES = 500


def hub_of(request: Request) -> StreamHub:
    """The platform's hub (the platform also feeds it alarms)."""
    platform: Platform = request.app.state.platform
    assert platform.stream_hub is not None, "Platform.build makes the hub"
    return platform.stream_hub


def _devices(value: str | None) -> list[str] | None:
    if not value:
        return None
    names = [d.strip() for d in value.split(",") if d.strip()]
    if len(names) > MAX_DEVICES:
        raise ValidationFailed(f"devices: at most {MAX_DEVICES}, got {len(names)}")
    return [ids.device_id(d) for d in names]


def sse(event: str, data: object) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


async def _snapshot(platform: Platform, client: Client) -> dict[str, Any]:
    await platform.live.ensure_warm(client.tenant, platform.telemetry)
    at = now_ms()
    out: dict[str, Any] = {}
    for device, state in platform.live.devices(client.tenant).items():
        if not client.wants(device):
            continue
        ref = platform.directory.lookup(client.tenant, device)
        out[device] = {
            "online": platform.live.online(state, at),
            "last_seen": state.last_seen_ms,
            "values": {
                m: [v.ts, typed_value(v.value, v.text, ref.metrics.get(m) if ref else None)]
                for m, v in state.values.items()
            },
        }
    return {"at": at, "devices": out}


async def _frames(
    request: Request, hub: StreamHub, client: Client, heartbeat_s: float
) -> AsyncIterator[bytes]:
    try:
        yield b"retry: 2000\n" + sse("hello", hello(client))
        yield sse("snapshot", await _snapshot(request.app.state.platform, client))
        beat = time.monotonic()
        while True:
            await client.wait(FLUSH_S)
            if client.pending:
                frame = client.take()
                if frame.points:
                    yield sse("points", frame.points)
                for kind, payload in frame.events:
                    yield sse(kind, payload)
                if frame.lost:
                    yield sse("lost", {"count": frame.lost})
            if time.monotonic() - beat >= heartbeat_s:
                beat = time.monotonic()
                yield sse("heartbeat", {"at": now_ms(), **client.stats()})
    finally:
        hub.disconnect(client)


@router.get(
    "/stream",
    summary="Live points, device status and alarms as Server-Sent Events",
    response_class=StreamingResponse,
)
async def stream(
    request: Request,
    tenant: str,
    _: Reader,
    devices: Annotated[
        str | None, Query(max_length=40_000, description="Comma-separated device ids")
    ] = None,
    heartbeat: Annotated[float, Query(ge=1, le=60, description="Seconds between heartbeats")] = 15,
) -> StreamingResponse:
    hub = hub_of(request)
    client = hub.connect(tenant, _devices(devices))
    return StreamingResponse(
        _frames(request, hub, client, heartbeat),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
