"""The command contract on MQTT, shared by the platform and the edge gateway.

Down: ``helan/v1/{tenant}/{device}/commands/{id}`` carrying
``{"id", "service", "params": {name: value}, "issued_at": ms, "expires_at": ms}``.
Up: ``.../commands/{id}/reply`` carrying ``{"id", "status": "success"|"failure", "reason",
"message"}``. The executor refuses a command past ``expires_at`` (``expired``) and one whose id
it has already seen (``replay``), so a captured command cannot be played again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

import orjson

from helan.protocol.topics import ROOT

REPLY_FILTER = f"{ROOT}/+/+/commands/+/reply"
COMMAND_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
Scalar = bool | int | float | str
ReplyStatus = Literal["success", "failure"]
# Why a command ended as it did (the executor's word; the platform adds ``timeout``).
EXECUTED = "executed"
REFUSED = "refused"
EXPIRED = "expired"
REPLAY = "replay"
WRITE_FAILED = "write_failed"
MALFORMED = "malformed"


class WireError(ValueError):
    """A command or reply that does not follow the contract."""


def command_topic(tenant: str, device: str, command_id: str) -> str:
    return f"{ROOT}/{tenant}/{device}/commands/{command_id}"


def reply_topic(tenant: str, device: str, command_id: str) -> str:
    return f"{command_topic(tenant, device, command_id)}/reply"


def parse_command_topic(topic: str, *, reply: bool = False) -> tuple[str, str, str]:
    """(tenant, device, command id) of a command topic, or of a reply topic with ``reply``."""
    parts = topic.split("/")
    want = 7 if reply else 6
    if (
        len(parts) != want
        or f"{parts[0]}/{parts[1]}" != ROOT
        or parts[4] != "commands"
        or (reply and parts[6] != "reply")
        or not COMMAND_ID.fullmatch(parts[5])
    ):
        raise WireError(f"not a command{' reply' if reply else ''} topic: {topic[:200]!r}")
    return parts[2], parts[3], parts[5]


def _object(data: bytes, what: str) -> dict[str, object]:
    try:
        doc = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise WireError(f"{what} is not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise WireError(f"{what} must be a JSON object")
    return doc


def _int(doc: dict[str, object], key: str, what: str) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool):
        raise WireError(f"{what}: {key!r} must be an integer (epoch ms)")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandMessage:
    id: str
    service: str
    params: dict[str, Scalar]
    issued_at: int
    expires_at: int

    def encode(self) -> bytes:
        return bytes(
            orjson.dumps(
                {
                    "id": self.id,
                    "service": self.service,
                    "params": self.params,
                    "issued_at": self.issued_at,
                    "expires_at": self.expires_at,
                }
            )
        )

    @classmethod
    def decode(cls, data: bytes) -> CommandMessage:
        doc = _object(data, "command")
        cid, service, params = doc.get("id"), doc.get("service"), doc.get("params")
        if not isinstance(cid, str) or not COMMAND_ID.fullmatch(cid):
            raise WireError("command: 'id' must be 1-32 letters, digits, '_' or '-'")
        if not isinstance(service, str) or not service:
            raise WireError("command: 'service' must be a non-empty string")
        if not isinstance(params, dict) or not all(
            isinstance(v, bool | int | float | str) for v in params.values()
        ):
            raise WireError("command: 'params' must be an object of scalars")
        return cls(
            id=cid,
            service=service,
            params=params,
            issued_at=_int(doc, "issued_at", "command"),
            expires_at=_int(doc, "expires_at", "command"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    id: str
    status: ReplyStatus
    reason: str
    message: str = ""

    def encode(self) -> bytes:
        body = {
            "id": self.id,
            "status": self.status,
            "reason": self.reason,
            "message": self.message,
        }
        return bytes(orjson.dumps(body))

    @classmethod
    def decode(cls, data: bytes) -> Reply:
        doc = _object(data, "reply")
        cid, status, reason, message = (doc.get(k) for k in ("id", "status", "reason", "message"))
        if not isinstance(cid, str) or status not in ("success", "failure"):
            raise WireError("reply: needs 'id' and 'status' success|failure")
        return cls(
            id=cid,
            status=status,
            reason=reason if isinstance(reason, str) else "",
            message=message[:500] if isinstance(message, str) else "",
        )
