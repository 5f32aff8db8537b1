"""Products: the produced units, batches and parts that traceability follows, each with an
identifier under the tenant's prefix (see docs/ident.md, Platform link)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AliasChoices, AwareDatetime, Field, model_validator

from helan.api.schemas.common import Identifier, Input, Name, ObjectId, Output, ShortText
from helan.api.schemas.things import Attributes, AttributeValue

ProductKind = Literal["unit", "batch", "part"]
MAX_BULK = 10_000
# Stored and answered in UTC whatever offset was sent, so the response and the identifier
# record (which is read back from the database) say the same.
UtcTime = Annotated[AwareDatetime, AfterValidator(lambda t: t.astimezone(UTC))]

BATCH_HELP = "Id of the batch (a product of kind 'batch' of this tenant) it belongs to"
MADE_BY_HELP = "Id of the device of this tenant (machine, line) that made it"
IDENTIFIER_HELP = (
    "Handle under the tenant's prefix; left out: '<prefix>/<id>' when the tenant has a prefix; "
    "null: none"
)


class _ProductFields(Input):
    model: ShortText | None = None
    batch: ObjectId | None = Field(default=None, description=BATCH_HELP)
    made_by: ObjectId | None = Field(default=None, description=MADE_BY_HELP)
    produced_at: UtcTime | None = Field(default=None, description="With a UTC offset")
    identifier: Identifier | None = Field(default=None, description=IDENTIFIER_HELP)
    attributes: Attributes | None = None


class ProductCreate(_ProductFields):
    id: ObjectId = Field(description="Serial number (same syntax as device ids)")
    name: Name
    kind: ProductKind = "unit"


class ProductPatch(_ProductFields):
    name: Name | None = None
    kind: ProductKind | None = None

    @model_validator(mode="after")
    def _required_stay(self) -> ProductPatch:
        for key in ("name", "kind"):
            if key in self.model_fields_set and getattr(self, key) is None:
                raise ValueError(f"{key} may be changed but not cleared (null)")
        return self


class ProductOut(Output):
    id: str
    name: str
    model: str | None
    kind: ProductKind
    batch: str | None = Field(validation_alias=AliasChoices("batch_id", "batch"))
    made_by: str | None = Field(validation_alias=AliasChoices("made_by_id", "made_by"))
    produced_at: datetime | None
    identifier: str | None
    attributes: dict[str, AttributeValue]
    created_at: datetime
    updated_at: datetime


class ProductsCreated(Output):
    created: int
    items: list[ProductOut]
