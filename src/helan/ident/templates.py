"""Identifier data templates (标识数据模板): the values a record of a category must carry.

A template belongs to an industry or product category and lists items: a value type (the
item's ``name``), whether it is required or may repeat, and constraints on its data (kind,
length in characters, a regular expression, a closed set of choices). A record opts in by
carrying one value of type ``HELAN_TEMPLATE`` whose data is the template's name; every write of
such a record (REST, bulk) is checked against the template as it is defined on the node at that
moment, and a violation stores nothing. Templates live in the node's own store, under keys no
handle can have (they start with a NUL byte), so they survive restarts on every backend.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from helan.ident.codes import ResponseCode
from helan.ident.errors import HandleError
from helan.ident.model import Handle, HandleValue
from helan.ident.store.base import HandleStore

TEMPLATE_TYPE = "HELAN_TEMPLATE"
_KEY_PREFIX = b"\x00template\x00"
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
_NAME_RE = re.compile(_NAME + r"\Z")


class ItemKind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    URL = "url"
    DATE = "date"  # YYYY-MM-DD
    DATETIME = "datetime"  # ISO 8601
    ENUM = "enum"  # one of ``choices``


class TemplateItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(min_length=1, max_length=128)]
    kind: ItemKind = ItemKind.STRING
    required: bool = False
    multiple: bool = False
    min_length: Annotated[int, Field(ge=0)] | None = None
    max_length: Annotated[int, Field(ge=1)] | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    description: str = ""

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"pattern does not compile: {exc}") from None
        return value


class Template(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[str, Field(pattern=_NAME + "$")]
    category: str = ""  # e.g. a GB/T 4754 industry code or a product category
    description: str = ""
    closed: bool = False  # True: no value types beyond the items (HS_* excepted)
    items: Annotated[tuple[TemplateItem, ...], Field(min_length=1)]

    @field_validator("items")
    @classmethod
    def _unique(cls, items: tuple[TemplateItem, ...]) -> tuple[TemplateItem, ...]:
        names = [i.name for i in items]
        if dupes := sorted({n for n in names if names.count(n) > 1}):
            raise ValueError(f"items named more than once: {', '.join(dupes)}")
        for item in items:
            if item.kind is ItemKind.ENUM and not item.choices:
                raise ValueError(f"item {item.name}: kind 'enum' needs choices")
        return items


def parse_template(name: str, payload: Any) -> Template:
    """A template from its JSON form; the name in the URL wins over one in the body."""
    if not isinstance(payload, dict):
        raise HandleError(ResponseCode.INVALID_VALUE, "a template must be a JSON object")
    try:
        return Template.model_validate({**payload, "name": name})
    except ValidationError as exc:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'template'}: {e['msg']}" for e in exc.errors()
        )
        raise HandleError(ResponseCode.INVALID_VALUE, f"invalid template: {details}") from None


def _kind_problem(kind: ItemKind, text: str, item: TemplateItem) -> str | None:
    try:
        if kind is ItemKind.INTEGER:
            int(text, 10)
        elif kind is ItemKind.NUMBER:
            if not Decimal(text).is_finite():
                return f"{text!r} is not a finite number"
        elif kind is ItemKind.BOOLEAN:
            if text not in ("true", "false"):
                return f"{text!r} is not 'true' or 'false'"
        elif kind is ItemKind.URL:
            parts = urlsplit(text)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return f"{text!r} is not an http(s) URL with a host"
        elif kind is ItemKind.DATE:
            date.fromisoformat(text)
            if len(text) != 10:
                return f"{text!r} is not a date (YYYY-MM-DD)"
        elif kind is ItemKind.DATETIME:
            datetime.fromisoformat(text)
        elif kind is ItemKind.ENUM and text not in item.choices:
            return f"{text!r} is not one of {', '.join(item.choices)}"
    except (ValueError, InvalidOperation):
        return f"{text!r} is not {'an' if kind is ItemKind.INTEGER else 'a'} {kind.value}"
    return None


def _data_problem(item: TemplateItem, data: bytes) -> str | None:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "data is not UTF-8 text"
    if item.min_length is not None and len(text) < item.min_length:
        return f"{len(text)} characters; at least {item.min_length} required"
    if item.max_length is not None and len(text) > item.max_length:
        return f"{len(text)} characters; at most {item.max_length} allowed"
    if (problem := _kind_problem(item.kind, text, item)) is not None:
        return problem
    if item.pattern is not None and re.fullmatch(item.pattern, text) is None:
        return f"{text!r} does not match {item.pattern!r}"
    return None


def violations(template: Template, values: Sequence[HandleValue]) -> list[tuple[str, str]]:
    """Every (item, problem) of ``values`` against ``template``; empty when they conform."""
    by_type: dict[str, list[HandleValue]] = {}
    for value in values:
        by_type.setdefault(value.type, []).append(value)
    out: list[tuple[str, str]] = []
    for item in template.items:
        found = by_type.get(item.name, [])
        if not found:
            if item.required:
                out.append((item.name, "required item is missing"))
            continue
        if len(found) > 1 and not item.multiple:
            out.append((item.name, f"appears {len(found)} times; at most once allowed"))
        for value in found:
            if (problem := _data_problem(item, value.data)) is not None:
                out.append((item.name, f"value {value.index}: {problem}"))
    if template.closed:
        known = {i.name for i in template.items} | {TEMPLATE_TYPE}
        for vtype in by_type:
            if vtype not in known and not vtype.startswith("HS_"):
                out.append((vtype, "is not an item of this closed template"))
    return out


class TemplateViolation(HandleError):
    """INVALID_VALUE with one entry per broken item, so a client can point at each field."""

    def __init__(self, template: str, problems: list[tuple[str, str]]) -> None:
        detail = "; ".join(f"{item}: {problem}" for item, problem in problems)
        super().__init__(ResponseCode.INVALID_VALUE, f"template {template!r}: {detail}")
        self.template = template
        self.problems = problems


def _key(name: str) -> bytes:
    return _KEY_PREFIX + name.upper().encode("ascii")


class TemplateBook:
    """The templates defined on one node, kept in its store and memoised per process."""

    def __init__(self, store: HandleStore) -> None:
        self.store = store
        self._cache: dict[str, Template | None] = {}

    def get(self, name: str) -> Template | None:
        if not _NAME_RE.match(name):
            return None
        upper = name.upper()
        if upper not in self._cache:
            raw = self.store.get(_key(name))
            self._cache[upper] = None if raw is None else Template.model_validate_json(raw)
        return self._cache[upper]

    def put(self, template: Template) -> bool:
        """Store ``template``; True when it is new."""
        existed = self.get(template.name) is not None
        self.store.put(_key(template.name), orjson.dumps(template.model_dump(mode="json")))
        self._cache[template.name.upper()] = template
        return not existed

    def delete(self, name: str) -> bool:
        self._cache.pop(name.upper(), None)
        return _NAME_RE.match(name) is not None and self.store.delete(_key(name))

    def names(self) -> list[str]:
        out = []
        for key in self.store.scan(_KEY_PREFIX, 0, 10_000):
            raw = self.store.get(key)
            if raw is not None:
                out.append(str(orjson.loads(raw)["name"]))
        return out

    def __call__(self, handle: Handle, values: Sequence[HandleValue]) -> None:
        """Registry validator: check a record that names a template against it."""
        named = [v for v in values if v.type == TEMPLATE_TYPE]
        if not named:
            return
        if len(named) > 1:
            raise HandleError(
                ResponseCode.INVALID_VALUE, f"{handle}: more than one {TEMPLATE_TYPE} value"
            )
        name = named[0].data.decode("utf-8", "replace")
        template = self.get(name)
        if template is None:
            raise HandleError(
                ResponseCode.INVALID_VALUE,
                f"{handle}: template {name!r} is not defined on this node",
            )
        if problems := violations(template, values):
            raise TemplateViolation(template.name, problems)
