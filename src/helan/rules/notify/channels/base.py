"""What every channel's sender gets and how it says a send failed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from helan.config import Settings
from helan.rules.notify.allowlist import Resolver, check_url_async
from helan.storage.meta import MetaStore

if TYPE_CHECKING:
    from helan.connect.commands.service import CommandService
    from helan.rules.notify.channels.mqtt import Publisher


class SendFailed(Exception):
    """The receiver did not accept the notice. ``permanent``: retrying cannot help (a bad
    config, a refused URL): the delivery goes to the dead letters at once."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelSpec:
    """A channel as the worker read it when it claimed the delivery."""

    tenant: str
    id: str
    name: str
    kind: str
    config: dict[str, Any]
    enabled: bool = True
    rate_per_minute: int | None = None
    quiet_hours: dict[str, Any] | None = None


@dataclass(slots=True, kw_only=True)
class SendContext:
    meta: MetaStore
    settings: Settings
    http: httpx.AsyncClient
    resolve: Resolver
    clock: Callable[[], int]  # epoch ms
    commands: CommandService | None = None
    mqtt: Publisher | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    async def check_url(self, url: str, field_name: str = "url") -> None:
        """The allow-list again at send time (DNS answers change): refused is permanent."""
        from helan.core.errors import ValidationFailed

        try:
            await check_url_async(
                url, self.settings.notify_allowed_hosts, field=field_name, resolve=self.resolve
            )
        except ValidationFailed as exc:
            raise SendFailed(exc.message, permanent=True) from None

    async def post_json(self, url: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """POST ``body``; a transport error or a non-2xx answer is a (retryable) failure."""
        await self.check_url(url)
        try:
            response = await self.http.post(
                url, content=body, headers={"Content-Type": "application/json", **headers}
            )
        except httpx.HTTPError as exc:
            raise SendFailed(f"{type(exc).__name__}: {exc}"[:500] or type(exc).__name__) from None
        if not 200 <= response.status_code < 300:
            text = response.text[:200]
            raise SendFailed(f"HTTP {response.status_code}: {text}")
        return response


Sender = Callable[[SendContext, ChannelSpec, dict[str, Any]], Awaitable[None]]
