"""The cadence engine: which cadence chases each invoice, when its next step falls due, and
what a payment, a promise, a plan or a dispute does to it.

`cadence_tick` (the `comms.cadence_tick` job) does two things, both by index:
1. enrol invoices it has not seen yet: those with a primary key above `TickState` (every path
   that creates invoices — web, API, imports, seeding — is covered without hooks);
2. evaluate enrollments whose `next_action_at` has passed: draft the step that fell due (one
   per invoice per step, unique in the database), pause for a pending promise, a plan or a
   dispute, re-enter with a tailored follow-up after a missed promise or plan installment, or
   stop when the invoice is closed.

Ledger, commitment and dispute services call `cadence_invoice_changed` inside their own
transaction, so a payment, a promise, a plan or a dispute cancels unsent drafts and pauses or
stops the cadence at once, with the reason on the timeline.
"""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

import structlog
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.comms.defaults import FOLLOWUPS
from plixo.comms.models import (
    Cadence,
    CadenceEnrollment,
    CadenceStep,
    Message,
    TickState,
)
from plixo.comms.services.cadence_plans import (
    OrgPlan,
    OrgPlans,
    cadence_for_invoice,
)
from plixo.comms.services.intake import enrollment_ensure, invoices_enrol_new
from plixo.comms.services.notices import fill
from plixo.comms.services.rows import enrollments_save, rows_insert
from plixo.core.models import User
from plixo.core.money import format_money
from plixo.ledger.models import OPEN_STATUSES, Contact, Invoice, InvoiceStatus, TimelineEvent

log = structlog.get_logger("plixo.comms")

DUE_BATCH = 1000
SWEEP_EVERY = dt.timedelta(hours=1)
CADENCE_LABEL = "Plixo cadence"

PAUSING_PLAN_STATUSES = frozenset(
    {
        PaymentPlan.Status.PROPOSED,
        PaymentPlan.Status.PENDING_APPROVAL,
        PaymentPlan.Status.APPROVED,
        PaymentPlan.Status.ACTIVE,
    }
)


@dataclass
class TickResult:
    enrolled: int = 0
    evaluated: int = 0
    drafted: int = 0
    queued: int = 0
    paused: int = 0
    stopped: int = 0
    finished: int = 0
    cancelled: int = 0

    def __str__(self) -> str:
        return (
            f"{self.drafted} drafts, {self.queued} queued, {self.enrolled} enrolled, "
            f"{self.paused} paused, {self.stopped} stopped"
        )


# --- facts about a batch of invoices ---------------------------------------------------------


@dataclass
class Facts:
    """What blocks or re-enters chasing, read for a whole batch in a few queries."""

    promises: dict[int, list[Promise]] = field(default_factory=lambda: defaultdict(list))
    plans: dict[int, list[PaymentPlan]] = field(default_factory=lambda: defaultdict(list))
    installments: dict[int, list[PlanInstallment]] = field(
        default_factory=lambda: defaultdict(list)
    )
    purposes: dict[int, set[str]] = field(default_factory=lambda: defaultdict(set))
    contacts: dict[int, Contact] = field(default_factory=dict)

    @classmethod
    def load(cls, invoices: list[Invoice]) -> "Facts":
        facts = cls()
        ids = [i.pk for i in invoices]
        if not ids:
            return facts
        for promise in Promise.objects.filter(
            invoice_id__in=ids, status__in=[Promise.Status.OPEN, Promise.Status.MISSED]
        ).order_by("promised_on", "id"):
            facts.promises[promise.invoice_id].append(promise)
        plans = list(
            PaymentPlan.objects.filter(
                invoice_id__in=ids,
                status__in=[*PAUSING_PLAN_STATUSES, PaymentPlan.Status.DEFAULTED],
            ).order_by("created_at", "id")
        )
        for plan in plans:
            facts.plans[plan.invoice_id].append(plan)
        if plans:
            for inst in PlanInstallment.objects.filter(
                plan_id__in=[p.pk for p in plans], status__in=["pending", "missed"]
            ).order_by("due_on", "sequence"):
                facts.installments[inst.plan_id].append(inst)
        for invoice_id, purpose in Message.objects.filter(invoice_id__in=ids).values_list(
            "invoice_id", "purpose"
        ):
            facts.purposes[invoice_id].add(purpose)
        customer_ids = {i.customer_id for i in invoices}
        for contact in Contact.objects.filter(customer_id__in=customer_ids).order_by(
            "-is_primary", "created_at", "id"
        ):
            facts.contacts.setdefault(contact.customer_id, contact)
        return facts


@dataclass
class Verdict:
    state: str
    reason: str
    next_action_at: dt.datetime | None
    followup: str = ""  # a follow-up to draft now ("promise_missed:<id>")
    step: CadenceStep | None = None  # the step to draft now
    skipped: int = 0  # earlier steps passed over (the invoice joined late)
    last_offset: int | None = None


def _judge(
    enrollment: CadenceEnrollment,
    invoice: Invoice,
    plan: OrgPlan,
    facts: Facts,
    now: dt.datetime,
) -> Verdict:
    """What the cadence should do for one invoice now. Pure: reads, never writes."""
    State = CadenceEnrollment.State
    today = plan.today(now)
    tomorrow_check = plan.at(today + dt.timedelta(days=1))
    if invoice.status not in OPEN_STATUSES or invoice.balance <= 0:
        label = invoice.get_status_display().lower()
        return Verdict(State.STOPPED, f"Invoice is {label}", None)
    if invoice.status == InvoiceStatus.DISPUTED:
        # A dispute's closing calls cadence_invoice_changed, which brings the invoice back.
        return Verdict(State.PAUSED, "Invoice is disputed", None)
    followup = ""
    for p in facts.plans.get(invoice.pk, ()):
        pending = facts.installments.get(p.pk, [])
        late = [i for i in pending if i.due_on < today]
        if p.status == PaymentPlan.Status.DEFAULTED or late:
            first = late[0] if late else None
            key = f"plan_missed:{p.pk}:{first.sequence if first else 'defaulted'}"
            if f"followup:{key}" not in facts.purposes.get(invoice.pk, set()):
                followup = key
            continue
        if p.status in PAUSING_PLAN_STATUSES:
            upcoming = [i.due_on for i in pending]
            recheck = plan.at(min(upcoming) + dt.timedelta(days=1)) if upcoming else tomorrow_check
            label = p.get_status_display().lower()
            return Verdict(State.PAUSED, f"Payment plan {label}", max(recheck, tomorrow_check))
    for promise in facts.promises.get(invoice.pk, ()):
        if promise.status == Promise.Status.OPEN and promise.promised_on >= today:
            reminder, recheck = _promise_reminder(promise, plan, facts, invoice, today)
            return Verdict(
                State.PAUSED,
                f"Promise to pay on {promise.promised_on:%Y-%m-%d}",
                recheck,
                followup=reminder,
            )
        key = f"promise_missed:{promise.pk}"
        if not followup and f"followup:{key}" not in facts.purposes.get(invoice.pk, set()):
            followup = key
    if enrollment.followup and not followup:
        key = enrollment.followup
        if f"followup:{key}" not in facts.purposes.get(invoice.pk, set()):
            followup = key
    cadence = plan.cadences.get(enrollment.cadence_id) if enrollment.cadence_id else None
    if cadence is None:
        cadence = cadence_for_invoice(plan, invoice, today)
        enrollment.cadence = cadence
    if followup:
        # The tailored follow-up goes alone; a regular step due today waits for tomorrow.
        return Verdict(State.ACTIVE, "", tomorrow_check, followup=followup)
    if cadence is None:
        return Verdict(State.STOPPED, "No active cadence", None)
    steps = plan.steps.get(cadence.pk, [])
    last = enrollment.last_offset
    pending_steps = [s for s in steps if last is None or s.offset_days > last]
    due = [s for s in pending_steps if invoice.due_date + dt.timedelta(days=s.offset_days) <= today]
    step, skipped = None, 0
    if due:
        # An invoice that joins late (imported 60 days overdue) gets the latest step that fell
        # due, not every earlier one at once.
        step, skipped = due[-1], len(due) - 1
        last = step.offset_days
    following = [s for s in steps if last is None or s.offset_days > last]
    if following:
        next_day = invoice.due_date + dt.timedelta(days=following[0].offset_days)
        return Verdict(
            State.ACTIVE,
            "",
            plan.at(next_day),
            step=step,
            skipped=skipped,
            last_offset=last,
        )
    # Every step is done and every follow-up owed is written: nothing to look at again until
    # something happens to the invoice (its hooks bring it back).
    return Verdict(
        State.FINISHED,
        "All steps done",
        None,
        step=step,
        skipped=skipped,
        last_offset=last,
    )


PROMISE_REMINDER_DAYS_BEFORE = 2


def _promise_reminder(
    promise: Promise, plan: OrgPlan, facts: Facts, invoice: Invoice, today: dt.date
) -> tuple[str, dt.datetime]:
    """The reminder owed now for an open promise ("" for none), and when to look again.

    Two reminders: `PROMISE_REMINDER_DAYS_BEFORE` days before the date and on the date, each
    only if the promise was made before that day (a promise made today for the day after
    tomorrow needs no reminder today)."""
    made_on = plan.today(promise.created_at)
    before_on = promise.promised_on - dt.timedelta(days=PROMISE_REMINDER_DAYS_BEFORE)
    sent = facts.purposes.get(invoice.pk, set())
    key = ""
    if today == promise.promised_on and made_on < today:
        key = f"promise_reminder:{promise.pk}:due"
    elif before_on <= today < promise.promised_on and made_on < before_on:
        key = f"promise_reminder:{promise.pk}:before"
    if key and f"followup:{key}" in sent:
        key = ""
    if today < before_on:
        recheck = plan.at(before_on)
    elif today < promise.promised_on:
        recheck = plan.at(promise.promised_on)
    else:
        recheck = plan.at(promise.promised_on + dt.timedelta(days=1))
    return key, recheck


def _followup_values(followup: str, facts: Facts, invoice: Invoice) -> dict[str, str]:
    """The facts a follow-up names that are not merge fields (a promise's amount and date)."""
    kind, _, rest = followup.partition(":")
    if kind != "promise_reminder":
        return {}
    promise_pk = rest.split(":")[0]
    for promise in facts.promises.get(invoice.pk, ()):
        if str(promise.pk) == promise_pk:
            return {
                "promise_amount": format_money(promise.amount, promise.currency),
                "promise_date": f"{promise.promised_on:%B} {promise.promised_on.day}, "
                f"{promise.promised_on.year}",
            }
    return {}


# --- writing -----------------------------------------------------------------------------------


def step_purpose(step: CadenceStep, invoice: Invoice) -> str:
    """One email per invoice per step per due date: the database refuses a second. A new due
    date is a new schedule, whose steps may be drafted again."""
    return f"step:{step.pk}:{invoice.due_date:%Y%m%d}"


def _message_for(
    *,
    invoice: Invoice,
    plan: OrgPlan,
    contact: Contact | None,
    cadence: Cadence | None,
    step: CadenceStep | None,
    followup: str = "",
    values: dict[str, str] | None = None,
    now: dt.datetime,
) -> Message:
    if step is not None:
        kind, purpose = Message.Kind.STEP, step_purpose(step, invoice)
        tone, subject, body = step.tone, step.subject, step.body
    else:
        kind, purpose = Message.Kind.FOLLOWUP, f"followup:{followup}"
        tone, subject, body = FOLLOWUPS[followup.split(":")[0]]
        subject, body = fill(subject, values or {}), fill(body, values or {})
    approval = cadence.requires_approval if cadence is not None else True
    return Message(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        cadence=cadence,
        step=step,
        kind=kind,
        purpose=purpose,
        idempotency_key=f"{invoice.organization_id}:{invoice.pk}:{purpose}",
        tone=tone,
        subject=subject,
        body=body,
        requires_approval=approval,
        status=Message.Status.DRAFT if approval else Message.Status.QUEUED,
        send_after=None if approval else now,
        intended_email=contact.email if contact else "",
        collector_id=invoice.customer.collector_id if approval else None,
    )


def _drafted_event(message: Message, invoice: Invoice, now: dt.datetime, skipped: int):
    data = {
        "message": str(message.public_id),
        "subject": message.subject,
        "to": message.intended_email,
        "cadence": message.cadence.name if message.cadence else "",
        "step": f"{message.step.offset_days:+d}" if message.step else message.purpose,
        "awaiting_approval": message.requires_approval,
    }
    if skipped:
        data["earlier_steps_skipped"] = skipped
    if message.contact is None:
        data["warning"] = "No contact on file: add one before this can be sent."
    return TimelineEvent(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind="email_drafted" if message.requires_approval else "email_queued",
        actor_label=CADENCE_LABEL,
        at=now,
        data=data,
    )


def _state_event(invoice: Invoice, kind: str, reason: str, now: dt.datetime, actor=None):
    return TimelineEvent(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=kind,
        actor=actor,
        actor_label=str(actor) if actor is not None else CADENCE_LABEL,
        at=now,
        data={"reason": reason},
    )


STATE_EVENT_KIND = {
    CadenceEnrollment.State.PAUSED: "cadence_paused",
    CadenceEnrollment.State.STOPPED: "cadence_stopped",
    CadenceEnrollment.State.ACTIVE: "cadence_resumed",
}


def _apply(
    enrollments: list[CadenceEnrollment],
    plans: OrgPlans,
    now: dt.datetime,
    result: TickResult,
    *,
    actor: User | None = None,
) -> list[Message]:
    """Judge each enrollment and write the outcome: drafts, state, next time, timeline."""
    invoices = [e.invoice for e in enrollments]
    facts = Facts.load(invoices)
    messages: list[Message] = []
    events: list[TimelineEvent] = []
    for enrollment in enrollments:
        invoice = enrollment.invoice
        plan = plans.get(invoice.organization_id)
        verdict = _judge(enrollment, invoice, plan, facts, now)
        result.evaluated += 1
        contact = facts.contacts.get(invoice.customer_id)
        cadence = plan.cadences.get(enrollment.cadence_id) if enrollment.cadence_id else None
        if verdict.followup:
            msg = _message_for(
                invoice=invoice,
                plan=plan,
                contact=contact,
                cadence=cadence,
                step=None,
                followup=verdict.followup,
                values=_followup_values(verdict.followup, facts, invoice),
                now=now,
            )
            messages.append(msg)
            events.append(_drafted_event(msg, invoice, now, 0))
            msg._drafted_event = events[-1]
        if verdict.step is not None and step_purpose(
            verdict.step, invoice
        ) not in facts.purposes.get(invoice.pk, set()):
            msg = _message_for(
                invoice=invoice,
                plan=plan,
                contact=contact,
                cadence=cadence,
                step=verdict.step,
                now=now,
            )
            messages.append(msg)
            events.append(_drafted_event(msg, invoice, now, verdict.skipped))
            msg._drafted_event = events[-1]
        previous = enrollment.state
        # A finished cadence that becomes active again (a new due date) is no resumption.
        reopened = previous == CadenceEnrollment.State.FINISHED and verdict.state == "active"
        if verdict.state != previous and verdict.state in STATE_EVENT_KIND and not reopened:
            events.append(
                _state_event(
                    invoice,
                    STATE_EVENT_KIND[verdict.state],
                    verdict.reason or "Back in its cadence",
                    now,
                    actor,
                )
            )
        if verdict.state == CadenceEnrollment.State.PAUSED:
            result.paused += previous != verdict.state
        elif verdict.state == CadenceEnrollment.State.STOPPED:
            result.stopped += previous != verdict.state
        elif verdict.state == CadenceEnrollment.State.FINISHED:
            result.finished += previous != verdict.state
        enrollment.state = verdict.state
        enrollment.reason = verdict.reason[:200]
        enrollment.next_action_at = verdict.next_action_at
        if verdict.last_offset is not None:
            enrollment.last_offset = verdict.last_offset
        if verdict.followup or enrollment.followup.startswith("dispute_resolved"):
            enrollment.followup = ""
        enrollment.updated_at = now
    dropped = _messages_write(messages)
    if dropped:
        gone = {id(getattr(m, "_drafted_event", None)) for m in dropped}
        events = [e for e in events if id(e) not in gone]
        messages = [m for m in messages if m not in dropped]
    rows_insert(events)
    enrollments_save(enrollments)
    result.drafted += sum(1 for m in messages if m.status == Message.Status.DRAFT)
    result.queued += sum(1 for m in messages if m.status == Message.Status.QUEUED)
    return messages


def _messages_write(messages: list[Message]) -> list[Message]:
    """Insert the batch's messages. The unique (invoice, purpose) constraint is the last word:
    if a concurrent run wrote one of them first, the batch is written one by one and the
    duplicate is dropped."""
    if not messages:
        return []
    dropped = []
    try:
        with transaction.atomic():
            rows_insert(messages)
    except IntegrityError:
        for message in messages:
            try:
                with transaction.atomic():
                    message.save(force_insert=True)
            except IntegrityError:
                message.pk = None
                dropped.append(message)
    return dropped


def _due_enrollments(now: dt.datetime, limit: int) -> list[CadenceEnrollment]:
    qs = (
        CadenceEnrollment.objects.filter(next_action_at__lte=now)
        .select_related("invoice__customer")
        .order_by("next_action_at", "pk")
    )
    if connection.features.has_select_for_update_skip_locked:
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return list(qs[:limit])


def cadence_tick(*, now: dt.datetime | None = None, limit: int | None = None) -> TickResult:
    """One pass of the scheduler: enrol new invoices, then work every due enrollment."""
    now = now or timezone.now()
    result = TickResult()
    plans = OrgPlans()
    result.enrolled += invoices_enrol_new(plans, now)
    remaining = limit
    while remaining is None or remaining > 0:
        size = DUE_BATCH if remaining is None else min(DUE_BATCH, remaining)
        with transaction.atomic():
            due = _due_enrollments(now, size)
            if not due:
                break
            _apply(due, plans, now, result)
        if remaining is not None:
            remaining -= len(due)
        if len(due) < size:
            break
    # Invoices closed by a path without a hook (an import marking them paid) lose their unsent
    # email within the hour; the outbox checks every email again before it sends anyway.
    swept = TickState.objects.filter(pk=1).values_list("swept_at", flat=True).first()
    if swept is None or now - swept >= SWEEP_EVERY or now < swept:
        result.cancelled += stale_messages_cancel(now=now)
        TickState.objects.filter(pk=1).update(swept_at=now)
    log.info("comms.tick", **result.__dict__)
    return result


# --- reacting to what happens to an invoice ---------------------------------------------------


CHANGE_REASONS = {
    "payment": "Payment received",
    "promise": "Promise to pay recorded",
    "plan": "Payment plan proposed",
    "promise_missed": "Promise to pay missed",
    "promise_closed": "Promise to pay closed",
    "plan_decided": "Payment plan decided",
    "plan_missed": "Payment plan installment missed",
    "plan_closed": "Payment plan closed",
    "dispute_opened": "Dispute filed",
    "dispute_closed": "Dispute resolved",
    "closed": "Invoice closed",
    "updated": "Invoice details changed",
    "redated": "Due date changed",
    "refunded": "Payment refunded",
}
# Changes after which the drafts already written still stand (a missed promise or installment
# withdraws only the promise's reminders: the follow-up the tick may have drafted stays).
KEEPS_DRAFTS = frozenset({"dispute_closed", "updated", "refunded", "promise_missed", "plan_missed"})


def drafts_collector_sync(*, customer_ids) -> int:
    """Copy the customers' current collector onto their invoices' drafts (after a collector
    changes); returns how many drafts were rewritten."""
    from plixo.ledger.models import Customer

    total = 0
    for customer_id, collector_id in Customer.objects.filter(pk__in=list(customer_ids)).values_list(
        "pk", "collector_id"
    ):
        total += (
            Message.objects.filter(invoice__customer_id=customer_id, status=Message.Status.DRAFT)
            .exclude(collector_id=collector_id)
            .update(collector_id=collector_id)
            if collector_id is not None
            else Message.objects.filter(
                invoice__customer_id=customer_id,
                status=Message.Status.DRAFT,
                collector__isnull=False,
            ).update(collector_id=None)
        )
    return total


def drafts_collector_sync_all(*, organization_id: int) -> int:
    """Rewrite the collector copied onto every draft of the organization from its customer
    (the daily full refresh of My Queue)."""
    from django.db.models import OuterRef, Subquery

    collector = Invoice.objects.filter(pk=OuterRef("invoice_id")).values("customer__collector_id")
    return Message.objects.filter(
        organization_id=organization_id, status=Message.Status.DRAFT
    ).update(collector_id=Subquery(collector[:1]))


def messages_cancel(
    *,
    invoice: Invoice,
    reason: str,
    actor: User | None = None,
    now: dt.datetime | None = None,
    purpose_prefix: str = "",
) -> int:
    """Cancel every unsent email of the invoice (drafts, queued, held), or only those whose
    purpose starts with `purpose_prefix`, with one timeline entry saying how many and why."""
    now = now or timezone.now()
    unsent = Message.objects.filter(invoice_id=invoice.pk, status__in=Message.UNSENT)
    if purpose_prefix:
        unsent = unsent.filter(purpose__startswith=purpose_prefix)
    cancelled = unsent.update(
        status=Message.Status.CANCELLED, status_reason=reason[:300], updated_at=now
    )
    if cancelled:
        TimelineEvent.objects.create(
            organization_id=invoice.organization_id,
            invoice=invoice,
            kind="email_cancelled",
            actor=actor,
            actor_label=str(actor) if actor is not None else CADENCE_LABEL,
            at=now,
            data={"count": cancelled, "reason": reason},
        )
    return cancelled


def _closed_invoice_stop(
    *, invoice: Invoice, change: str, actor: User | None, now: dt.datetime
) -> CadenceEnrollment | None:
    """The common case made cheap: the change closed the invoice (paid in full, voided,
    written off). Its verdict needs no cadence plan: unsent email is cancelled and the
    enrollment stops, as `_judge` would decide. None: not that case (or never enrolled), so
    the full judgement runs."""
    status, balance = Invoice.objects.filter(pk=invoice.pk).values_list("status", "balance")[0]
    if status in OPEN_STATUSES and balance > 0:
        return None
    enrollment = CadenceEnrollment.objects.select_for_update().filter(invoice_id=invoice.pk).first()
    if enrollment is None:
        return None
    messages_cancel(invoice=invoice, reason=CHANGE_REASONS[change], actor=actor, now=now)
    label = InvoiceStatus(status).label.lower()
    reason = f"Invoice is {label}"
    events = []
    if enrollment.state != CadenceEnrollment.State.STOPPED:
        kind = STATE_EVENT_KIND[CadenceEnrollment.State.STOPPED]
        events.append(_state_event(invoice, kind, reason, now, actor))
    enrollment.state = CadenceEnrollment.State.STOPPED
    enrollment.reason = reason[:200]
    enrollment.next_action_at = None
    enrollment.updated_at = now
    rows_insert(events)
    enrollments_save([enrollment])
    return enrollment


def cadence_invoice_changed(
    *,
    invoice: Invoice,
    change: str,
    actor: User | None = None,
    ref: str = "",
    now: dt.datetime | None = None,
) -> CadenceEnrollment | None:
    """Call inside the transaction that changed the invoice. `change` is a key of
    `CHANGE_REASONS`. Unsent drafts are cancelled (except when a dispute closes, which sends
    the invoice back to its cadence), then the cadence is judged again at once."""
    if change not in CHANGE_REASONS:
        raise ValueError(f"Unknown cadence change {change!r}")
    now = now or timezone.now()
    closed = _closed_invoice_stop(invoice=invoice, change=change, actor=actor, now=now)
    if closed is not None:
        return closed
    invoice = Invoice.objects.select_related("customer", "organization").get(pk=invoice.pk)
    enrollment_ensure(invoice, now=now)
    # The enrollment row lock orders this change against a tick judging the same invoice: the
    # tick's drafts are committed (and cancelled here) or not yet written (and the tick then
    # waits and sees the change).
    enrollment = CadenceEnrollment.objects.select_for_update().get(invoice_id=invoice.pk)
    if change not in KEEPS_DRAFTS:
        messages_cancel(invoice=invoice, reason=CHANGE_REASONS[change], actor=actor, now=now)
    elif change == "promise_missed":
        messages_cancel(
            invoice=invoice,
            reason=CHANGE_REASONS[change],
            actor=actor,
            now=now,
            purpose_prefix="followup:promise_reminder:",
        )
    enrollment.invoice = invoice
    if change == "redated":
        _restart_schedule(enrollment, invoice, now)
    if change == "dispute_closed" and invoice.is_open:
        enrollment.followup = f"dispute_resolved:{ref or invoice.pk}"
    _apply([enrollment], OrgPlans(), now, TickResult(), actor=actor)
    return enrollment


def _restart_schedule(enrollment: CadenceEnrollment, invoice: Invoice, now: dt.datetime) -> None:
    """A new due date: the steps already past under it count as handled (no burst of old
    reminders), the later ones are drafted on their new days."""
    plan = OrgPlans().get(invoice.organization_id)
    today = plan.today(now)
    steps = plan.steps.get(enrollment.cadence_id, []) if enrollment.cadence_id else []
    passed = [
        s.offset_days for s in steps if invoice.due_date + dt.timedelta(days=s.offset_days) < today
    ]
    enrollment.last_offset = passed[-1] if passed else None
    if enrollment.state == CadenceEnrollment.State.FINISHED:
        enrollment.state = CadenceEnrollment.State.ACTIVE


def stale_messages_cancel(*, now: dt.datetime | None = None) -> int:
    """Unsent emails of invoices that were closed by a path without a hook (an import that
    marked them paid): cancelled, so nobody approves a reminder for a paid invoice."""
    now = now or timezone.now()
    stale = list(
        Message.objects.filter(status__in=Message.UNSENT)
        .filter(~Q(invoice__status__in=OPEN_STATUSES) | Q(invoice__balance__lte=0))
        .select_related("invoice")[:500]
    )
    seen = set()
    count = 0
    for message in stale:
        if message.invoice_id in seen:
            continue
        seen.add(message.invoice_id)
        with transaction.atomic():
            count += messages_cancel(
                invoice=message.invoice, reason=CHANGE_REASONS["closed"], now=now
            )
    return count
