"""One MQTT connection upstream: paho-mqtt in its network thread, PUBACKs as asyncio futures.

A session never reconnects by itself: when the connection goes, every pending future fails
and the forwarder opens a fresh session (a new Sparkplug bdSeq, a new will) and sends again
from the buffer, which is the only place unacknowledged data lives. So paho's own in-memory
resend queue is never relied on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

MAX_INFLIGHT = 1000


class UplinkUnavailable(Exception):
    """The broker cannot be reached, refused the login, or the connection was lost."""


@dataclass(frozen=True, slots=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    host: str
    port: int
    tls: bool


def parse_url(url: str) -> Endpoint:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
        raise ValueError(f"uplink URL {url!r}: scheme must be mqtt:// or mqtts://")
    if not parts.hostname:
        raise ValueError(f"uplink URL {url!r} has no host")
    tls = parts.scheme in ("mqtts", "ssl")
    return Endpoint(unquote(parts.hostname), parts.port or (8883 if tls else 1883), tls)


MessageHandler = Callable[[str, bytes], None]


class MqttSession:
    def __init__(
        self,
        *,
        url: str,
        client_id: str,
        username: str | None = None,
        password: str | None = None,
        will: Will | None = None,
        keepalive_s: int = 30,
        on_message: MessageHandler | None = None,
        subscriptions: tuple[str, ...] = (),
    ) -> None:
        self.endpoint = parse_url(url)
        self.keepalive_s = keepalive_s
        self.subscriptions = subscriptions
        self._on_message = on_message
        self._loop = asyncio.get_running_loop()
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self.lost: asyncio.Future[str] = self._loop.create_future()
        c = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=True,
            protocol=paho.MQTTv311,
        )
        c.max_inflight_messages_set(MAX_INFLIGHT)
        c.max_queued_messages_set(0)
        if username is not None:
            c.username_pw_set(username, password)
        if will is not None:
            c.will_set(will.topic, will.payload, will.qos, will.retain)
        if self.endpoint.tls:
            c.tls_set_context(ssl.create_default_context())
        c.on_connect = self._paho_connect
        c.on_disconnect = self._paho_disconnect
        c.on_publish = self._paho_publish
        c.on_message = self._paho_message
        c.on_subscribe = self._paho_subscribe
        self._client = c

    # paho's network thread -> event loop
    def _paho_connect(self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object) -> None:
        self._loop.call_soon_threadsafe(self._connack, rc.is_failure, str(rc))

    def _paho_disconnect(
        self, _c: object, _u: object, _f: object, rc: ReasonCode, _p: object
    ) -> None:
        self._loop.call_soon_threadsafe(self._gone, f"disconnected: {rc}")

    def _paho_publish(self, _c: object, _u: object, mid: int, rc: ReasonCode, _p: object) -> None:
        self._loop.call_soon_threadsafe(self._acked, mid, rc.is_failure, str(rc))

    def _paho_subscribe(
        self, _c: object, _u: object, mid: int, codes: list[ReasonCode], _p: object
    ) -> None:
        refused = [str(c) for c in codes if c.is_failure]
        self._loop.call_soon_threadsafe(self._acked, mid, bool(refused), ", ".join(refused))

    def _paho_message(self, _c: object, _u: object, msg: paho.MQTTMessage) -> None:
        if self._on_message is not None:
            self._loop.call_soon_threadsafe(self._on_message, msg.topic, bytes(msg.payload))

    # event loop side
    def _connack(self, failed: bool, reason: str) -> None:
        if self._connected.done():
            return
        if failed:
            self._connected.set_exception(UplinkUnavailable(f"broker refused: {reason}"))
        else:
            self._connected.set_result(None)

    def _gone(self, reason: str) -> None:
        if not self._connected.done():
            self._connected.set_exception(UplinkUnavailable(reason))
            self._connected.exception()  # retrieved: nobody may be waiting for a CONNACK now
        if not self.lost.done():
            self.lost.set_result(reason)
        pending, self._pending = self._pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(UplinkUnavailable(reason))

    def _acked(self, mid: int, failed: bool, reason: str) -> None:
        fut = self._pending.pop(mid, None)
        if fut is None or fut.done():
            return
        if failed:
            fut.set_exception(UplinkUnavailable(f"broker refused a publish: {reason}"))
        else:
            fut.set_result(None)

    async def connect(self, timeout_s: float = 10.0) -> None:
        e = self.endpoint
        try:
            await asyncio.wait_for(
                asyncio.to_thread(self._client.connect, e.host, e.port, self.keepalive_s),
                timeout_s,
            )
        except (OSError, TimeoutError) as exc:
            raise UplinkUnavailable(f"cannot reach {e.host}:{e.port}: {exc}") from None
        self._client.loop_start()
        try:
            await asyncio.wait_for(asyncio.shield(self._connected), timeout_s)
        except TimeoutError:
            await self.close()
            raise UplinkUnavailable(f"no CONNACK from {e.host}:{e.port}") from None
        except UplinkUnavailable:
            await self.close()
            raise
        await self._subscribe(timeout_s)

    async def _subscribe(self, timeout_s: float) -> None:
        """Subscribe and wait for the SUBACKs: a session counts as up only once it can receive
        its commands (a command published before the SUBACK would miss this clean session)."""
        if not self.subscriptions:
            return
        fut: asyncio.Future[None] = self._loop.create_future()
        rc, mid = self._client.subscribe([(topic, 1) for topic in self.subscriptions])
        if rc != paho.MQTT_ERR_SUCCESS or mid is None:
            await self.close()
            raise UplinkUnavailable(f"subscribe failed: {paho.error_string(rc)}")
        self._pending[mid] = fut
        try:
            await asyncio.wait_for(fut, timeout_s)
        except TimeoutError:
            await self.close()
            raise UplinkUnavailable("no SUBACK for the command topics") from None
        except UplinkUnavailable as exc:
            await self.close()
            raise UplinkUnavailable(f"subscription refused: {exc}") from None

    def publish(
        self, topic: str, payload: bytes, *, qos: int = 1, retain: bool = False
    ) -> asyncio.Future[None]:
        """Send; the future completes at PUBACK (QoS 1) and fails when the connection goes."""
        fut: asyncio.Future[None] = self._loop.create_future()
        if self.lost.done():
            fut.set_exception(UplinkUnavailable(self.lost.result()))
            return fut
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            fut.set_exception(UplinkUnavailable(f"publish failed: {paho.error_string(info.rc)}"))
        elif qos == 0:
            fut.set_result(None)
        else:
            self._pending[info.mid] = fut  # the PUBACK callback runs after this line, never before
        return fut

    async def close(self) -> None:
        """Disconnect cleanly (no will) and stop paho's thread."""
        with contextlib.suppress(Exception):
            self._client.disconnect()
        await asyncio.to_thread(self._client.loop_stop)
        self._gone("closed")
