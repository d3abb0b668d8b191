"""Request and response shapes of the JSON API.

Ids are the objects' opaque public ids (UUIDs). Money travels as decimal strings quantized to
the currency's minor units ("1250.00", "1250" for JPY), never as JSON numbers, so no client
ever rounds through a float. Dates are ISO 8601.
"""

import datetime as dt
from typing import Annotated, Any, Literal
from uuid import UUID

from ninja import Field, Schema
from pydantic import AfterValidator, AwareDatetime
from pydantic_core import PydanticCustomError

from plixo.core.money import quantize
from plixo.core.text import DATE_MAX, DATE_MIN, date_problem, text_problem
from plixo.ledger.models import PaymentMethod
from plixo.ledger.selectors import customer_open_balances


def _text_checked(single_line: bool):
    def check(value: str) -> str:
        problem = text_problem(value, single_line=single_line)
        if problem:
            raise PydanticCustomError("invalid_text", "The text {problem}.", {"problem": problem})
        return value

    return check


# A one-line text (names, subjects, addresses) and a multi-line one (bodies). The document
# says what `text_problem` refuses as a pattern (only documented: the check itself gives the
# clearer message), so clients and schema-driven tools know before they send.
LINE_PATTERN = r"^[^\u0000-\u0008\u000a-\u001f\u007f\u0085\u2028\u2029]*$"
TEXT_PATTERN = r"^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$"
Line = Annotated[
    str,
    AfterValidator(_text_checked(single_line=True)),
    Field(json_schema_extra={"pattern": LINE_PATTERN}),
]
Text = Annotated[
    str,
    AfterValidator(_text_checked(single_line=False)),
    Field(json_schema_extra={"pattern": TEXT_PATTERN}),
]


def _date_checked(value):
    problem = date_problem(value)
    if problem:
        raise PydanticCustomError("date_range", "The date {problem}.", {"problem": problem})
    return value


def _moment_checked(value: dt.datetime) -> dt.datetime:
    _date_checked(value)
    # ISO 8601 allows offsets up to ±23:59 and PostgreSQL stores ±15:59 at most (it answers
    # "time zone displacement out of range"): the instant goes on in UTC, which is what every
    # database keeps anyway.
    return value.astimezone(dt.UTC)


# Every date the API accepts is within DATE_MIN..DATE_MAX, and every time carries its zone
# (a time without one is refused, never guessed).
Day = Annotated[
    dt.date,
    AfterValidator(_date_checked),
    Field(description=f"ISO 8601 date, {DATE_MIN:%Y-%m-%d} to {DATE_MAX:%Y-%m-%d}."),
]
Moment = Annotated[
    AwareDatetime,
    AfterValidator(_moment_checked),
    Field(description="ISO 8601 date and time with its offset, e.g. 2030-01-01T09:00:00Z."),
]

MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

MoneyIn = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$",
        description='A decimal string such as "1250.00"; at most the currency\'s decimals.',
        examples=["1250.00"],
    ),
]
MoneyOut = Annotated[str, Field(description="Decimal string in the currency's minor units.")]
CurrencyCode = Annotated[
    str, Field(min_length=3, max_length=3, description="ISO 4217 code", examples=["USD"])
]

# Spelled out for the OpenAPI document; a test keeps these in step with the ledger's tables
# (`InvoiceStatus`, `AGING_BUCKETS`, `INVOICE_SORTS`).
InvoiceStatusFilter = Literal["open", "partially_paid", "paid", "disputed", "void", "written_off"]
OverdueFilter = Literal["any", "current", "1_30", "31_60", "61_90", "90_plus"]
InvoiceSort = Literal[
    "due",
    "-due",
    "number",
    "-number",
    "amount",
    "-amount",
    "balance",
    "-balance",
    "customer",
    "-customer",
    "issued",
    "-issued",
]


def money(amount, currency: str) -> str:
    return format(quantize(amount, currency), "f")


class ErrorOut(Schema):
    detail: Any = Field(description="A message, or for 422 a list of {loc, msg, type}.")
    request_id: str | None = Field(description="Same as the X-Request-ID response header.")


# Far beyond any list, and within every database's integer range (an offset of 10^30 would
# overflow the query instead of finding nothing).
MAX_OFFSET = 1_000_000_000


class PageParams(Schema):
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    cursor: str | None = Field(
        None,
        max_length=1000,
        description="`next_cursor` or `previous_cursor` of a page of the same list and sort "
        "(lists that page by cursor: customers, invoices, payments, contacts, messages).",
    )


class CursorPage(Schema):
    count: int | None = Field(
        description="Exact up to 10,000; see count_is_exact. Null when a broad search (one "
        "that matches all through the ledger) is not counted."
    )
    count_is_exact: bool = Field(description="False when there are more than `count`.")
    limit: int
    offset: int
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    previous_cursor: str | None = Field(description="Pass as `cursor` for the page before.")


class CustomerRef(Schema):
    id: UUID
    name: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


# --- customers -------------------------------------------------------------------------------


class CustomerOut(Schema):
    id: UUID
    external_id: str
    name: str
    segment: str
    owner_email: str | None
    collector_email: str | None = Field(
        description="The A/R operator who works this customer (their queue)."
    )
    time_zone: str
    country: str
    currency: str
    risk_score: int
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_owner_email(obj) -> str | None:
        return obj.owner.email if obj.owner_id else None

    @staticmethod
    def resolve_collector_email(obj) -> str | None:
        return obj.collector.email if obj.collector_id else None


class CustomerListItem(CustomerOut):
    open_invoices: int
    open_balances: list["OpenBalance"] = Field(description="Open balance per currency.")

    @staticmethod
    def resolve_open_invoices(obj) -> int:
        return sum(row["count"] for row in obj.open_rows)

    @staticmethod
    def resolve_open_balances(obj) -> list[dict]:
        return obj.open_rows


CustomerSort = Literal["name", "-name", "balance", "-balance"]


class CustomerFilters(Schema):
    search: Line | None = Field(None, max_length=200)
    currency: CurrencyCode | None = Field(
        None, description="Only customers with something open in this currency."
    )
    sort: CustomerSort = Field(
        "name",
        description="`balance`/`-balance` sort by the open balance within `currency` (the "
        "organization's base currency when omitted).",
    )


class OpenBalance(Schema):
    currency: str
    balance: MoneyOut
    count: int

    @staticmethod
    def resolve_balance(obj) -> str:
        return money(obj["balance"] or 0, obj["currency"])


class CustomerDetail(CustomerOut):
    open_balances: list[OpenBalance] = Field(description="Open balance per currency.")

    @staticmethod
    def resolve_open_balances(obj) -> list[dict]:
        return customer_open_balances(customer=obj)


class CustomerPage(CursorPage):
    results: list[CustomerListItem]


class CustomerCreate(Schema):
    external_id: Line = Field(min_length=1, max_length=100)
    name: Line = Field(min_length=1, max_length=255)
    segment: Line = Field("", max_length=60)
    owner_email: Line | None = Field(None, description="Email of a member of the organization.")
    collector_email: Line | None = Field(
        None, description="Email of the A/R operator or manager who works this customer."
    )
    time_zone: Line | None = Field(None, description="IANA zone; the organization's if omitted.")
    country: Line = Field("", max_length=2, description="ISO 3166 alpha-2")
    currency: CurrencyCode | None = Field(None, description="The organization's if omitted.")
    risk_score: int = Field(0, ge=0, le=100)


# Fields of an update are optional; a field that is sent is set, `null` only where it means
# "none" (the owner, a suppression end).
class CustomerUpdate(Schema):
    external_id: Line = Field(None, min_length=1, max_length=100)
    name: Line = Field(None, min_length=1, max_length=255)
    segment: Line = Field(None, max_length=60)
    owner_email: Line | None = None
    collector_email: Line | None = None
    time_zone: Line = Field(None, max_length=64)
    country: Line = Field(None, max_length=2)
    currency: CurrencyCode = None
    risk_score: int = Field(None, ge=0, le=100)


# --- contacts --------------------------------------------------------------------------------


class ContactOut(Schema):
    id: UUID
    customer: CustomerRef
    name: str
    email: str
    role: str
    is_primary: bool
    is_suppressed: bool
    suppressed_until: dt.datetime | None
    suppression_reason: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class ContactPage(CursorPage):
    results: list[ContactOut]


class ContactCreate(Schema):
    customer: UUID
    email: Line = Field(min_length=3, max_length=254)
    name: Line = Field("", max_length=200)
    role: Line = Field("", max_length=60)
    is_primary: bool = False
    suppressed_until: Moment | None = None
    suppression_reason: Line = Field("", max_length=200)


class ContactUpdate(Schema):
    email: Line = Field(None, min_length=3, max_length=254)
    name: Line = Field(None, max_length=200)
    role: Line = Field(None, max_length=60)
    is_primary: bool = None
    suppressed_until: Moment | None = None
    suppression_reason: Line = Field(None, max_length=200)


# --- invoices --------------------------------------------------------------------------------


class InvoiceOut(Schema):
    id: UUID
    number: str
    customer: CustomerRef
    issue_date: dt.date
    due_date: dt.date
    currency: str
    amount: MoneyOut
    balance: MoneyOut
    status: str
    po_number: str
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return money(obj.amount, obj.currency)

    @staticmethod
    def resolve_balance(obj) -> str:
        return money(obj.balance, obj.currency)


class InvoicePage(CursorPage):
    results: list[InvoiceOut]


class InvoiceFilters(Schema):
    status: InvoiceStatusFilter | None = Field(
        None, description='A status, or "open" for every open status.'
    )
    customer: UUID | None = Field(None, description="A customer's id.")
    overdue: OverdueFilter | None = Field(
        None, description='An aging bucket of open invoices, or "any" for every overdue one.'
    )
    search: Line | None = Field(
        None,
        min_length=3,
        max_length=200,
        description="Number, PO number, description, customer name or external id contains "
        "this (at least 3 characters).",
    )
    currency: CurrencyCode | None = Field(
        None,
        description="Only invoices in this currency. Amount and balance sorts keep to one "
        "currency: this one, or the organization's base currency when omitted.",
    )
    sort: InvoiceSort = "due"


class InvoiceCreate(Schema):
    customer: UUID
    number: Line = Field(min_length=1, max_length=100)
    issue_date: Day
    due_date: Day
    currency: CurrencyCode | None = Field(None, description="The customer's if omitted.")
    amount: MoneyIn
    po_number: Line = Field("", max_length=100)
    description: Text = Field("", max_length=5000)


class InvoiceUpdate(Schema):
    issue_date: Day = None
    due_date: Day = None
    currency: CurrencyCode = None
    amount: MoneyIn = None
    po_number: Line = Field(None, max_length=100)
    description: Text = Field(None, max_length=5000)


class TimelineEventOut(Schema):
    id: UUID
    kind: str
    label: str
    at: dt.datetime
    actor: str
    data: dict[str, Any]

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_label(obj) -> str:
        return obj.kind_label

    @staticmethod
    def resolve_actor(obj) -> str:
        return obj.actor_label


class TimelinePage(Schema):
    count: int
    limit: int
    offset: int
    results: list[TimelineEventOut]


# --- payments --------------------------------------------------------------------------------


class AllocationOut(Schema):
    invoice: UUID
    invoice_number: str
    amount: MoneyOut

    @staticmethod
    def resolve_invoice(obj) -> UUID:
        return obj.invoice.public_id

    @staticmethod
    def resolve_invoice_number(obj) -> str:
        return obj.invoice.number

    @staticmethod
    def resolve_amount(obj) -> str:
        return money(obj.amount, obj.invoice.currency)


class PaymentOut(Schema):
    id: UUID
    reference: str
    customer: CustomerRef | None
    amount: MoneyOut
    allocated_amount: MoneyOut
    refunded_amount: MoneyOut
    unapplied_amount: MoneyOut
    currency: str
    received_at: dt.datetime
    method: str
    source: str
    memo: str
    allocations: list[AllocationOut]
    created_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return money(obj.amount, obj.currency)

    @staticmethod
    def resolve_allocated_amount(obj) -> str:
        return money(obj.allocated_amount, obj.currency)

    @staticmethod
    def resolve_refunded_amount(obj) -> str:
        return money(obj.refunded_amount, obj.currency)

    @staticmethod
    def resolve_unapplied_amount(obj) -> str:
        return money(obj.unapplied_amount, obj.currency)


class PaymentPage(CursorPage):
    results: list[PaymentOut]


class AllocationIn(Schema):
    invoice: UUID
    amount: MoneyIn


class PaymentCreate(Schema):
    reference: Line = Field(min_length=1, max_length=120)
    amount: MoneyIn
    currency: CurrencyCode
    received_at: Moment | None = Field(None, description="Now if omitted.")
    method: PaymentMethod = PaymentMethod.OTHER
    customer: UUID | None = None
    memo: Text = Field("", max_length=500)
    allocations: list[AllocationIn] = Field(default_factory=list, max_length=500)
