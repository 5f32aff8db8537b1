"""What each kind of channel needs, checked with pydantic when a channel is saved and again
when a delivery is sent (a row from an older version must not crash the worker).

Secrets (a webhook's HMAC secret, DingTalk's sign secret, the key or access token in a robot
URL) are write-only: :func:`public_config` is what the API shows. At rest they are sealed
(SM4-GCM, :mod:`helan.security.crypto.seal`): :func:`seal_config` before a row is written,
:func:`open_config` when it is read to send or to merge an update; a robot URL is kept masked
in ``url`` and sealed whole in ``url_sealed``.
"""

from __future__ import annotations

import re
import string
from enum import StrEnum
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from helan.core.errors import ValidationFailed
from helan.security.crypto.seal import Sealer, is_sealed


class Kind(StrEnum):
    WEBHOOK = "webhook"
    EMAIL = "email"
    WECOM = "wecom"
    DINGTALK = "dingtalk"
    MQTT = "mqtt"
    COMMAND = "command"


MAX_URL = 2000
# Fields a topic template may name; anything else in braces is refused when saved.
TOPIC_FIELDS = frozenset({"tenant", "device", "rule_id", "alarm_id", "kind", "severity"})
_EMAIL = re.compile(r"^[^@\s<>,;\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_SECRETS = frozenset({"secret"})


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("has no host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not carry a user name or password")
    try:
        _ = parts.port
    except ValueError as exc:
        raise ValueError(f"has a bad port: {exc}") from None
    return value


class _UrlConfig(_Config):
    url: str = Field(min_length=1, max_length=MAX_URL)

    @field_validator("url")
    @classmethod
    def _url(cls, value: str) -> str:
        return _http_url(value)


class WebhookConfig(_UrlConfig):
    """POST a JSON body signed with HMAC-SHA256(secret, body)."""

    secret: SecretStr = Field(min_length=16, max_length=256)


class EmailConfig(_Config):
    recipients: list[Annotated[str, Field(max_length=254)]] = Field(min_length=1, max_length=50)

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for address in value:
            if not _EMAIL.match(address):
                raise ValueError(f"{address!r} is not an e-mail address")
        return value


class WeComConfig(_UrlConfig):
    """A WeCom (企业微信) group robot: its webhook URL (with its key)."""


class DingTalkConfig(_UrlConfig):
    """A DingTalk (钉钉) group robot: its webhook URL (with its access token) and, when the robot
    is set to sign requests ("加签"), its secret (``SEC...``)."""

    secret: SecretStr | None = Field(None, min_length=1, max_length=256)


class MqttConfig(_Config):
    """Publish the webhook's JSON body to ``helan/notify/{tenant}/<topic>``."""

    topic: str = Field(min_length=1, max_length=200)
    qos: Literal[0, 1] = 1

    @field_validator("topic")
    @classmethod
    def _template(cls, value: str) -> str:
        if "+" in value or "#" in value or "\x00" in value:
            raise ValueError("must not contain MQTT wildcards (+, #) or NUL")
        if value.startswith("/") or value.endswith("/") or "//" in value:
            raise ValueError("must not start or end with '/' nor have empty levels")
        try:
            names = {f for _, f, _, _ in string.Formatter().parse(value) if f is not None}
        except ValueError as exc:
            raise ValueError(f"is not a valid template: {exc}") from None
        unknown = names - TOPIC_FIELDS
        if unknown:
            raise ValueError(
                f"names unknown fields {sorted(unknown)}; known: {sorted(TOPIC_FIELDS)}"
            )
        return value


Scalar = str | int | float | bool


class CommandConfig(_Config):
    """Send the device a command of its thing model (checked like any other command)."""

    device: str = Field(min_length=1, max_length=64)
    command: str = Field(min_length=1, max_length=64)
    params: dict[str, Scalar] = Field(default_factory=dict, max_length=64)
    timeout_s: float = Field(10.0, gt=0, le=300)


MODELS: dict[Kind, type[_Config]] = {
    Kind.WEBHOOK: WebhookConfig,
    Kind.EMAIL: EmailConfig,
    Kind.WECOM: WeComConfig,
    Kind.DINGTALK: DingTalkConfig,
    Kind.MQTT: MqttConfig,
    Kind.COMMAND: CommandConfig,
}

ChannelConfig = (
    WebhookConfig | EmailConfig | WeComConfig | DingTalkConfig | MqttConfig | CommandConfig
)


def parse_config(kind: str, config: dict[str, Any], *, loc: tuple[str, ...] = ("config",)) -> Any:
    """The config as its kind's model; ValidationFailed naming each bad field (``loc``)."""
    try:
        model = MODELS[Kind(kind)]
    except ValueError:
        raise ValidationFailed(
            f"kind must be one of {[k.value for k in Kind]}, got {kind!r}",
            details=[{"loc": ["kind"], "message": "unknown channel kind", "type": "enum"}],
        ) from None
    try:
        return model.model_validate(config)
    except ValidationError as exc:
        details = [
            {"loc": [*loc, *map(str, e["loc"])], "message": e["msg"], "type": e["type"]}
            for e in exc.errors()[:20]
        ]
        message = "; ".join(f"{'.'.join(d['loc'])}: {d['message']}" for d in details[:5])
        raise ValidationFailed(f"invalid {kind} channel: {message}", details=details) from None


def stored_config(parsed: BaseModel) -> dict[str, Any]:
    """What the table keeps: plain JSON, secrets revealed."""
    out: dict[str, Any] = {}
    for name, value in parsed:
        out[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
    return out


def merge_secrets(kind: str, new: dict[str, Any], old: dict[str, Any]) -> dict[str, Any]:
    """An update that leaves a secret out keeps the stored one (the API never shows it); a
    robot URL whose query the API masked keeps the stored query."""
    merged = dict(new)
    for name in _SECRETS:
        if name not in merged and name in old:
            merged[name] = old[name]
    url, old_url = merged.get("url"), old.get("url")
    if isinstance(url, str) and isinstance(old_url, str) and url == mask_url(old_url):
        merged["url"] = old_url
    return merged


def seal_config(kind: str, config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """The config as stored: its secret and a robot URL's keys sealed."""
    out = dict(config)
    if isinstance(out.get("secret"), str) and not is_sealed(out["secret"]):
        out["secret"] = sealer.seal(out["secret"])
    url = out.get("url")
    if kind in (Kind.WECOM, Kind.DINGTALK) and isinstance(url, str) and urlsplit(url).query:
        out["url"], out["url_sealed"] = mask_url(url), sealer.seal(url)
    return out


def open_config(config: dict[str, Any], sealer: Sealer) -> dict[str, Any]:
    """The stored config with its secrets opened (SealError for a wrong key or damage)."""
    out = dict(config)
    if is_sealed(out.get("secret")):
        out["secret"] = sealer.open(out["secret"])
    if is_sealed(out.get("url_sealed")):
        out["url"] = sealer.open(out.pop("url_sealed"))
    return out


def mask_url(url: str) -> str:
    """The URL with its query values hidden (robot keys and tokens live there)."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    query = urlencode([(k, "***") for k, _ in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit(parts._replace(query=query))


def public_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config as the API shows it: no secret, ``secret_set`` instead, masked URLs."""
    out = {k: v for k, v in config.items() if k not in _SECRETS and k != "url_sealed"}
    if kind in (Kind.WEBHOOK, Kind.DINGTALK):
        out["secret_set"] = bool(config.get("secret"))
    if isinstance(out.get("url"), str) and kind in (Kind.WECOM, Kind.DINGTALK):
        out["url"] = mask_url(out["url"])
    return out
