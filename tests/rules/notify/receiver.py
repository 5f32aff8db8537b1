"""A real HTTP receiver on loopback (Starlette under uvicorn) for the notification tests: it
records every request, can fail a share of them, hold them, or answer like a robot API."""

from __future__ import annotations

import asyncio
import contextlib
import random
from dataclasses import dataclass, field
from typing import Any

import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.conftest import free_port


@dataclass
class Got:
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    raw: bytes

    @property
    def key(self) -> str | None:
        return self.headers.get("idempotency-key")

    @property
    def body(self) -> Any:
        return orjson.loads(self.raw)


@dataclass
class Receiver:
    fail_ratio: float = 0.0
    seed: int = 8
    answer: dict[str, Any] | None = None  # JSON to answer 200 with (robot APIs)
    hold: asyncio.Event | None = None  # requests wait for it before answering
    delay_s: float = 0.0  # each request takes this long (widens races)
    port: int = field(default_factory=free_port)
    got: list[Got] = field(default_factory=list)
    failed: int = 0
    overlaps: int = 0  # a key arriving while a request with the same key is in flight
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self.arrived = asyncio.Event()
        self._in_flight: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def keys(self) -> list[str | None]:
        return [g.key for g in self.got]

    async def _handle(self, request: Request) -> Response:
        got = Got(
            path=request.url.path,
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            raw=await request.body(),
        )
        if self._rng.random() < self.fail_ratio:
            self.failed += 1
            return Response("try later", status_code=503)
        self.got.append(got)
        self.arrived.set()
        key = got.key or ""
        if key in self._in_flight:
            self.overlaps += 1
        self._in_flight.add(key)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            if self.hold is not None:
                await self.hold.wait()
        finally:
            self._in_flight.discard(key)
        if self.answer is not None:
            return JSONResponse(self.answer)
        return Response(status_code=204)

    async def start(self) -> None:
        app = Starlette(routes=[Route("/{path:path}", self._handle, methods=["POST"])])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.01)

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            if self.hold is not None:
                self.hold.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._task), 5)
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._server = self._task = None
