"""Request and response shapes of the comms part of the API: cadences, messages (drafts, the
outbox and what was sent), contact suppression and the sending settings.

Every text field refuses control characters (one-line fields refuse line breaks too) and has a
bounded length, so bad input is a 422 before anything is written. Business rules (a duplicate
cadence name, two steps on one day, a reactivation date in the past) are the services' and
answer 400.
"""

import datetime as dt
from typing import Annotated, Literal
from uuid import UUID

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

from plixo.api.schemas import CursorPage, Line, Moment, Text
from plixo.comms.models import BODY_MAX, STEP_OFFSET_MAX, STEP_OFFSET_MIN, SUBJECT_MAX, Message
from plixo.comms.services.cadences import MAX_STEPS

# Spelled out for the OpenAPI document; tests keep these in step with the comms tables
# (`Tone`, `Message.Status`, `SUPPRESSION_KINDS`).
ToneChoice = Literal["friendly", "firm", "final"]
MessageStatusFilter = Literal[
    "draft", "queued", "held", "sending", "sent", "failed", "unknown", "cancelled"
]
SuppressionKind = Literal["vacation", "relationship", "bounced", "complained", "other"]
SendingMode = Literal["live", "test"]

CAP_MAX = 100_000


def _email_or_blank(value: str) -> str:
    value = value.strip()
    if value:
        try:
            validate_email(value)
        except DjangoValidationError:
            raise PydanticCustomError(
                "invalid_email", "{value!r} is not an email address.", {"value": value}
            ) from None
    return value


EmailOrBlank = Annotated[Line, AfterValidator(_email_or_blank)]
ClockTime = Annotated[
    str,
    Field(
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description='A time of day, "HH:MM" on a 24-hour clock.',
        examples=["08:00"],
    ),
]
DailyCap = Annotated[int, Field(ge=1, le=CAP_MAX)]


# --- cadences --------------------------------------------------------------------------------


class CadenceStepIn(Schema):
    offset_days: int = Field(
        ge=STEP_OFFSET_MIN,
        le=STEP_OFFSET_MAX,
        description="Days from the due date: -3 is three days before, 7 a week after.",
    )
    tone: ToneChoice = "friendly"
    subject: Line = Field(
        min_length=1, max_length=SUBJECT_MAX, description="A template with merge fields."
    )
    body: Text = Field(
        min_length=1, max_length=BODY_MAX, description="A template with merge fields."
    )


class CadenceStepOut(Schema):
    id: UUID
    offset_days: int
    tone: str
    subject: str
    body: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class CadenceOut(Schema):
    id: UUID
    name: str
    description: str
    requires_approval: bool = Field(
        description="Drafts wait for an operator's approval; false: they are sent automatically."
    )
    is_default: bool = Field(description="Chases every invoice no segment rule assigns.")
    is_active: bool
    steps: list[CadenceStepOut] = Field(description="The active steps, by day offset.")
    created_at: dt.datetime
    updated_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_steps(obj) -> list:
        if hasattr(obj, "active_steps"):  # prefetched by the list
            return obj.active_steps
        return list(obj.steps.filter(is_active=True).order_by("offset_days", "id"))


class CadencePage(Schema):
    count: int
    limit: int
    offset: int
    results: list[CadenceOut]


class CadenceCreate(Schema):
    name: Line = Field(min_length=1, max_length=120)
    description: Line = Field("", max_length=500)
    requires_approval: bool = True
    is_default: bool = Field(
        False, description="Make it the default; the first cadence always becomes it."
    )
    steps: list[CadenceStepIn] = Field(min_length=1, max_length=MAX_STEPS)


class CadenceUpdate(Schema):
    name: Line = Field(None, min_length=1, max_length=120)
    description: Line = Field(None, max_length=500)
    requires_approval: bool = None
    is_default: bool = Field(
        None, description="true makes it the default; make another the default instead of false."
    )
    is_active: bool = None
    steps: list[CadenceStepIn] = Field(
        None,
        min_length=1,
        max_length=MAX_STEPS,
        description="Replaces the list. A step on a day that stays keeps its sent history.",
    )


# --- messages --------------------------------------------------------------------------------


class MessageOut(Schema):
    id: UUID
    invoice: UUID
    invoice_number: str
    contact: UUID | None
    kind: str = Field(description="step, followup or manual")
    purpose: str
    status: str = Field(description="draft, queued, sending, sent, failed, unknown, cancelled")
    status_reason: str
    hold_reason: str = Field(description="Why a queued email waits; empty when it does not.")
    send_after: dt.datetime | None = Field(description="When a queued email may go.")
    subject: str = Field(description="The template, with merge fields.")
    body: str = Field(description="The template, with merge fields.")
    rendered_subject: str | None = Field(description="What was sent; null until it is sent.")
    rendered_body: str | None = Field(description="What was sent; null until it is sent.")
    to_email: str = Field(description="Where it went: the test address in test mode.")
    intended_email: str = Field(description="The payer it is meant for.")
    is_test: bool
    tone: str
    cadence: UUID | None
    step_offset_days: int | None
    approved_by: str | None = Field(description="The approving member's email.")
    approved_at: dt.datetime | None
    sent_at: dt.datetime | None
    provider_message_id: str
    created_at: dt.datetime

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_invoice(obj) -> UUID:
        return obj.invoice.public_id

    @staticmethod
    def resolve_invoice_number(obj) -> str:
        return obj.invoice.number

    @staticmethod
    def resolve_contact(obj) -> UUID | None:
        return obj.contact.public_id if obj.contact_id else None

    @staticmethod
    def resolve_rendered_subject(obj) -> str | None:
        return obj.rendered_subject if obj.status == Message.Status.SENT else None

    @staticmethod
    def resolve_rendered_body(obj) -> str | None:
        return obj.rendered_body if obj.status == Message.Status.SENT else None

    @staticmethod
    def resolve_cadence(obj) -> UUID | None:
        return obj.cadence.public_id if obj.cadence_id else None

    @staticmethod
    def resolve_step_offset_days(obj) -> int | None:
        return obj.step.offset_days if obj.step_id else None

    @staticmethod
    def resolve_approved_by(obj) -> str | None:
        return obj.approved_by.email if obj.approved_by_id else None


class MessagePage(CursorPage):
    results: list[MessageOut]


class MessageFilters(Schema):
    invoice: UUID | None = Field(None, description="An invoice's id.")
    status: MessageStatusFilter | None = Field(
        None, description='A status, or "held" for queued emails waiting with a reason.'
    )


# --- suppression -----------------------------------------------------------------------------


class ContactSuppress(Schema):
    kind: SuppressionKind = Field(description="Why the contact gets no automated email.")
    note: Line = Field("", max_length=150)
    until: Moment | None = Field(
        None,
        description="When the suppression ends by itself, with a time zone or offset "
        "(within three years); none: until lifted by hand.",
    )


# --- sending settings ------------------------------------------------------------------------


class OperatorWindowOut(Schema):
    member: str = Field(description="The operator's email address.")
    start: str
    end: str


class SendingSettingsOut(Schema):
    mode: SendingMode = Field(
        description='"test": every email goes to the test address, marked as a test.'
    )
    quiet_hours_start: str = Field(description="Email goes out from this time (payer's zone).")
    quiet_hours_end: str = Field(description="… until this time, in the payer's time zone.")
    send_on_weekends: bool
    skip_holidays: bool = Field(description="No email on the payer country's public holidays.")
    daily_cap: int = Field(description="Emails per day for the organization.")
    operator_daily_cap: int = Field(description="Emails per day approved by one operator.")
    warmup_enabled: bool
    warmup_first_day_cap: int
    from_name: str
    from_email: str = Field(description="Empty: the installation's default sender.")
    reply_to: str
    test_address: str
    operator_windows: list[OperatorWindowOut] = Field(
        description="Operators with a send window of their own (the others use the "
        "organization's): emails they approve go out within it, on the payer's clock."
    )
    updated_at: dt.datetime


class OperatorWindowIn(Schema):
    member: str = Field(max_length=254, description="The operator's email address.")
    start: ClockTime = Field(None, description='"HH:MM"; leave out with `end` to clear.')
    end: ClockTime = None


class SendingSettingsUpdate(Schema):
    mode: SendingMode = Field(
        None, description="Switching between test and live needs the Controller's role."
    )
    quiet_hours_start: ClockTime = None
    quiet_hours_end: ClockTime = None
    send_on_weekends: bool = None
    skip_holidays: bool = None
    daily_cap: DailyCap = None
    operator_daily_cap: DailyCap = None
    warmup_enabled: bool = None
    warmup_first_day_cap: DailyCap = None
    from_name: Line = Field(None, max_length=120)
    from_email: EmailOrBlank = Field(None, max_length=254)
    reply_to: EmailOrBlank = Field(None, max_length=254)
    test_address: EmailOrBlank = Field(None, max_length=254)
    operator_windows: list[OperatorWindowIn] = Field(
        None,
        max_length=200,
        description="Set (start and end) or clear (neither) operators' own send windows; "
        "operators not listed keep theirs.",
    )
