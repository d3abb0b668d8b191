"""COMMIT-2, COMMIT-4, COMMIT-6, staff side: create (and prefill), accept, counter, decline,
cancel, complete, mark an installment paid, and the `commitments.plans_check` job; the payer is
told by email, the cadence follows, every step is on the timeline."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.commitments.models import (
    CommitmentSource,
    InvalidCommitmentTransition,
    PaymentPlan,
    PlanInstallment,
    Promise,
)
from plixo.commitments.selectors import plan_inspection
from plixo.commitments.services import (
    plan_accept,
    plan_cancel,
    plan_complete,
    plan_counter,
    plan_create,
    plan_decline,
    plan_installment_pay,
    plan_propose,
    plan_resend,
    plans_check,
    promise_create,
)
from plixo.comms.models import CadenceEnrollment, Message
from plixo.ledger.models import LedgerError, TimelineEvent
from plixo.ledger.services import AllocationRequest, payment_record
from tests.commitments.conftest import TODAY

pytestmark = pytest.mark.django_db
State = CadenceEnrollment.State
D = Decimal


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


SCHEDULE = [(day(2), D("400.00")), (day(32), D("400.00")), (day(62), D("450.00"))]


def _create(invoice, personas, schedule=SCHEDULE, **extra) -> PaymentPlan:
    return plan_create(
        invoice=invoice,
        installments=schedule,
        reason="Renewal pending",
        actor=personas.operator.user,
        **extra,
    )


def _proposal(invoice, schedule=SCHEDULE) -> PaymentPlan:
    return plan_propose(
        invoice=invoice,
        installments=schedule,
        reason="Cash flow is tight this quarter",
        source=CommitmentSource.PORTAL,
        actor_label="Peter Gibbons (payer)",
    )


def _pay(personas, invoice, amount: str, reference: str):
    return payment_record(
        organization=personas.org,
        reference=reference,
        amount=D(amount),
        currency="USD",
        customer=invoice.customer,
        allocations=[AllocationRequest(invoice=invoice, amount=D(amount))],
    )


def _notices(invoice, template):
    return Message.objects.filter(invoice=invoice, purpose__startswith=f"notice:{template}:")


def test_staff_create_a_plan_that_is_in_place_at_once(overdue, personas):
    plan = _create(overdue, personas)
    assert plan.status == PaymentPlan.Status.APPROVED
    assert plan.decided_by == personas.operator.user
    assert CadenceEnrollment.objects.get(invoice=overdue).state == State.PAUSED
    notice = _notices(overdue, "plan_accepted").get()
    assert notice.status == Message.Status.QUEUED
    assert "$400.00" in notice.body and "$450.00" in notice.body
    kinds = set(TimelineEvent.objects.filter(invoice=overdue).values_list("kind", flat=True))
    assert {"plan_proposed", "plan_accepted", "email_queued"} <= kinds


def test_prefilled_from_a_promise_the_plan_supersedes_it(overdue, personas):
    promise = promise_create(
        invoice=overdue, amount="400.00", promised_on=day(2), actor=personas.operator.user
    )
    plan = _create(overdue, personas, from_promise=promise)
    promise.refresh_from_db()
    assert promise.status == Promise.Status.SUPERSEDED
    event = TimelineEvent.objects.get(invoice=overdue, kind="promise_superseded")
    assert event.data["plan"] == str(plan.public_id)


def test_accepting_a_portal_proposal_tells_the_payer(overdue, personas):
    plan = _proposal(overdue)
    plan_accept(plan=plan, actor=personas.operator.user, note="Thanks for reaching out")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.APPROVED
    assert plan.decision_note == "Thanks for reaching out"
    assert "Thanks for reaching out" in _notices(overdue, "plan_accepted").get().body


def test_one_accepted_plan_per_invoice(overdue, personas):
    _create(overdue, personas, schedule=[(day(2), D("100.00")), (day(9), D("100.00"))])
    second = _proposal(overdue, [(day(3), D("100.00")), (day(10), D("100.00"))])
    with pytest.raises(LedgerError, match="already has an accepted payment plan"):
        plan_accept(plan=second, actor=personas.operator.user)
    assert PaymentPlan.objects.get(pk=second.pk).status == PaymentPlan.Status.PROPOSED


def test_a_proposal_whose_first_date_passed_is_countered_not_accepted(overdue, personas, clock):
    plan = _proposal(overdue)
    clock.move_to(dt.datetime(2026, 3, 7, 15, 0, tzinfo=dt.UTC))
    with pytest.raises(LedgerError, match="has passed; counter"):
        plan_accept(plan=plan, actor=personas.operator.user)


def test_declining_needs_a_reason_and_sends_the_invoice_back(overdue, personas):
    plan = _proposal(overdue)
    with pytest.raises(LedgerError, match="reason for declining is required"):
        plan_decline(plan=plan, actor=personas.operator.user, note="  ")
    plan_decline(plan=plan, actor=personas.operator.user, note="We need the first half now")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.REJECTED and plan.closed_at is not None
    assert CadenceEnrollment.objects.get(invoice=overdue).state == State.ACTIVE
    assert "We need the first half now" in _notices(overdue, "plan_declined").get().body


def test_a_counter_offer_declines_the_proposal_and_sends_another_schedule(overdue, personas):
    proposal = _proposal(overdue)
    counter = plan_counter(
        plan=proposal,
        installments=[(day(2), D("625.00")), (day(16), D("625.00"))],
        actor=personas.operator.user,
        note="Two payments two weeks apart",
    )
    proposal.refresh_from_db()
    assert proposal.status == PaymentPlan.Status.REJECTED
    assert counter.status == PaymentPlan.Status.APPROVED
    assert counter.counter_to == proposal
    assert _notices(overdue, "plan_countered").count() == 1
    assert not _notices(overdue, "plan_declined").exists()


def test_installments_advance_with_payments_and_the_last_one_completes_the_plan(overdue, personas):
    plan = _create(overdue, personas)
    payment = plan_installment_pay(
        installment=plan.installments.get(sequence=1),
        actor=personas.operator.user,
        reference="CHK-1001",
        received_at=dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC),
        method="check",
    )
    assert payment.amount == D("400.00")
    first = plan.installments.get(sequence=1)
    assert first.status == PlanInstallment.Status.PAID and first.paid_on == TODAY
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE
    with pytest.raises(LedgerError, match="earliest unpaid installment first"):
        plan_installment_pay(
            installment=plan.installments.get(sequence=3),
            actor=personas.operator.user,
            reference="CHK-X",
            received_at=dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC),
            method="check",
        )
    with pytest.raises(LedgerError, match="2 installments still unpaid"):
        plan_complete(plan=plan, actor=personas.operator.user)
    _pay(personas, overdue, "850.00", "WIRE-REST")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.COMPLETED and plan.closed_at is not None


def test_a_missed_installment_flags_the_plan_then_defaults_it(overdue, personas, clock):
    plan = _create(overdue, personas)
    clock.move_to(dt.datetime(2026, 3, 6, 15, 0, tzinfo=dt.UTC))  # day 3: installment 1 late
    assert plans_check() == 1
    first = plan.installments.get(sequence=1)
    assert first.status == PlanInstallment.Status.MISSED
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.APPROVED  # flagged, not yet defaulted
    assert TimelineEvent.objects.filter(invoice=overdue, kind="installment_missed").count() == 1
    assert Message.objects.filter(
        invoice=overdue, purpose__startswith="followup:plan_missed"
    ).exists()
    inspection = plan_inspection(plan=plan, today=dt.date(2026, 3, 6))
    assert inspection.rows[0].state == "missed"
    assert inspection.adherence == 0
    assert plans_check() == 0  # once
    clock.move_to(dt.datetime(2026, 3, 13, 15, 0, tzinfo=dt.UTC))  # 8 days late
    plans_check()
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.DEFAULTED
    assert TimelineEvent.objects.filter(invoice=overdue, kind="plan_defaulted").count() == 1
    # The payer catches up: the plan is active again; paying it off completes it.
    _pay(personas, overdue, "400.00", "CATCH-UP")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE
    assert plan.installments.get(sequence=1).paid_on == dt.date(2026, 3, 13)
    assert plan_inspection(plan=plan, today=dt.date(2026, 3, 13)).rows[0].state == "paid_late"


def test_a_defaulted_plan_paid_off_completes(overdue, personas):
    plan = _create(overdue, personas)
    PaymentPlan.objects.filter(pk=plan.pk).update(status=PaymentPlan.Status.DEFAULTED)
    _pay(personas, overdue, "1250.00", "PAID-OFF")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.COMPLETED


def test_cancel_needs_a_reason_and_resumes_the_cadence(overdue, personas):
    plan = _create(overdue, personas)
    plan_cancel(plan=plan, actor=personas.operator.user, note="Customer asked to pay in full")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.CANCELLED
    assert CadenceEnrollment.objects.get(invoice=overdue).state == State.ACTIVE
    with pytest.raises(LedgerError, match="nothing to cancel"):
        plan_cancel(plan=plan, actor=personas.operator.user, note="again")


def test_resend_sends_the_schedule_with_a_fresh_link(overdue, personas):
    plan = _create(overdue, personas)
    message = plan_resend(plan=plan, actor=personas.operator.user)
    assert message.purpose.startswith(f"notice:plan_link:{plan.pk}:")
    assert "{pay_link}" in message.body  # filled in, fresh, when it is sent


@pytest.mark.parametrize(
    ("start", "wanted", "allowed"),
    [
        ("proposed", "approved", True),
        ("proposed", "pending_approval", True),
        ("proposed", "rejected", True),
        ("proposed", "active", False),
        ("pending_approval", "approved", True),
        ("pending_approval", "active", False),
        ("approved", "active", True),
        ("approved", "defaulted", True),
        ("approved", "rejected", False),
        ("active", "completed", True),
        ("active", "defaulted", True),
        ("active", "proposed", False),
        ("defaulted", "active", True),
        ("defaulted", "completed", True),
        ("completed", "active", False),
        ("rejected", "approved", False),
        ("cancelled", "active", False),
    ],
)
def test_the_plan_state_table(overdue, start, wanted, allowed):
    plan = _proposal(overdue)
    plan.status = start
    if allowed:
        plan.check_transition(wanted)
    else:
        with pytest.raises(InvalidCommitmentTransition):
            plan.check_transition(wanted)


def test_installments_are_validated_to_the_minor_unit(overdue, personas):
    with pytest.raises(LedgerError, match="decimal places|minor unit|more decimals"):
        _create(overdue, personas, schedule=[(day(2), "100.005"), (day(9), "100")])
    assert not PaymentPlan.objects.exists()
