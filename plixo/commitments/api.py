"""/api/v1/promises and /api/v1/plans: the staff side of promises and payment plans, with the
same capabilities and rules as the pages (the services decide; a refused rule answers 400)."""

import datetime as dt
from typing import Literal
from uuid import UUID
from zoneinfo import ZoneInfo

from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status

from plixo.api.auth import api_requires
from plixo.api.common import invoice_and_contact, paginate_keyset, referenced, responses
from plixo.api.schemas import CursorPage, Day, Line, MoneyIn, MoneyOut, PageParams, Text
from plixo.commitments import selectors, services
from plixo.commitments.models import CommitmentSource, PaymentPlan, Promise
from plixo.core.money import quantize
from plixo.core.permissions import Cap
from plixo.ledger import selectors as ledger_selectors
from plixo.ledger.models import LedgerError, PaymentMethod
from plixo.ledger.selectors import org_today

promises = Router(tags=["promises"])
plans = Router(tags=["plans"])

ORDERING = ("-created_at", "-id")
PLAN_ORDERING = ("-created_at", "-id")
NOTE_MAX = services.NOTE_MAX_LENGTH


class InvoiceRef(Schema):
    id: UUID
    number: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id


class PromiseOut(Schema):
    id: UUID
    invoice: InvoiceRef
    amount: MoneyOut
    currency: str
    promised_on: dt.date
    status: str
    note: str
    source: str
    contact: UUID | None
    made_by: str
    created_at: dt.datetime
    resolved_at: dt.datetime | None

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_amount(obj) -> str:
        return str(quantize(obj.amount, obj.currency))

    @staticmethod
    def resolve_contact(obj) -> UUID | None:
        return obj.contact.public_id if obj.contact_id else None

    @staticmethod
    def resolve_made_by(obj) -> str:
        return obj.actor_label


class PromisePage(CursorPage):
    results: list[PromiseOut]


class PromiseCreate(Schema):
    invoice: UUID
    amount: MoneyIn
    promised_on: Day = Field(description="Today to 90 days ahead, in the organization's zone.")
    contact: UUID | None = Field(None, description="The payer contact who made the promise.")
    note: Text = Field("", max_length=NOTE_MAX)


class NoteIn(Schema):
    note: Text = Field("", max_length=NOTE_MAX)


class RequiredNoteIn(Schema):
    note: Text = Field(min_length=1, max_length=NOTE_MAX)


def _promise(request, promise_id: UUID) -> Promise:
    return selectors.promise_for(membership=request.membership, public_id=promise_id)


def _promise_out(promise: Promise) -> Promise:
    return Promise.objects.select_related("invoice", "contact").get(pk=promise.pk)


@promises.get("", response=responses({200: PromisePage}, 422), summary="List promises")
@api_requires(Cap.LEDGER_VIEW)
def promise_list(
    request,
    page: Query[PageParams],
    status: Literal["open", "kept", "missed", "superseded", "cancelled"] | None = None,
    invoice: UUID | None = None,
):
    """Promises the key may see, newest first; filter by `status` or `invoice`."""
    queryset = selectors.promises_visible(membership=request.membership).select_related(
        "invoice", "contact"
    )
    if status:
        queryset = queryset.filter(status=status)
    if invoice is not None:
        found = referenced(
            lambda: ledger_selectors.invoice_for(membership=request.membership, public_id=invoice),
            loc=("query", "invoice"),
            what="invoice",
        )
        queryset = queryset.filter(invoice=found)
    return paginate_keyset(queryset, page, ordering=ORDERING)


@promises.get("/{promise_id}", response=responses({200: PromiseOut}, 404), summary="Get a promise")
@api_requires(Cap.LEDGER_VIEW)
def promise_get(request, promise_id: UUID):
    return _promise(request, promise_id)


@promises.post("", response=responses({201: PromiseOut}, 400, 404, 422), summary="Add a promise")
@api_requires(Cap.PROMISES_LOG)
def promise_add(request, payload: PromiseCreate):
    """Record a payer's promise to pay. It supersedes the invoice's open promise, pauses the
    cadence until the day after its date, and schedules reminders before and on the date."""
    invoice, contact = invoice_and_contact(request.membership, payload)
    promise = services.promise_create(
        invoice=invoice,
        amount=payload.amount,
        promised_on=payload.promised_on,
        contact=contact,
        note=payload.note,
        source=CommitmentSource.API,
        actor=request.user,
    )
    return Status(201, _promise_out(promise))


@promises.post(
    "/{promise_id}/kept", response=responses({200: PromiseOut}, 400, 404, 422), summary="Mark kept"
)
@api_requires(Cap.PROMISES_LOG)
def promise_kept(request, promise_id: UUID, payload: NoteIn):
    promise = services.promise_mark_kept(
        promise=_promise(request, promise_id), actor=request.user, note=payload.note
    )
    return _promise_out(promise)


@promises.post(
    "/{promise_id}/missed",
    response=responses({200: PromiseOut}, 400, 404, 422),
    summary="Mark missed",
)
@api_requires(Cap.PROMISES_LOG)
def promise_missed(request, promise_id: UUID, payload: NoteIn):
    """The invoice goes back to its cadence with the tailored follow-up."""
    promise = services.promise_mark_missed(
        promise=_promise(request, promise_id), actor=request.user, note=payload.note
    )
    return _promise_out(promise)


class MessageRef(Schema):
    id: UUID
    status: str
    to: str

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_to(obj) -> str:
        return obj.intended_email


@promises.post(
    "/{promise_id}/remind",
    response=responses({200: MessageRef}, 400, 404),
    summary="Send a reminder",
)
@api_requires(Cap.MESSAGES_SEND)
def promise_remind(request, promise_id: UUID):
    """Queue a reminder of the promise to the payer, through the outbox (quiet hours, caps,
    test mode and suppression apply)."""
    return services.promise_remind(promise=_promise(request, promise_id), actor=request.user)


# --- plans -------------------------------------------------------------------------------------


class InstallmentOut(Schema):
    sequence: int
    due_on: dt.date
    amount: MoneyOut
    paid_amount: MoneyOut
    status: str
    paid_on: dt.date | None

    @staticmethod
    def resolve_amount(obj) -> str:
        return str(quantize(obj.amount, obj.plan.currency))

    @staticmethod
    def resolve_paid_amount(obj) -> str:
        return str(quantize(obj.paid_amount, obj.plan.currency))


class PlanOut(Schema):
    id: UUID
    invoice: InvoiceRef
    total: MoneyOut
    currency: str
    status: str
    reason: str
    source: str
    made_by: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    decision_note: str
    counter_to: UUID | None
    installments: list[InstallmentOut]
    adherence: int | None = Field(
        description="% of the installments due so far that were paid on time; null before any "
        "is due."
    )
    next_due_on: dt.date | None

    @staticmethod
    def resolve_id(obj) -> UUID:
        return obj.public_id

    @staticmethod
    def resolve_total(obj) -> str:
        return str(quantize(obj.total, obj.currency))

    @staticmethod
    def resolve_made_by(obj) -> str:
        return obj.actor_label

    @staticmethod
    def resolve_counter_to(obj) -> UUID | None:
        return obj.counter_to.public_id if obj.counter_to_id else None

    @staticmethod
    def resolve_installments(obj):
        return sorted(obj.installments.all(), key=lambda i: i.sequence)

    @staticmethod
    def resolve_adherence(obj) -> int | None:
        return _inspection(obj).adherence

    @staticmethod
    def resolve_next_due_on(obj) -> dt.date | None:
        found = _inspection(obj).next_due
        return found.due_on if found else None


def _inspection(plan):
    cached = getattr(plan, "_inspection", None)
    if cached is None:
        cached = selectors.plan_inspection(plan=plan, today=org_today(plan.invoice.organization))
        plan._inspection = cached
    return cached


class PlanPage(CursorPage):
    results: list[PlanOut]


class InstallmentIn(Schema):
    due_on: Day
    amount: MoneyIn


class PlanCreate(Schema):
    invoice: UUID
    installments: list[InstallmentIn] = Field(
        min_length=services.PLAN_MIN_INSTALLMENTS, max_length=services.PLAN_MAX_INSTALLMENTS
    )
    reason: Text = Field(min_length=1, max_length=NOTE_MAX, description="The rationale.")
    contact: UUID | None = None
    from_promise: UUID | None = Field(None, description="The promise this plan follows.")


class CounterIn(Schema):
    installments: list[InstallmentIn] = Field(
        min_length=services.PLAN_MIN_INSTALLMENTS, max_length=services.PLAN_MAX_INSTALLMENTS
    )
    note: Text = Field("", max_length=NOTE_MAX)


class InstallmentPayIn(Schema):
    sequence: int | None = Field(
        None, ge=1, le=services.PLAN_MAX_INSTALLMENTS, description="The next unpaid if omitted."
    )
    reference: Line = Field(min_length=1, max_length=120)
    received_on: Day | None = Field(None, description="Today if omitted; not in the future.")
    method: PaymentMethod = PaymentMethod.OTHER


def _plan(request, plan_id: UUID) -> PaymentPlan:
    return selectors.plan_for(membership=request.membership, public_id=plan_id)


def _plan_out(plan: PaymentPlan) -> PaymentPlan:
    return (
        PaymentPlan.objects.select_related("invoice__organization", "counter_to")
        .prefetch_related("installments__plan")
        .get(pk=plan.pk)
    )


def _schedule(rows) -> list[tuple[dt.date, str]]:
    return [(row.due_on, row.amount) for row in rows]


@plans.get("", response=responses({200: PlanPage}, 422), summary="List payment plans")
@api_requires(Cap.LEDGER_VIEW)
def plan_list(
    request,
    page: Query[PageParams],
    status: Literal[
        "proposed",
        "pending_approval",
        "approved",
        "active",
        "completed",
        "defaulted",
        "rejected",
        "cancelled",
    ]
    | None = None,
    invoice: UUID | None = None,
):
    """Plans the key may see with their installments, newest first."""
    queryset = (
        selectors.plans_visible(membership=request.membership)
        .select_related("invoice__organization", "counter_to")
        .prefetch_related("installments__plan")
    )
    if status:
        queryset = queryset.filter(status=status)
    if invoice is not None:
        found = referenced(
            lambda: ledger_selectors.invoice_for(membership=request.membership, public_id=invoice),
            loc=("query", "invoice"),
            what="invoice",
        )
        queryset = queryset.filter(invoice=found)
    return paginate_keyset(queryset, page, ordering=PLAN_ORDERING)


@plans.get("/{plan_id}", response=responses({200: PlanOut}, 404), summary="Get a payment plan")
@api_requires(Cap.LEDGER_VIEW)
def plan_get(request, plan_id: UUID):
    return _plan_out(_plan(request, plan_id))


@plans.post("", response=responses({201: PlanOut}, 400, 404, 422), summary="Create a plan")
@api_requires(Cap.PLANS_MANAGE)
def plan_add(request, payload: PlanCreate):
    """A plan agreed with the payer, accepted as it is made: the schedule is emailed to the
    payer and the cadence pauses while it runs. Installments must add up to at most the
    balance, on increasing dates from today on."""
    membership = request.membership
    invoice = referenced(
        lambda: ledger_selectors.invoice_for(membership=membership, public_id=payload.invoice),
        loc=("body", "payload", "invoice"),
        what="invoice",
    )
    contact = promise = None
    if payload.contact is not None:
        contact = referenced(
            lambda: ledger_selectors.contact_for(membership=membership, public_id=payload.contact),
            loc=("body", "payload", "contact"),
            what="contact",
        )
    if payload.from_promise is not None:
        promise = referenced(
            lambda: selectors.promise_for(membership=membership, public_id=payload.from_promise),
            loc=("body", "payload", "from_promise"),
            what="promise",
        )
    plan = services.plan_create(
        invoice=invoice,
        installments=_schedule(payload.installments),
        reason=payload.reason,
        contact=contact,
        from_promise=promise,
        source=CommitmentSource.API,
        actor=request.user,
    )
    return Status(201, _plan_out(plan))


@plans.post(
    "/{plan_id}/accept", response=responses({200: PlanOut}, 400, 404, 422), summary="Accept"
)
@api_requires(Cap.PLANS_MANAGE)
def plan_accept(request, plan_id: UUID, payload: NoteIn):
    plan = services.plan_accept(plan=_plan(request, plan_id), actor=request.user, note=payload.note)
    return _plan_out(plan)


@plans.post(
    "/{plan_id}/decline", response=responses({200: PlanOut}, 400, 404, 422), summary="Decline"
)
@api_requires(Cap.PLANS_MANAGE)
def plan_decline(request, plan_id: UUID, payload: RequiredNoteIn):
    plan = services.plan_decline(
        plan=_plan(request, plan_id), actor=request.user, note=payload.note
    )
    return _plan_out(plan)


@plans.post(
    "/{plan_id}/counter",
    response=responses({201: PlanOut}, 400, 404, 422),
    summary="Counter a proposal",
)
@api_requires(Cap.PLANS_MANAGE)
def plan_counter(request, plan_id: UUID, payload: CounterIn):
    """Decline the payer's proposal and send them this schedule instead; answers the new plan."""
    plan = services.plan_counter(
        plan=_plan(request, plan_id),
        installments=_schedule(payload.installments),
        actor=request.user,
        note=payload.note,
    )
    return Status(201, _plan_out(plan))


@plans.post(
    "/{plan_id}/cancel", response=responses({200: PlanOut}, 400, 404, 422), summary="Cancel"
)
@api_requires(Cap.PLANS_MANAGE)
def plan_cancel(request, plan_id: UUID, payload: RequiredNoteIn):
    plan = services.plan_cancel(plan=_plan(request, plan_id), actor=request.user, note=payload.note)
    return _plan_out(plan)


@plans.post("/{plan_id}/complete", response=responses({200: PlanOut}, 400, 404), summary="Complete")
@api_requires(Cap.PLANS_MANAGE)
def plan_complete(request, plan_id: UUID):
    return _plan_out(services.plan_complete(plan=_plan(request, plan_id), actor=request.user))


@plans.post(
    "/{plan_id}/resend", response=responses({200: MessageRef}, 400, 404), summary="Resend link"
)
@api_requires(Cap.PLANS_MANAGE)
def plan_resend(request, plan_id: UUID):
    return services.plan_resend(plan=_plan(request, plan_id), actor=request.user)


@plans.post(
    "/{plan_id}/pay",
    response=responses({200: PlanOut}, 400, 404, 422),
    summary="Mark an installment paid",
)
@api_requires(Cap.PAYMENTS_RECORD)
def installment_pay(request, plan_id: UUID, payload: InstallmentPayIn):
    """Record the payment of what an installment (the next unpaid one unless `sequence` says)
    still owes, and apply it to the invoice; the plan advances as with any payment."""
    plan = _plan(request, plan_id)
    unpaid = plan.installments.exclude(status="paid").order_by("sequence")
    if payload.sequence is not None:
        unpaid = plan.installments.filter(sequence=payload.sequence)
    installment = unpaid.first()
    if installment is None:
        raise LedgerError(
            "This plan has no such installment."
            if payload.sequence is not None
            else "Every installment of this plan is paid."
        )
    organization = request.organization
    today = org_today(organization)
    received_on = payload.received_on or today
    if received_on > today:
        raise LedgerError("A payment cannot be received in the future.")
    received_at = (
        timezone.now()
        if received_on == today
        else dt.datetime.combine(
            received_on, dt.time(12, 0), tzinfo=ZoneInfo(organization.time_zone)
        )
    )
    services.plan_installment_pay(
        installment=installment,
        actor=request.user,
        reference=payload.reference,
        received_at=received_at,
        method=payload.method,
    )
    return _plan_out(plan)
