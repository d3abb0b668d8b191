"""What staff do with payment plans: create one (from scratch or from a promise), answer a
payer's proposal (accept, counter, decline), and run it (mark an installment paid, resend the
schedule, cancel, complete); and the daily check that flags missed installments.

Transitions follow `PaymentPlan.TRANSITIONS`:

| from                 | action                                   | to               |
|----------------------|------------------------------------------|------------------|
| proposed             | accept, within the decider's limit       | approved         |
| proposed             | accept, above it                         | pending_approval |
| pending_approval     | approver approves / rejects              | approved / rejected |
| proposed             | decline; counter (a new staff plan)      | rejected         |
| approved             | first payment                            | active           |
| approved, active     | an installment 7 days late, or two late  | defaulted        |
| defaulted            | payer catches up                         | active           |
| active, defaulted    | last installment paid, or balance zero   | completed        |
| any open status      | cancel                                   | cancelled        |

One invoice has at most one accepted plan (approved, active or defaulted) at a time. Accepting
a plan supersedes the open promises it covers. Every step writes the invoice timeline in its
transaction and tells the cadence, which pauses while a plan is pending or running and re-enters
with a tailored follow-up when an installment is missed.
"""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from plixo.commitments.models import CommitmentSource, PaymentPlan, PlanInstallment, Promise
from plixo.commitments.services.records import (
    _lock_open_invoice,
    _text,
    plan_propose,
    promise_close,
)
from plixo.core.models import User
from plixo.core.money import format_money
from plixo.ledger.models import Contact, Invoice, LedgerError
from plixo.ledger.services import timeline_record
from plixo.ledger.services.cadence import cadence_notify

ACCEPTED = (
    PaymentPlan.Status.APPROVED,
    PaymentPlan.Status.ACTIVE,
    PaymentPlan.Status.DEFAULTED,
)
UNDECIDED = (PaymentPlan.Status.PROPOSED, PaymentPlan.Status.PENDING_APPROVAL)
OPEN_PLAN_STATUSES = (*UNDECIDED, *ACCEPTED)
# A plan defaults when an installment is this many days late, or when two are late.
DEFAULT_AFTER_DAYS = 7
DEFAULT_AFTER_MISSED = 2
PLAN_CHECK_BATCH = 500


def _today(organization, now: dt.datetime | None = None) -> dt.date:
    return (now or timezone.now()).astimezone(ZoneInfo(organization.time_zone)).date()


def _locked(plan: PaymentPlan) -> tuple[PaymentPlan, Invoice]:
    """The invoice lock first (the order every payment takes), then the plan's."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization", "customer")
        .get(pk=plan.invoice_id)
    )
    return PaymentPlan.objects.select_for_update().get(pk=plan.pk), invoice


def plan_schedule_text(plan: PaymentPlan) -> str:
    """The schedule as the payer reads it in an email: one line per installment."""
    lines = []
    for installment in plan.installments.order_by("sequence"):
        day = installment.due_on
        lines.append(
            f"  {installment.sequence}. {day:%B} {day.day}, {day.year}: "
            f"{format_money(installment.amount, plan.currency)}"
        )
    return "\n".join(lines)


def plan_coverage_warning(*, total: Decimal, invoice: Invoice) -> str:
    """What a plan leaves uncovered, said before it is accepted ("" when it covers it all)."""
    if total >= invoice.balance:
        return ""
    rest = invoice.balance - total
    return (
        f"This plan covers {format_money(total, invoice.currency)} of the "
        f"{format_money(invoice.balance, invoice.currency)} balance; "
        f"{format_money(rest, invoice.currency)} stays outside it and in the cadence."
    )


def _notice(plan, invoice, template: str, actor, note: str = "", *, key: str = ""):
    from plixo.comms.services.notices import notice_queue

    return notice_queue(
        invoice=invoice,
        template=template,
        purpose=f"notice:{template}:{plan.pk}{key}",
        actor=actor,
        contact=plan.contact,
        values={
            "plan_schedule": plan_schedule_text(plan),
            "decision_note": f"{note}\n\n" if note else "",
        },
    )


def _event(plan, invoice, kind: str, actor, **data) -> None:
    timeline_record(
        invoice=invoice,
        kind=kind,
        actor=actor,
        data={
            "plan": str(plan.public_id),
            "total": str(plan.total),
            "currency": plan.currency,
            **data,
        },
    )


def _not_awaiting_approval(plan: PaymentPlan) -> None:
    if plan.status == PaymentPlan.Status.PENDING_APPROVAL:
        raise LedgerError(
            "This plan is waiting for approval: the approver decides it in the Approvals inbox, "
            "where its requester can also withdraw the request."
        )


def _decide(plan: PaymentPlan, status: str, actor: User | None, note: str) -> None:
    plan.check_transition(status)
    plan.status = status
    plan.decided_at = timezone.now()
    plan.decided_by = actor
    plan.decision_note = note
    fields = ["status", "decided_at", "decided_by", "decision_note"]
    if status in (PaymentPlan.Status.REJECTED, PaymentPlan.Status.CANCELLED):
        plan.closed_at = plan.decided_at
        fields.append("closed_at")
    plan.save(update_fields=fields)


def _acceptable(plan: PaymentPlan, invoice: Invoice) -> None:
    """What an accepted plan needs, checked when it is accepted and again when an approver
    approves it (the invoice may have moved meanwhile)."""
    others = PaymentPlan.objects.filter(invoice_id=invoice.pk, status__in=ACCEPTED).exclude(
        pk=plan.pk
    )
    if others.exists():
        raise LedgerError(
            f"Invoice {invoice.number} already has an accepted payment plan; cancel it before "
            "accepting another."
        )
    if plan.total > invoice.balance:
        raise LedgerError(
            f"The plan's total ({format_money(plan.total, plan.currency)}) is now more than "
            f"the balance ({format_money(invoice.balance, invoice.currency)}); counter it with "
            "a new schedule."
        )
    first = plan.installments.order_by("sequence").first()
    if first is not None and first.due_on < _today(invoice.organization):
        raise LedgerError(
            f"The first installment was due on {first.due_on:%b %-d, %Y}, which has passed; "
            "counter with new dates instead."
        )


def _accept(plan: PaymentPlan, invoice: Invoice, actor: User | None, note: str) -> PaymentPlan:
    """Accept the plan: APPROVED when the actor's approval limit covers its total, else
    PENDING_APPROVAL with an approval request routed by the organization's rule (the guardrail
    says why; `plan.guardrail` carries it back). The caller holds both locks, tells the cadence
    and, once the plan is approved, the payer."""
    from plixo.approvals.limits import approval_check
    from plixo.approvals.services import approval_request_create

    _acceptable(plan, invoice)
    plan.guardrail = None
    if actor is not None:
        plan.guardrail = approval_check(
            organization=invoice.organization,
            actor=actor,
            kind="plan",
            amount=plan.total,
            currency=plan.currency,
        )
    if plan.guardrail is not None:
        plan.check_transition(PaymentPlan.Status.PENDING_APPROVAL)
        plan.status = PaymentPlan.Status.PENDING_APPROVAL
        plan.decision_note = note
        plan.save(update_fields=["status", "decision_note"])
        approval_request_create(
            organization=invoice.organization,
            kind="plan",
            invoice=invoice,
            amount=plan.total,
            currency=plan.currency,
            rationale=plan.reason,
            requested_by=actor,
            target_key=f"plan:{plan.public_id}",
            params={"plan": str(plan.public_id), "note": note},
            guardrail=plan.guardrail,
        )
        _event(plan, invoice, "plan_sent_for_approval", actor, guardrail=str(plan.guardrail))
        return plan
    _approve(plan, invoice, actor, note)
    return plan


def _approve(plan: PaymentPlan, invoice: Invoice, actor: User | None, note: str) -> None:
    _decide(plan, PaymentPlan.Status.APPROVED, actor, note)
    _event(plan, invoice, "plan_accepted", actor, note=note)
    covered = Promise.objects.select_for_update().filter(
        invoice_id=invoice.pk, status=Promise.Status.OPEN, amount__lte=plan.total
    )
    for promise in covered.order_by("created_at", "pk"):
        promise_close(
            promise=promise,
            status=Promise.Status.SUPERSEDED,
            invoice=invoice,
            actor=actor,
            data={"plan": str(plan.public_id)},
        )


@transaction.atomic
def plan_create(
    *,
    invoice: Invoice,
    installments: Sequence[tuple[dt.date, Decimal]],
    reason: str,
    actor: User | None,
    contact: Contact | None = None,
    source: str = CommitmentSource.STAFF,
    from_promise: Promise | None = None,
    counter_to: PaymentPlan | None = None,
) -> PaymentPlan:
    """A plan staff set up with the payer (on the phone, or prefilled from `from_promise`): it
    is accepted as it is made. Returns the plan, approved."""
    if from_promise is not None and from_promise.invoice_id != invoice.pk:
        raise LedgerError("That promise belongs to another invoice.")
    plan = plan_propose(
        invoice=invoice,
        installments=installments,
        reason=reason,
        contact=contact or (from_promise.contact if from_promise else None),
        source=source,
        actor=actor,
    )
    if counter_to is not None:
        plan.counter_to = counter_to
        plan.save(update_fields=["counter_to"])
    plan, invoice = _locked(plan)
    _accept(plan, invoice, actor, "")
    cadence_notify(invoice=invoice, change="plan_decided", actor=actor)
    if plan.status == PaymentPlan.Status.APPROVED:
        _notice(plan, invoice, "plan_countered" if counter_to else "plan_accepted", actor)
    return plan


@transaction.atomic
def plan_accept(*, plan: PaymentPlan, actor: User | None, note: str = "") -> PaymentPlan:
    """Accept a payer's proposal; the payer is told by email."""
    note = _text(note, "The note", required=False)
    plan, invoice = _locked(plan)
    if plan.status != PaymentPlan.Status.PROPOSED:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; only a proposed plan is accepted."
        )
    invoice = _lock_open_invoice(invoice, "payment plans")
    _accept(plan, invoice, actor, note)
    cadence_notify(invoice=invoice, change="plan_decided", actor=actor)
    if plan.status == PaymentPlan.Status.APPROVED:
        _notice(plan, invoice, "plan_accepted", actor, note)
    return plan


# --- approvals: a plan above its accepter's limit ----------------------------------------------


def plan_on_approved(approval, *, actor: User | None) -> dict:
    """The approver approved a plan that was above its accepter's limit (registered with
    `plixo.approvals.registry` as the "plan" kind). The plan is accepted as its accepter would
    have: promises it covers superseded, the cadence told, the payer sent the schedule."""
    plan = PaymentPlan.objects.get(
        public_id=approval.params["plan"], organization_id=approval.organization_id
    )
    plan, invoice = _locked(plan)
    if plan.status != PaymentPlan.Status.PENDING_APPROVAL:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; there is nothing to approve."
        )
    invoice = _lock_open_invoice(invoice, "payment plans")
    _acceptable(plan, invoice)
    note = approval.params.get("note", "")
    _approve(plan, invoice, approval.requested_by, note)
    cadence_notify(invoice=invoice, change="plan_decided", actor=actor)
    _notice(
        plan,
        invoice,
        "plan_countered" if plan.counter_to_id else "plan_accepted",
        approval.requested_by,
        note,
    )
    return {"plan": str(plan.public_id), "status": plan.status}


def plan_on_rejected(approval, *, actor: User | None) -> None:
    """The approver rejected the plan (or its requester withdrew the request): the plan is
    rejected or cancelled and the invoice goes back to its cadence. A payer whose own proposal
    it was is told it was not accepted."""
    plan = PaymentPlan.objects.filter(
        public_id=approval.params.get("plan"), organization_id=approval.organization_id
    ).first()
    if plan is None:
        return
    plan, invoice = _locked(plan)
    if plan.status != PaymentPlan.Status.PENDING_APPROVAL:
        return
    withdrawn = approval.status == "cancelled"
    status = PaymentPlan.Status.CANCELLED if withdrawn else PaymentPlan.Status.REJECTED
    note = approval.decision_comment or ("Approval request withdrawn" if withdrawn else "")
    _decide(plan, status, actor, note)
    _event(
        plan,
        invoice,
        "plan_cancelled" if withdrawn else "plan_declined",
        actor,
        note=note,
        approval=True,
    )
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="plan_closed", actor=actor)
        if not withdrawn and plan.source == CommitmentSource.PORTAL:
            _notice(plan, invoice, "plan_declined", actor)


@transaction.atomic
def plan_decline(*, plan: PaymentPlan, actor: User | None, note: str) -> PaymentPlan:
    """Decline a proposal (the payer is told why, by email); the invoice goes back to its
    cadence."""
    note = _text(note, "A reason for declining", required=True)
    plan, invoice = _locked(plan)
    _not_awaiting_approval(plan)
    if plan.status not in UNDECIDED:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; only a plan awaiting a decision "
            "is declined (cancel an accepted one)."
        )
    _decide(plan, PaymentPlan.Status.REJECTED, actor, note)
    _event(plan, invoice, "plan_declined", actor, note=note)
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="plan_closed", actor=actor)
        if plan.source == CommitmentSource.PORTAL:
            _notice(plan, invoice, "plan_declined", actor, note)
    return plan


@transaction.atomic
def plan_counter(
    *,
    plan: PaymentPlan,
    installments: Sequence[tuple[dt.date, Decimal]],
    actor: User | None,
    note: str = "",
) -> PaymentPlan:
    """Answer a payer's proposal with another schedule: the proposal is declined and the
    counter-offer is a new plan, accepted on the organization's side and sent to the payer.
    Returns the new plan."""
    note = _text(note, "The note", required=False)
    plan, invoice = _locked(plan)
    if plan.status != PaymentPlan.Status.PROPOSED:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; only a proposed plan is countered."
        )
    _decide(plan, PaymentPlan.Status.REJECTED, actor, note or "Countered with another schedule")
    _event(plan, invoice, "plan_declined", actor, note=note, countered=True)
    return plan_create(
        invoice=invoice,
        installments=installments,
        reason=note or f"Counter-offer to the payer's proposal: {plan.reason}",
        actor=actor,
        contact=plan.contact,
        counter_to=plan,
    )


@transaction.atomic
def plan_cancel(*, plan: PaymentPlan, actor: User | None, note: str) -> PaymentPlan:
    """Cancel a plan that is not finished; what the payer paid stays paid, and the invoice goes
    back to its cadence."""
    note = _text(note, "A reason for cancelling", required=True)
    plan, invoice = _locked(plan)
    _not_awaiting_approval(plan)
    if plan.status not in OPEN_PLAN_STATUSES:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; there is nothing to cancel."
        )
    _decide(plan, PaymentPlan.Status.CANCELLED, actor, note)
    _event(plan, invoice, "plan_cancelled", actor, note=note)
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="plan_closed", actor=actor)
    return plan


@transaction.atomic
def plan_complete(*, plan: PaymentPlan, actor: User | None) -> PaymentPlan:
    """Close a plan whose installments are all paid, or whose invoice owes nothing more."""
    plan, invoice = _locked(plan)
    if plan.status not in ACCEPTED:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; only an accepted plan is completed."
        )
    unpaid = list(plan.installments.exclude(status=PlanInstallment.Status.PAID))
    if unpaid and invoice.balance > 0:
        owed = sum((i.amount - i.paid_amount for i in unpaid), Decimal("0"))
        raise LedgerError(
            f"{len(unpaid)} installment{'s' if len(unpaid) != 1 else ''} still unpaid "
            f"({format_money(owed, plan.currency)}); record the payments or cancel the plan."
        )
    if plan.status == PaymentPlan.Status.APPROVED:
        plan.status = PaymentPlan.Status.ACTIVE  # approved → active → completed
    plan.check_transition(PaymentPlan.Status.COMPLETED)
    plan.status = PaymentPlan.Status.COMPLETED
    plan.closed_at = timezone.now()
    plan.save(update_fields=["status", "closed_at"])
    _event(plan, invoice, "plan_completed", actor, by_hand=True)
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="plan_closed", actor=actor)
    return plan


@transaction.atomic
def plan_resend(*, plan: PaymentPlan, actor: User | None, now: dt.datetime | None = None):
    """Email the payer the plan's schedule with a fresh pay link."""
    now = now or timezone.now()
    plan, invoice = _locked(plan)
    if plan.status not in ACCEPTED:
        raise LedgerError(
            f"This plan is {plan.get_status_display().lower()}; only an accepted plan's "
            "schedule is sent."
        )
    invoice = _lock_open_invoice(invoice, "emails")
    message = _notice(plan, invoice, "plan_link", actor, key=f":{int(now.timestamp())}")
    if message is None:
        raise LedgerError(
            f"{invoice.customer.name} has no contact with an email address; add one first."
        )
    return message


def plan_installment_pay(
    *,
    installment: PlanInstallment,
    actor: User | None,
    reference: str,
    received_at: dt.datetime,
    method: str,
    memo: str = "",
):
    """Mark an installment paid: a payment of what it still owes is recorded on the ledger and
    applied to the invoice, which advances the plan as any payment does. Returns the payment."""
    from plixo.ledger.services import AllocationRequest, payment_record

    with transaction.atomic():
        plan, invoice = _locked(installment.plan)
        installment = PlanInstallment.objects.select_for_update().get(pk=installment.pk)
        if plan.status not in ACCEPTED:
            raise LedgerError(
                f"This plan is {plan.get_status_display().lower()}; it takes no payments."
            )
        if installment.status == PlanInstallment.Status.PAID:
            raise LedgerError(f"Installment {installment.sequence} is already paid.")
        earlier = plan.installments.filter(sequence__lt=installment.sequence).exclude(
            status=PlanInstallment.Status.PAID
        )
        if earlier.exists():
            raise LedgerError(
                "Payments go to the earliest unpaid installment first; mark "
                f"installment {earlier.order_by('sequence').first().sequence} paid before this "
                "one."
            )
        owed = min(installment.amount - installment.paid_amount, invoice.balance)
        if owed <= 0:
            raise LedgerError(f"Invoice {invoice.number} has nothing left to pay.")
        return payment_record(
            organization=invoice.organization,
            reference=reference,
            amount=owed,
            currency=invoice.currency,
            received_at=received_at,
            method=method,
            customer=invoice.customer,
            allocations=[AllocationRequest(invoice=invoice, amount=owed)],
            memo=memo or f"Plan installment {installment.sequence}",
            actor=actor,
        )


# --- the daily check ---------------------------------------------------------------------------


def plans_check(*, now: dt.datetime | None = None) -> int:
    """The `commitments.plans_check` job: installments whose date has passed unpaid become
    missed (each on the timeline), their plan defaults when one is `DEFAULT_AFTER_DAYS` late or
    `DEFAULT_AFTER_MISSED` are, and the invoice goes back to its cadence with the tailored
    follow-up. Reads by the installments' (status, due_on) index. Returns installments marked."""
    now = now or timezone.now()
    horizon = (now + dt.timedelta(hours=14)).date()
    marked = 0
    last_pk = 0
    while True:
        batch = list(
            PlanInstallment.objects.filter(
                status=PlanInstallment.Status.PENDING,
                due_on__lt=horizon,
                pk__gt=last_pk,
                plan__status__in=ACCEPTED,
            )
            .select_related("plan__organization")
            .order_by("pk")[:PLAN_CHECK_BATCH]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        for installment in batch:
            if installment.due_on >= _today(installment.plan.organization, now):
                continue
            marked += _installment_missed(installment, now)
    # Plans with a missed installment that has now been late long enough default.
    for plan in PaymentPlan.objects.filter(
        status__in=(PaymentPlan.Status.APPROVED, PaymentPlan.Status.ACTIVE),
        installments__status=PlanInstallment.Status.MISSED,
        installments__due_on__lt=horizon - dt.timedelta(days=DEFAULT_AFTER_DAYS),
    ).distinct():
        _default_if_due(plan, now)
    return marked


@transaction.atomic
def _installment_missed(installment: PlanInstallment, now: dt.datetime) -> int:
    plan, invoice = _locked(installment.plan)
    installment = PlanInstallment.objects.select_for_update().get(pk=installment.pk)
    if installment.status != PlanInstallment.Status.PENDING or plan.status not in ACCEPTED:
        return 0
    installment.status = PlanInstallment.Status.MISSED
    installment.save(update_fields=["status"])
    _event(
        plan,
        invoice,
        "installment_missed",
        None,
        installment=installment.sequence,
        due_on=str(installment.due_on),
        amount=str(installment.amount),
        paid=str(installment.paid_amount),
    )
    _default_locked(plan, invoice, now)
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="plan_missed")
    return 1


@transaction.atomic
def _default_if_due(plan: PaymentPlan, now: dt.datetime) -> None:
    plan, invoice = _locked(plan)
    if _default_locked(plan, invoice, now) and invoice.is_open:
        cadence_notify(invoice=invoice, change="plan_missed")


def _default_locked(plan: PaymentPlan, invoice: Invoice, now: dt.datetime) -> bool:
    """Default the plan if its missed installments call for it. The caller holds the locks."""
    if plan.status not in (PaymentPlan.Status.APPROVED, PaymentPlan.Status.ACTIVE):
        return False
    today = _today(invoice.organization, now)
    missed = list(plan.installments.filter(status=PlanInstallment.Status.MISSED))
    late_enough = any((today - i.due_on).days >= DEFAULT_AFTER_DAYS for i in missed)
    if not (late_enough or len(missed) >= DEFAULT_AFTER_MISSED):
        return False
    plan.check_transition(PaymentPlan.Status.DEFAULTED)
    plan.status = PaymentPlan.Status.DEFAULTED
    plan.save(update_fields=["status"])
    _event(
        plan,
        invoice,
        "plan_defaulted",
        None,
        missed=len(missed),
        reason=(
            f"{len(missed)} installments missed"
            if len(missed) >= DEFAULT_AFTER_MISSED
            else f"An installment is {DEFAULT_AFTER_DAYS} or more days late"
        ),
    )
    return True
