"""Request and response models of the orders and opportunities API. Unknown fields are a 422;
amounts travel as decimal strings ("1299.00") so no float ever touches money."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)

from huiliu.core.errors import ValidationFailed
from huiliu.orders.domain import (
    DEFAULT_CURRENCY,
    MAX_NUMBER_LENGTH,
    LinkSource,
    OpportunityStage,
    OrderStatus,
    check_amount,
    normalize_currency,
    normalize_order_number,
    normalize_platform,
)

MAX_ITEMS = 500
MAX_ATTRIBUTES = 100

# Money out: a string with two decimals, never a JSON float.
MoneyOut = Annotated[Decimal, PlainSerializer(lambda value: f"{value:.2f}", return_type=str)]


def _checked(check: Any, value: Any) -> Any:
    """Run a domain check inside a validator, turning its error into a field error."""
    try:
        return check(value)
    except ValidationFailed as exc:
        raise ValueError(exc.detail) from None


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OrderItem(StrictModel):
    """One line of an order."""

    name: str = Field(min_length=1, max_length=200)
    sku: str | None = Field(default=None, max_length=64)
    quantity: Decimal = Field(default=Decimal(1), gt=0, le=1_000_000, max_digits=12, decimal_places=3)
    unit_price: Decimal | None = Field(default=None, description="yuan, at most two decimals")
    amount: Decimal | None = Field(default=None, description="line total in yuan")

    @field_validator("unit_price", "amount")
    @classmethod
    def _money(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _checked(check_amount, value)

    def stored(self) -> dict[str, Any]:
        """The JSON kept in ``orders.items``: decimals as strings."""
        return {
            name: (str(value) if isinstance(value, Decimal) else value)
            for name, value in self.model_dump().items()
            if value is not None
        }


class _OrderFields(StrictModel):
    @field_validator("number", check_fields=False)
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_order_number, value)

    @field_validator("platform", check_fields=False)
    @classmethod
    def _platform(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_platform, value)

    @field_validator("currency", check_fields=False)
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_currency, value)

    @field_validator("amount", check_fields=False)
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _checked(check_amount, value)


class OrderCreate(_OrderFields):
    number: str = Field(min_length=1, max_length=MAX_NUMBER_LENGTH, description="unique in the tenant")
    customer_id: uuid.UUID | None = None
    platform: str | None = Field(default=None, max_length=32, description="taobao, jd, pinduoduo, erp …")
    status: OrderStatus | None = None
    amount: Decimal | None = Field(default=None, description='yuan, e.g. "1299.00"')
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    items: list[OrderItem] = Field(default_factory=list, max_length=MAX_ITEMS)
    placed_at: AwareDatetime | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=MAX_ATTRIBUTES)


class OrderUpdate(_OrderFields):
    """Only the fields sent change; ``customer_id``, ``platform``, ``status``, ``amount`` and
    ``placed_at`` may be set to null. ``attributes`` is merged key by key; a key sent as null is removed."""

    number: str | None = Field(default=None, min_length=1, max_length=MAX_NUMBER_LENGTH)
    customer_id: uuid.UUID | None = None
    platform: str | None = Field(default=None, max_length=32)
    status: OrderStatus | None = None
    amount: Decimal | None = None
    currency: str | None = Field(default=None, max_length=3)
    items: list[OrderItem] | None = Field(default=None, max_length=MAX_ITEMS)
    placed_at: AwareDatetime | None = None
    attributes: dict[str, Any] | None = Field(default=None, max_length=MAX_ATTRIBUTES)

    @model_validator(mode="after")
    def _required_not_null(self) -> OrderUpdate:
        for name in ("number", "currency", "items", "attributes"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class OrderOut(BaseModel):
    id: uuid.UUID
    number: str
    customer_id: uuid.UUID | None
    platform: str | None
    status: str | None
    amount: MoneyOut | None
    currency: str
    items: list[dict[str, Any]]
    placed_at: datetime | None
    attributes: dict[str, Any]
    origin: str = Field(description="api, lookup (fetched from the ERP) or import")
    created_at: datetime
    updated_at: datetime


class OrderPage(BaseModel):
    items: list[OrderOut]
    next_cursor: str | None


class OpportunityCreate(StrictModel):
    customer_id: uuid.UUID
    title: str = Field(min_length=1, max_length=200)
    stage: OpportunityStage = OpportunityStage.QUALIFICATION
    amount: Decimal | None = Field(default=None, description='expected value in yuan, e.g. "50000.00"')
    currency: str = Field(default=DEFAULT_CURRENCY, max_length=3)
    expected_close_at: AwareDatetime | None = None
    owner_id: uuid.UUID | None = Field(default=None, description="the user who owns it")
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=MAX_ATTRIBUTES)

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _checked(check_amount, value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        return str(_checked(normalize_currency, value))


class OpportunityUpdate(StrictModel):
    """Only the fields sent change; ``amount``, ``expected_close_at`` and ``owner_id`` may be null.
    ``attributes`` is merged key by key; a key sent as null is removed."""

    customer_id: uuid.UUID | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    stage: OpportunityStage | None = None
    amount: Decimal | None = None
    currency: str | None = Field(default=None, max_length=3)
    expected_close_at: AwareDatetime | None = None
    owner_id: uuid.UUID | None = None
    attributes: dict[str, Any] | None = Field(default=None, max_length=MAX_ATTRIBUTES)

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal | None) -> Decimal | None:
        return None if value is None else _checked(check_amount, value)

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_currency, value)

    @model_validator(mode="after")
    def _required_not_null(self) -> OpportunityUpdate:
        for name in ("customer_id", "title", "stage", "currency", "attributes"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class OpportunityOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    title: str
    stage: str
    amount: MoneyOut | None
    currency: str
    expected_close_at: datetime | None
    owner_id: uuid.UUID | None
    attributes: dict[str, Any]
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OpportunityPage(BaseModel):
    items: list[OpportunityOut]
    next_cursor: str | None


class TicketOrderLink(StrictModel):
    """Link an order to a ticket: by ``order_id``, or by ``number`` (looked up locally, then in the
    ERP when one is configured)."""

    order_id: uuid.UUID | None = None
    number: str | None = Field(default=None, min_length=1, max_length=MAX_NUMBER_LENGTH)

    @field_validator("number")
    @classmethod
    def _number(cls, value: str | None) -> str | None:
        return None if value is None else _checked(normalize_order_number, value)

    @model_validator(mode="after")
    def _exactly_one(self) -> TicketOrderLink:
        if (self.order_id is None) == (self.number is None):
            raise ValueError("give exactly one of order_id and number")
        return self


class LinkedOrderOut(BaseModel):
    order: OrderOut
    source: LinkSource = Field(description="extracted (intake found the number) or manual")
    linked_at: datetime
    linked_by: str


class LinkedOrderList(BaseModel):
    items: list[LinkedOrderOut]
