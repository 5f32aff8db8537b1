"""Listing helpers shared by every collection: sort allow-lists, paging, safe text search."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute, Session

from helan.core.errors import ValidationFailed

T = TypeVar("T")
Column = InstrumentedAttribute[Any]


def order_by(
    sort: str | None,
    allowed: Mapping[str, Column],
    default: str,
    tiebreak: Sequence[sa.ColumnElement[Any] | Column],
) -> list[sa.ColumnElement[Any] | Column]:
    """``sort`` is ``field`` or ``-field`` (descending), comma-separated, from ``allowed`` only.
    The primary key always ends the order so that pages never overlap or skip rows."""
    clauses: list[sa.ColumnElement[Any] | Column] = []
    for raw in (sort or default).split(","):
        name = raw.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-").removeprefix("+")
        column = allowed.get(name)
        if column is None:
            raise ValidationFailed(
                f"cannot sort by {name!r}; allowed: {', '.join(sorted(allowed))} "
                "(prefix '-' for descending)",
                code="invalid_sort",
            )
        clauses.append(column.desc() if descending else column.asc())
    return [*clauses, *tiebreak]


def page(
    session: Session,
    stmt: sa.Select[T],
    *,
    order: Sequence[sa.ColumnElement[Any] | Column],
    limit: int,
    offset: int,
) -> tuple[list[T], int]:
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    items = list(session.scalars(stmt.order_by(*order).limit(limit).offset(offset)))
    return items, int(total or 0)


def contains(column: Column, text: str) -> sa.ColumnElement[bool]:
    """Case-insensitive substring match; ``%`` and ``_`` in the text match themselves."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.ilike(f"%{escaped}%", escape="\\")
