"""What apps hand back from their hooks, as frozen data the manager checks before using."""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
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


_VERSION = re.compile(r"^\d+\.\d+\.\d+([.+-][0-9A-Za-z.+-]+)?$")
_SCOPE = re.compile(r"^[a-z][a-z0-9_]{0,63}:(read|write)$")


@dataclass(frozen=True, slots=True, kw_only=True)
class AppManifest:
    """What the catalogue shows of an app and checks a tenant's configuration against:
    names in both languages, a version, the API scopes the app needs, and a JSON Schema
    (draft 2020-12) of its per-tenant configuration."""

    name_zh: str
    name_en: str
    version: str
    description_zh: str = ""
    description_en: str = ""
    scopes: tuple[str, ...] = ()
    config_schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})

    def __post_init__(self) -> None:
        from jsonschema import Draft202012Validator, SchemaError

        if not self.name_zh or not self.name_en:
            raise ValidationFailed("an app manifest needs both a zh and an en name")
        if not _VERSION.match(self.version):
            raise ValidationFailed(f"manifest version {self.version!r} is not MAJOR.MINOR.PATCH")
        bad = [s for s in self.scopes if not _SCOPE.match(s)]
        if bad:
            raise ValidationFailed(f"manifest scopes {bad} are not 'family:read|write'")
        try:
            Draft202012Validator.check_schema(self.config_schema)
        except SchemaError as exc:
            raise ValidationFailed(f"manifest config_schema: {exc.message}") from exc
        if self.config_schema.get("type") != "object":
            raise ValidationFailed("manifest config_schema must describe an object")


BatchHandler = Callable[[CommittedBatch], Coroutine[Any, Any, None]]
EventsHandler = Callable[[CommittedEvents], Coroutine[Any, Any, None]]


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscription:
    """An app's handlers for committed data; either may be None."""

    on_batch: BatchHandler | None = None
    on_events: EventsHandler | None = None
