"""Every write of promises and payment plans. Keyword-only, one transaction each, and the
invoice timeline event in that same transaction.

Dates are judged in the organization's time zone: "today" for a payer in Sydney is what the
organization calls today, so a promise for today is never refused for being "in the past" by a
server running on UTC.
"""

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import ROUND_DOWN, Decimal

from django.db import connection, transaction
from django.utils import timezone

from plixo.commitments.models import CommitmentSource, PaymentPlan, PlanInstallment, Promise
from plixo.core.models import User
from plixo.core.money import (
    MoneyError,
    currency_digits,
    format_money,
    is_currency,
    parse_amount,
    quantize,
)
from plixo.core.text import text_problem
from plixo.ledger.models import Contact, Invoice, LedgerError
from plixo.ledger.selectors import org_today
from plixo.ledger.services import timeline_record
from plixo.ledger.services.cadence import cadence_notify

PROMISE_MADE = "promise_made"
PLAN_PROPOSED = "plan_proposed"

PROMISE_HORIZON_DAYS = 90
PLAN_MIN_INSTALLMENTS = 2
PLAN_MAX_INSTALLMENTS = 24
NOTE_MAX_LENGTH = 2000


def _label(actor: User | None, actor_label: str | None) -> str:
    if actor_label:
        return actor_label
    return str(actor) if actor is not None else "system"


def _check_source(source: str) -> None:
    if source not in CommitmentSource.values:
        raise LedgerError(f"Unknown source {source!r}.")


def _check_contact(contact: Contact | None, invoice: Invoice) -> None:
    if contact is not None and contact.customer_id != invoice.customer_id:
        raise LedgerError("That contact does not belong to this invoice's customer.")


def _lock_open_invoice(invoice: Invoice, what: str) -> Invoice:
    locked = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization")
        .get(pk=invoice.pk)
    )
    if not locked.is_open:
        raise LedgerError(
            f"Invoice {locked.number} is {locked.get_status_display().lower()}; it takes no {what}."
        )
    return locked


def _amount(value, currency: str, what: str) -> Decimal:
    try:
        amount = parse_amount(value, currency)
    except MoneyError as exc:
        raise LedgerError(f"{what}: {exc}") from exc
    if amount <= 0:
        raise LedgerError(f"{what} must be more than zero.")
    return amount


def _as_date(value, what: str) -> dt.date:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise LedgerError(f"{what} must be a date.")
    return value


def _text(value: str, what: str, *, required: bool) -> str:
    text = (value or "").strip()
    if required and not text:
        raise LedgerError(f"{what} is required.")
    if len(text) > NOTE_MAX_LENGTH:
        raise LedgerError(f"{what} is too long (at most {NOTE_MAX_LENGTH} characters).")
    problem = text_problem(text)
    if problem:
        raise LedgerError(f"{what} {problem}.")
    return text


# --- promises ----------------------------------------------------------------------------------


@transaction.atomic
def promise_create(
    *,
    invoice: Invoice,
    amount,
    promised_on: dt.date,
    contact: Contact | None = None,
    note: str = "",
    source: str = CommitmentSource.STAFF,
    actor: User | None = None,
    actor_label: str | None = None,
    supersede: bool = True,
) -> Promise:
    """A promise to pay `amount` of the invoice on `promised_on` (today to 90 days ahead).

    The payer's word replaces what they said before: the invoice's open promises become
    superseded (each on the timeline). `supersede=False` adds a promise beside them, for the
    part of the balance they do not cover (PAY-4's "promise the rest")."""
    _check_source(source)
    _check_contact(contact, invoice)
    invoice = _lock_open_invoice(invoice, "promises")
    amount = _amount(amount, invoice.currency, "The promised amount")
    if amount > invoice.balance:
        raise LedgerError(
            f"The promised amount ({format_money(amount, invoice.currency)}) is more than the "
            f"balance ({format_money(invoice.balance, invoice.currency)})."
        )
    promised_on = _as_date(promised_on, "The promise date")
    today = org_today(invoice.organization)
    if promised_on < today:
        raise LedgerError("The promise date cannot be in the past.")
    if promised_on > today + dt.timedelta(days=PROMISE_HORIZON_DAYS):
        raise LedgerError(f"The promise date must be within {PROMISE_HORIZON_DAYS} days.")
    note = _text(note, "The note", required=False)
    label = _label(actor, actor_label)
    earlier = []
    if supersede:
        earlier = list(
            Promise.objects.select_for_update().filter(
                invoice_id=invoice.pk, status=Promise.Status.OPEN
            )
        )
    promise = Promise.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        amount=amount,
        currency=invoice.currency,
        promised_on=promised_on,
        note=note,
        source=source,
        created_by=actor,
        actor_label=label,
    )
    timeline_record(
        invoice=invoice,
        kind=PROMISE_MADE,
        actor=actor,
        actor_label=label,
        data={
            "promise": str(promise.public_id),
            "amount": str(amount),
            "currency": invoice.currency,
            "promised_on": str(promised_on),
            "note": note,
            "source": source,
            "contact": str(contact) if contact is not None else "",
        },
    )
    for old in earlier:
        promise_close(
            promise=old,
            status=Promise.Status.SUPERSEDED,
            invoice=invoice,
            actor=actor,
            actor_label=label,
            data={"by": str(promise.public_id)},
        )
    cadence_notify(invoice=invoice, change="promise", actor=actor)
    return promise


PROMISE_EVENTS = {
    Promise.Status.KEPT: "promise_kept",
    Promise.Status.MISSED: "promise_missed",
    Promise.Status.SUPERSEDED: "promise_superseded",
    Promise.Status.CANCELLED: "promise_cancelled",
}


def promise_close(
    *,
    promise: Promise,
    status: str,
    invoice: Invoice,
    actor: User | None = None,
    actor_label: str | None = None,
    data: dict | None = None,
) -> Promise:
    """Move a locked promise out of "open" (or a missed one to kept) and write the timeline
    event. The caller holds the invoice lock and tells the cadence."""
    promise.check_transition(status)
    promise.status = status
    if promise.resolved_at is None or status == Promise.Status.KEPT:
        promise.resolved_at = timezone.now()
    promise.save(update_fields=["status", "resolved_at"])
    timeline_record(
        invoice=invoice,
        kind=PROMISE_EVENTS[status],
        actor=actor,
        actor_label=actor_label,
        data={
            "promise": str(promise.public_id),
            "amount": str(promise.amount),
            "currency": promise.currency,
            "promised_on": str(promise.promised_on),
            **(data or {}),
        },
    )
    return promise


# --- payment plans -----------------------------------------------------------------------------


def plan_installments_even(
    *, total, currency: str, count: int, first_on: dt.date, every_days: int = 30
) -> list[tuple[dt.date, Decimal]]:
    """`total` split into `count` equal installments `every_days` apart; what does not divide
    evenly (the remainder in minor units) goes on the last one."""
    if not is_currency(currency):
        raise LedgerError(f"{currency!r} is not an ISO 4217 currency code.")
    total = _amount(total, currency, "The plan total")
    if not PLAN_MIN_INSTALLMENTS <= count <= PLAN_MAX_INSTALLMENTS:
        raise LedgerError(
            f"A plan has {PLAN_MIN_INSTALLMENTS} to {PLAN_MAX_INSTALLMENTS} installments."
        )
    if every_days < 1:
        raise LedgerError("Installments must be at least a day apart.")
    first_on = _as_date(first_on, "The first installment date")
    step = Decimal(1).scaleb(-currency_digits(currency))
    each = (total / count).quantize(step, rounding=ROUND_DOWN)
    if each <= 0:
        raise LedgerError(f"{total} {currency} is too small to split into {count} installments.")
    last = quantize(total - each * (count - 1), currency)
    amounts = [each] * (count - 1) + [last]
    try:
        return [
            (first_on + dt.timedelta(days=every_days * index), amount)
            for index, amount in enumerate(amounts)
        ]
    except OverflowError as exc:
        raise LedgerError(
            "The installment dates run past the calendar; pick an earlier date."
        ) from exc


@transaction.atomic
def plan_propose(
    *,
    invoice: Invoice,
    installments: Sequence[tuple[dt.date, Decimal]],
    reason: str,
    contact: Contact | None = None,
    source: str = CommitmentSource.STAFF,
    actor: User | None = None,
    actor_label: str | None = None,
) -> PaymentPlan:
    """A proposed plan: 2–24 installments on strictly increasing dates from today on, each more
    than zero; the plan total is their sum and cannot exceed the invoice balance."""
    _check_source(source)
    _check_contact(contact, invoice)
    reason = _text(reason, "A reason for the plan", required=True)
    rows = list(installments)
    if not PLAN_MIN_INSTALLMENTS <= len(rows) <= PLAN_MAX_INSTALLMENTS:
        raise LedgerError(
            f"A plan has {PLAN_MIN_INSTALLMENTS} to {PLAN_MAX_INSTALLMENTS} installments "
            f"(this one has {len(rows)})."
        )
    invoice = _lock_open_invoice(invoice, "payment plans")
    today = org_today(invoice.organization)
    schedule: list[tuple[dt.date, Decimal]] = []
    for number, row in enumerate(rows, start=1):
        try:
            due_on, value = row
        except (TypeError, ValueError) as exc:
            raise LedgerError(f"Installment {number} needs a date and an amount.") from exc
        due_on = _as_date(due_on, f"Installment {number}'s date")
        amount = _amount(value, invoice.currency, f"Installment {number}'s amount")
        if number == 1 and due_on < today:
            raise LedgerError("The first installment cannot be in the past.")
        if schedule and due_on <= schedule[-1][0]:
            raise LedgerError(
                f"Installment {number} must fall after installment {number - 1} "
                f"({schedule[-1][0]:%Y-%m-%d})."
            )
        schedule.append((due_on, amount))
    total = sum((amount for _, amount in schedule), Decimal("0"))
    if total > invoice.balance:
        raise LedgerError(
            f"The installments add up to {format_money(total, invoice.currency)}, more than the "
            f"balance ({format_money(invoice.balance, invoice.currency)})."
        )
    label = _label(actor, actor_label)
    plan = PaymentPlan.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        total=total,
        currency=invoice.currency,
        reason=reason,
        source=source,
        created_by=actor,
        actor_label=label,
    )
    PlanInstallment.objects.bulk_create(
        PlanInstallment(plan=plan, sequence=sequence, due_on=due_on, amount=amount)
        for sequence, (due_on, amount) in enumerate(schedule, start=1)
    )
    timeline_record(
        invoice=invoice,
        kind=PLAN_PROPOSED,
        actor=actor,
        actor_label=label,
        data={
            "plan": str(plan.public_id),
            "total": str(total),
            "currency": invoice.currency,
            "installments": len(schedule),
            "first_on": str(schedule[0][0]),
            "last_on": str(schedule[-1][0]),
            "schedule": [[str(due_on), str(amount)] for due_on, amount in schedule],
            "reason": reason,
            "source": source,
            "contact": str(contact) if contact is not None else "",
        },
    )
    cadence_notify(invoice=invoice, change="plan", actor=actor)
    return plan


# --- payments keep promises and advance plans (PAY-2) ----------------------------------------

PROMISE_KEPT = "promise_kept"
INSTALLMENT_PAID = "installment_paid"
PLAN_COMPLETED = "plan_completed"
PLANS_THAT_TAKE_PAYMENTS = (
    PaymentPlan.Status.APPROVED,
    PaymentPlan.Status.ACTIVE,
    PaymentPlan.Status.DEFAULTED,
)


@functools.cache
def _commitments_sql() -> str:
    quote = connection.ops.quote_name
    promise, plan = quote(Promise._meta.db_table), quote(PaymentPlan._meta.db_table)
    statuses = ", ".join(["%s"] * len(PLANS_THAT_TAKE_PAYMENTS))
    # Only the models' table names are formatted in; every value is a parameter.
    promises = f"SELECT 1 FROM {promise} WHERE invoice_id = %s AND status IN (%s, %s)"  # noqa: S608
    plans = f"SELECT 1 FROM {plan} WHERE invoice_id = %s AND status IN ({statuses})"  # noqa: S608
    return f"SELECT EXISTS({promises}), EXISTS({plans})"


def commitments_payment_applied(
    *, invoice: Invoice, amount: Decimal, actor: User | None = None
) -> None:
    """Money was just applied to the invoice (any path: portal, Stripe, by hand, import, cash
    application). Call inside that transaction, with the invoice locked and saved.

    - A promise is kept once the invoice is paid, or once what was applied since the promise
      was made covers its amount. A missed promise paid late is kept too.
    - An accepted plan takes the money on its earliest unpaid installments in order; it
      becomes active with its first payment and completes when the last one is paid.
    """
    from django.db import connection
    from django.db.models import Sum

    from plixo.ledger.models import Allocation

    # Most payments meet no commitment: one small read says whether there is anything to do
    # (plain SQL: on this path compiling the ORM's Exists cost more than running it).
    params = [
        invoice.pk,
        Promise.Status.OPEN.value,
        Promise.Status.MISSED.value,
        invoice.pk,
        *(status.value for status in PLANS_THAT_TAKE_PAYMENTS),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_commitments_sql(), params)
        has_promises, has_plans = (bool(v) for v in cursor.fetchone())
    if not (has_promises or has_plans):
        return
    promises = Promise.objects.select_for_update().filter(
        invoice_id=invoice.pk, status__in=(Promise.Status.OPEN, Promise.Status.MISSED)
    )
    if not has_promises:
        promises = promises.none()
    for promise in promises.order_by("created_at", "pk"):
        if invoice.balance > 0:
            since = Allocation.objects.filter(
                invoice_id=invoice.pk, created_at__gte=promise.created_at
            ).aggregate(total=Sum("amount"))["total"] or Decimal("0")
            if since < promise.amount:
                continue
        promise_close(promise=promise, status=Promise.Status.KEPT, invoice=invoice, actor=actor)

    plans = PaymentPlan.objects.select_for_update().filter(
        invoice_id=invoice.pk, status__in=PLANS_THAT_TAKE_PAYMENTS
    )
    if not has_plans:
        plans = plans.none()
    for plan in plans.order_by("created_at", "pk"):
        left = amount
        installments = plan.installments.select_for_update().exclude(
            status=PlanInstallment.Status.PAID
        )
        for installment in installments.order_by("sequence"):
            if left <= 0:
                break
            take = min(left, installment.amount - installment.paid_amount)
            installment.paid_amount += take
            left -= take
            if installment.paid_amount == installment.amount:
                installment.status = PlanInstallment.Status.PAID
                installment.paid_on = org_today(invoice.organization)
            installment.save(update_fields=["paid_amount", "status", "paid_on"])
            timeline_record(
                invoice=invoice,
                kind=INSTALLMENT_PAID,
                actor=actor,
                data={
                    "plan": str(plan.public_id),
                    "installment": installment.sequence,
                    "paid": str(installment.paid_amount),
                    "amount": str(installment.amount),
                    "currency": plan.currency,
                    "complete": installment.status == PlanInstallment.Status.PAID,
                },
            )
        done = not plan.installments.exclude(status=PlanInstallment.Status.PAID).exists()
        wanted = PaymentPlan.Status.ACTIVE
        if done or invoice.balance == 0:
            wanted = PaymentPlan.Status.COMPLETED
            if plan.status == PaymentPlan.Status.APPROVED:
                plan.status = PaymentPlan.Status.ACTIVE  # approved → active → completed
        if plan.status != wanted:
            plan.check_transition(wanted)
            plan.status = wanted
            plan.save(update_fields=["status"])
            if wanted == PaymentPlan.Status.COMPLETED:
                plan.closed_at = timezone.now()
                plan.save(update_fields=["closed_at"])
                timeline_record(
                    invoice=invoice,
                    kind=PLAN_COMPLETED,
                    actor=actor,
                    data={"plan": str(plan.public_id), "currency": plan.currency},
                )
        # One payment advances one plan: an invoice has one accepted plan at a time.
        break


PROMISE_REOPENED = "promise_reopened"


def commitments_payment_reversed(*, invoice: Invoice, payment, actor: User | None = None) -> int:
    """A payment on the invoice was taken back (a cash application undone): the promises it
    kept that the remaining payments no longer cover are open again, or missed when their date
    has passed, each with a timeline event. Call inside the reversal's transaction, after the
    payment's allocations are gone and the invoice's balance is restored. Returns how many
    promises were reopened."""
    from django.db.models import Sum

    from plixo.ledger.models import Allocation

    kept = Promise.objects.select_for_update().filter(
        invoice_id=invoice.pk, status=Promise.Status.KEPT, resolved_at__gte=payment.created_at
    )
    today = None
    reopened = 0
    for promise in kept.order_by("created_at", "pk"):
        since = Allocation.objects.filter(
            invoice_id=invoice.pk, created_at__gte=promise.created_at
        ).exclude(payment_id=payment.pk).aggregate(total=Sum("amount"))["total"] or Decimal("0")
        if invoice.balance <= 0 or since >= promise.amount:
            continue
        today = today or org_today(invoice.organization)
        status = Promise.Status.OPEN if promise.promised_on >= today else Promise.Status.MISSED
        promise.status = status
        promise.resolved_at = None if status == Promise.Status.OPEN else timezone.now()
        promise.save(update_fields=["status", "resolved_at"])
        timeline_record(
            invoice=invoice,
            kind=PROMISE_REOPENED,
            actor=actor,
            data={
                "promise": str(promise.public_id),
                "amount": str(promise.amount),
                "currency": promise.currency,
                "promised_on": str(promise.promised_on),
                "status": status,
                "payment_reference": payment.reference,
            },
        )
        reopened += 1
    return reopened


def commitments_reversal_refused(*, invoice_ids: list[int], payment) -> str:
    """Why taking `payment` back would leave a payment plan wrong ("" when it would not): a
    plan's installments record what was paid on them, so a payment that advanced one is not
    reversed (record a correcting payment or cancel the plan first)."""
    advanced = (
        PlanInstallment.objects.filter(
            plan__invoice_id__in=invoice_ids,
            paid_amount__gt=0,
            plan__created_at__lte=payment.created_at,
        )
        .select_related("plan__invoice")
        .first()
    )
    if advanced is None:
        return ""
    return (
        f"Payment {payment.reference} advanced the payment plan on invoice "
        f"{advanced.plan.invoice.number}; cancel the plan before reversing the payment."
    )
