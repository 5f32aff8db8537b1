"""The embedded NATS server's auth callout: every MQTT (and NATS) connection's credential is
checked against the device directory when it connects, and the connection gets the subject
permissions of :mod:`helan.connect.nats.rights`.

The directory stays the one truth: a device created, disabled or given a new credential is
seen at its next connect, with nothing copied into the server's config. The callout runs in the
platform's process on a nats-py connection; the server asks it on ``$SYS.REQ.USER.AUTH`` and
trusts only answers signed with this start's account key.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import nats
import orjson
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg

from helan.connect.mqtt.service import SERVICE_SECRET, SERVICE_USERNAME
from helan.connect.nats import jwt
from helan.connect.nats.rights import device_rights, service_rights
from helan.core.thing import DeviceDirectory, DeviceRef
from helan.ingest.live import LiveState

log = logging.getLogger(__name__)

AUTH_SUBJECT = "$SYS.REQ.USER.AUTH"
APP_ACCOUNT = "HELAN"  # the account every device and service connection lands in


@dataclass
class AuthCallout:
    directory: DeviceDirectory
    key: jwt.AccountKey
    live: LiveState | None = None
    # (tenant, device) of each publish refused as outside its rights: the platform counts it
    # in the tenant's ingest report as ``topic_not_allowed``.
    on_refused: Callable[[str, str], None] | None = None
    refused: int = 0  # connections refused (bad credential, disabled device, stolen client id)
    kicked: int = 0  # connections closed for publishing outside their rights
    _nc: Nats | None = None
    _events: Nats | None = None
    _devices: dict[int, DeviceRef] = field(default_factory=dict)  # NATS client id -> device
    _service_client_ids: set[str] = field(default_factory=set)
    connections: int = 0  # client connections now (devices and services), from $SYS events

    async def start(self, url: str, auth_user: tuple[str, str], sys_user: tuple[str, str]) -> None:
        """Answer the server's questions; on the system account, follow devices' connects and
        disconnects (for :class:`LiveState`) and close connections that break their rights."""
        self._nc = await nats.connect(url, user=auth_user[0], password=auth_user[1])
        await self._nc.subscribe(AUTH_SUBJECT, cb=self._answer)
        self._events = await nats.connect(url, user=sys_user[0], password=sys_user[1])
        await self._events.subscribe(f"$SYS.ACCOUNT.{APP_ACCOUNT}.*", cb=self._event)
        await self._nc.flush()
        await self._events.flush()

    async def stop(self) -> None:
        for nc in (self._nc, self._events):
            if nc is not None and not nc.is_closed:
                await nc.close()
        self._nc = self._events = None
        self._devices.clear()

    async def _answer(self, msg: Msg) -> None:
        try:
            request = jwt.decode(msg.data.decode())["nats"]
            server_id, user_nkey = request["server_id"]["id"], request["user_nkey"]
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            log.warning("auth callout: malformed request ignored")
            return
        response: dict[str, Any] = {"type": "authorization_response", "version": 2}
        granted = self.decide(request)
        if granted is None:
            self.refused += 1
            response["error"] = "not authorized"
        else:
            name, (publish, subscribe) = granted
            response["jwt"] = self.key.sign(
                {
                    "sub": user_nkey,
                    "aud": APP_ACCOUNT,
                    "name": name,
                    "nats": {
                        "type": "user",
                        "version": 2,
                        "pub": {"allow": publish},
                        "sub": {"allow": subscribe},
                        "subs": -1,
                        "data": -1,
                        "payload": -1,
                    },
                }
            )
        await msg.respond(
            self.key.sign({"sub": user_nkey, "aud": server_id, "nats": response}).encode()
        )

    def decide(self, request: dict[str, Any]) -> tuple[str, tuple[list[str], list[str]]] | None:
        """The connection's name and (publish, subscribe) rights, or None to refuse it."""
        opts = request.get("connect_opts") or {}
        info = request.get("client_info") or {}
        username, password = str(opts.get("user") or ""), str(opts.get("pass") or "")
        mqtt_id = str(info.get("mqtt_id") or info.get("name") or "")
        if username == SERVICE_USERNAME:
            if not hmac.compare_digest(password.encode(), SERVICE_SECRET.encode()):
                log.info("MQTT connect refused: wrong service secret (client %r)", mqtt_id)
                return None
            if mqtt_id:
                self._service_client_ids.add(mqtt_id)
            return SERVICE_USERNAME, service_rights(nats=info.get("type") == "nats")
        if mqtt_id in self._service_client_ids:
            log.warning("MQTT connect refused: client id %r is the ingest service's", mqtt_id)
            return None
        ref = self.directory.authenticate(username, password) if username else None
        if ref is None or not ref.enabled:
            log.info("MQTT connect refused for username %r (client %r)", username[:64], mqtt_id)
            return None
        if isinstance(info.get("id"), int):
            self._devices[info["id"]] = ref
        return f"{ref.device}@{ref.tenant}", device_rights(self.directory, ref)

    async def kick(self, cid: int, subject: str) -> None:
        """Close connection ``cid``, which published on ``subject`` outside its rights.

        NATS drops such a message but still PUBACKs it at QoS 1; MQTT 3.1.1 has no negative
        PUBACK, so closing the connection is how the device learns (its client logs it, and
        the message is not silently taken as delivered by anyone watching the connection)."""
        nc = self._events
        server_id = nc._server_info.get("server_id") if nc is not None else None
        if nc is None or nc.is_closed or not server_id:
            return
        ref = self._devices.get(cid)
        who = f"{ref.device}@{ref.tenant}" if ref is not None else f"client {cid}"
        log.warning("MQTT %s published on %r outside its rights: disconnected", who, subject)
        self.kicked += 1
        if ref is not None and self.on_refused is not None:
            self.on_refused(ref.tenant, ref.device)
        try:
            await nc.request(f"$SYS.REQ.SERVER.{server_id}.KICK", orjson.dumps({"cid": cid}), 2)
        except (TimeoutError, nats.errors.Error) as exc:
            log.warning("could not disconnect MQTT %s: %s", who, exc)

    async def _event(self, msg: Msg) -> None:
        kind = msg.subject.rsplit(".", 1)[-1]
        if kind not in ("CONNECT", "DISCONNECT"):
            return
        try:
            cid = orjson.loads(msg.data)["client"]["id"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return
        self.connections = (
            self.connections + 1 if kind == "CONNECT" else max(0, self.connections - 1)
        )
        ref = self._devices.get(cid) if kind == "CONNECT" else self._devices.pop(cid, None)
        if ref is not None and self.live is not None:
            self.live.set_connected(ref.tenant, ref.device, kind == "CONNECT")
