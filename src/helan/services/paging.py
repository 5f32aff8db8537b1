"""One page of a collection: what a caller asks for and what it gets back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa

from helan.storage.meta import MetaStore
from helan.storage.meta.query import Column, order_by, page

T = TypeVar("T")


class PageRequest(Protocol):
    """``limit`` rows after ``offset``, in ``sort`` order (``field`` or ``-field``, comma
    separated; None: the collection's default). The API's ``Paging`` has this shape."""

    @property
    def limit(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def sort(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Window:
    """A :class:`PageRequest` for callers without one of their own (the admin CLI, apps)."""

    limit: int = 100
    offset: int = 0
    sort: str | None = None


@dataclass(frozen=True, slots=True)
class Listing(Generic[T]):
    rows: list[T]
    total: int


def listing(
    meta: MetaStore,
    stmt: sa.Select[T],
    paging: PageRequest,
    *,
    sort: Mapping[str, Column],
    default: str,
    tiebreak: Sequence[sa.ColumnElement[Any] | Column],
) -> Listing[T]:
    """Run ``stmt`` for one page, sorted by ``paging.sort`` from the ``sort`` allow-list."""
    with meta.session() as s:
        rows, total = page(
            s,
            stmt,
            order=order_by(paging.sort, sort, default, tiebreak),
            limit=paging.limit,
            offset=paging.offset,
        )
    return Listing(rows=rows, total=total)
