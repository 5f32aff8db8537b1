"""Shapes shared by every resource: pages, and checks that reuse the domain's validators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from helan.core import ids
from helan.core.errors import ValidationFailed

T = TypeVar("T")


class Input(BaseModel):
    # NaN, Infinity and 1e400 (which JSON parsers read as inf) are refused: stored as JSON they
    # would come back as null, and a bound that silently disappears is worse than a 422.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


def domain_check(fn: Callable[[str], str]) -> AfterValidator:
    """Run a domain validator (which raises ValidationFailed) as a pydantic check."""

    def run(value: str) -> str:
        try:
            return fn(value)
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None

    return AfterValidator(run)


def _identifier(value: str) -> str:
    return ids.check("industrial identifier", ids.IDENTIFIER, value)


TenantId = Annotated[str, domain_check(ids.tenant_id)]
ObjectId = Annotated[str, domain_check(ids.device_id)]
MetricName = Annotated[str, domain_check(ids.metric_name)]
Identifier = Annotated[str, domain_check(_identifier)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
ShortText = Annotated[str, StringConstraints(max_length=200)]
LongText = Annotated[str, StringConstraints(max_length=2000)]
RetentionDays = Annotated[int, Field(ge=1, le=36_500)]
