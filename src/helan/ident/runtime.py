"""A running node: store, registry, wire listeners and (optionally) the REST API, by role."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from helan.ident.codes import DEFAULT_PORT
from helan.ident.model import SiteInfo, prefix_handle
from helan.ident.node import Node, Role
from helan.ident.registry import Registry
from helan.ident.server.client import Target
from helan.ident.server.listeners import Listener
from helan.ident.server.resolver import Resolver
from helan.ident.store import HandleStore, open_store
from helan.ident.trust.signing import PUBKEY_INDEX, Signer
from helan.security.crypto.sm2 import PrivateKey

if TYPE_CHECKING:
    from starlette.types import ASGIApp as ASGIApplication


@dataclass
class NodeConfig:
    role: Role
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    store: str = "lmdb:ident"
    data_dir: Path = Path("var")
    prefixes: list[str] = field(default_factory=list)
    admin_secret: bytes = b""
    roots: list[Target] = field(default_factory=list)
    rest_port: int | None = None
    sign_key: PrivateKey | None = None  # SM2: sign every record this node stores
    trust_anchor: bytes | None = None  # resolver: the root's SM2 public key


class RunningNode:
    def __init__(self, config: NodeConfig) -> None:
        self.config = config
        self.store: HandleStore | None = None
        self.node: Node | None = None
        self.registry: Registry | None = None
        self.resolver: Resolver | None = None
        self.listener: Listener | None = None
        self._rest: asyncio.Task[None] | None = None
        self._rest_server: object | None = None

    @property
    def port(self) -> int:
        assert self.listener is not None
        return self.listener.port

    async def start(self) -> None:
        cfg = self.config
        if cfg.role is Role.RESOLVER:
            if not cfg.roots:
                raise ValueError("a resolver needs at least one root (--root HOST:PORT)")
            self.resolver = Resolver(cfg.roots, trust_anchor=cfg.trust_anchor)
            self.listener = Listener(cfg.host, cfg.port, aio=self.resolver.respond)
            await self.listener.start()
            if cfg.rest_port is not None:
                from helan.ident.rest.proxy import create_proxy_app

                await self._start_rest(create_proxy_app(self.resolver), cfg.rest_port)
            return
        store = self.store = open_store(cfg.store, cfg.data_dir)
        homed = list(cfg.prefixes) + (["0.NA"] if cfg.role is Role.ROOT else [])
        signer = None
        if cfg.sign_key is not None and homed:
            signer = Signer(cfg.sign_key, f"{PUBKEY_INDEX}:{prefix_handle(homed[0])}")
        self.registry = Registry(store, homed=homed, signer=signer)
        self.node = Node(store, role=cfg.role, homed=homed)
        self.registry.listeners.append(self.node.answers.invalidate)
        if store.blocking:

            async def respond(data: bytes) -> bytes:
                assert self.node is not None
                return await asyncio.to_thread(self.node.respond, data)

            self.listener = Listener(cfg.host, cfg.port, aio=respond)
        else:
            self.listener = Listener(cfg.host, cfg.port, sync=self.node.respond)
        await self.listener.start()
        site = SiteInfo.single(cfg.host, self.listener.port)
        self.node.site = site
        if cfg.admin_secret:
            for prefix in homed:
                self.registry.bootstrap_prefix(prefix, cfg.admin_secret, site)
        if cfg.rest_port is not None:
            from helan.ident.rest.app import create_app

            await self._start_rest(create_app(self.registry), cfg.rest_port)

    async def _start_rest(self, app: ASGIApplication, port: int) -> None:
        import uvicorn

        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=self.config.host,
                port=port,
                log_level="warning",
                lifespan="off",
            )
        )
        self._rest_server = server
        self._rest = asyncio.get_running_loop().create_task(server.serve())

    async def stop(self) -> None:
        if self._rest is not None and self._rest_server is not None:
            self._rest_server.should_exit = True  # type: ignore[attr-defined]
            with contextlib.suppress(asyncio.CancelledError):
                await self._rest
        if self.listener is not None:
            await self.listener.stop()
        if self.resolver is not None:
            self.resolver.close()
        if self.store is not None:
            self.store.close()
