"""What apps hand back from their hooks, as frozen data the manager checks before using."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from helan.core.errors import ValidationFailed
from helan.ingest.stream import CommittedBatch, CommittedEvents

# An app's id is its entry-point name: it prefixes job ids, route paths and scopes.
APP_ID = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_PAGE_ID = re.compile(r"^[a-z][a-z0-9-]{0,63}$")
_MODULE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_./-]*\.js$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolePage:
    """A page of the web console: ``module`` is a JS module path inside the app's static dir."""

    id: str
    title_zh: str
    title_en: str
    module: str

    def __post_init__(self) -> None:
        if not _PAGE_ID.match(self.id):
            raise ValidationFailed(f"console page id {self.id!r} is not a lower-case slug")
        if not self.title_zh or not self.title_en:
            raise ValidationFailed(f"console page {self.id!r} needs both a zh and an en title")
        if not _MODULE.match(self.module) or ".." in self.module.split("/"):
            raise ValidationFailed(
                f"console page {self.id!r}: module {self.module!r} must be a relative .js path"
            )


BatchHandler = Callable[[CommittedBatch], Coroutine[Any, Any, None]]
EventsHandler = Callable[[CommittedEvents], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """An app's handlers for committed data; either may be None."""

    on_batch: BatchHandler | None = None
    on_events: EventsHandler | None = None
