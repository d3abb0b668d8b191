"""COMMS-7: payments, promises, plans, disputes, voids and write-offs pause or stop the cadence and
cancel unsent drafts; missed promises and plan installments and resolved disputes re-enter it
with a tailored follow-up; each change is on the timeline, in the same transaction."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from plixo.commitments.services import plan_propose, promise_create, promises_check
from plixo.comms.models import CadenceEnrollment, Message
from plixo.comms.services import cadence_tick
from plixo.disputes.services import dispute_file
from plixo.ledger.models import TimelineEvent
from plixo.ledger.services import (
    AllocationRequest,
    invoice_dispute_close,
    invoice_dispute_open,
    invoice_void,
    invoice_write_off,
    payment_record,
)
from tests.comms.conftest import NOON_NY, invoice_due

State = CadenceEnrollment.State
TODAY = NOON_NY.date()


@pytest.fixture
def drafted(personas, customer, contact, sending, clock):
    """An invoice four days overdue with its +3 reminder drafted."""
    invoice = invoice_due(customer, TODAY - dt.timedelta(days=4))
    cadence_tick()
    assert Message.objects.get(invoice=invoice).status == Message.Status.DRAFT
    return invoice


def _kinds(invoice) -> list[str]:
    return list(
        TimelineEvent.objects.filter(invoice=invoice)
        .order_by("at", "pk")
        .values_list("kind", flat=True)
    )


def _enrollment(invoice) -> CadenceEnrollment:
    return CadenceEnrollment.objects.get(invoice=invoice)


def _pay(personas, invoice, amount):
    return payment_record(
        organization=personas.org,
        reference=f"WIRE-{amount}",
        amount=Decimal(amount),
        currency="USD",
        customer=invoice.customer,
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal(amount))],
        actor=personas.operator.user,
    )


def test_a_payment_in_full_stops_the_cadence_and_cancels_drafts(personas, drafted):
    _pay(personas, drafted, "1250.00")
    assert Message.objects.get(invoice=drafted).status == Message.Status.CANCELLED
    enrollment = _enrollment(drafted)
    assert enrollment.state == State.STOPPED
    assert enrollment.next_action_at is None
    kinds = _kinds(drafted)
    assert "email_cancelled" in kinds and "cadence_stopped" in kinds
    cancelled = TimelineEvent.objects.get(invoice=drafted, kind="email_cancelled")
    assert cancelled.data == {"count": 1, "reason": "Payment received"}
    assert cadence_tick().drafted == 0


def test_a_partial_payment_cancels_unsent_drafts_and_chasing_goes_on(personas, drafted, clock):
    _pay(personas, drafted, "250.00")
    assert Message.objects.get(invoice=drafted).status == Message.Status.CANCELLED
    cancelled = TimelineEvent.objects.get(invoice=drafted, kind="email_cancelled")
    assert cancelled.data["reason"] == "Payment received"
    enrollment = _enrollment(drafted)
    # The balance is still open: the cadence stays active and moves on to its next step (+14),
    # the cancelled +3 reminder is not drafted again.
    assert enrollment.state == State.ACTIVE
    assert cadence_tick().drafted == 0
    clock.move_to(NOON_NY + dt.timedelta(days=10))  # due + 14
    assert cadence_tick().drafted == 1
    live = Message.objects.get(invoice=drafted, status=Message.Status.DRAFT)
    assert live.step.offset_days == 14


def test_a_promise_pauses_until_the_day_after_then_one_tailored_follow_up(personas, drafted, clock):
    promised_on = TODAY + dt.timedelta(days=5)  # Sunday 2026-03-08
    promise = promise_create(
        invoice=drafted,
        amount=Decimal("1250.00"),
        promised_on=promised_on,
        actor=personas.operator.user,
    )
    assert Message.objects.get(invoice=drafted).status == Message.Status.CANCELLED
    enrollment = _enrollment(drafted)
    assert enrollment.state == State.PAUSED
    # Two days before the promise, 06:00 New York (EST): 11:00 UTC, for the first reminder.
    assert enrollment.next_action_at == dt.datetime(2026, 3, 6, 11, 0, tzinfo=dt.UTC)
    assert "cadence_paused" in _kinds(drafted)

    clock.move_to(dt.datetime(2026, 3, 6, 11, 0, tzinfo=dt.UTC))
    assert cadence_tick().drafted == 1
    before = Message.objects.get(invoice=drafted, status=Message.Status.DRAFT)
    assert before.purpose == f"followup:promise_reminder:{promise.pk}:before"
    assert "$1,250.00" in before.body and "March 8, 2026" in before.body
    assert _enrollment(drafted).state == State.PAUSED
    # The promise day itself, 06:00 New York (EDT from 2026-03-08): 10:00 UTC.
    assert _enrollment(drafted).next_action_at == dt.datetime(2026, 3, 8, 10, 0, tzinfo=dt.UTC)
    assert cadence_tick().drafted == 0  # once

    clock.move_to(dt.datetime(2026, 3, 8, 20, 0, tzinfo=dt.UTC))  # the promise day itself
    assert cadence_tick().drafted == 1
    assert Message.objects.filter(
        invoice=drafted, purpose=f"followup:promise_reminder:{promise.pk}:due"
    ).exists()
    # The day after the promise, 06:00 New York: 10:00 UTC.
    assert _enrollment(drafted).next_action_at == dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC)
    clock.move_to(dt.datetime(2026, 3, 9, 10, 0, tzinfo=dt.UTC))
    result = cadence_tick()
    assert result.drafted == 1
    # The promises check marks it missed, which withdraws the unsent reminders and keeps the
    # follow-up the tick drafted (in either order).
    assert promises_check() == 1
    assert not Message.objects.filter(
        invoice=drafted, purpose__startswith="followup:promise_reminder:", status="draft"
    ).exists()
    followup = Message.objects.get(invoice=drafted, status=Message.Status.DRAFT)
    assert followup.kind == Message.Kind.FOLLOWUP
    assert followup.purpose == f"followup:promise_missed:{promise.pk}"
    assert "promised payment" in followup.subject
    assert _enrollment(drafted).state == State.ACTIVE
    assert "cadence_resumed" in _kinds(drafted)
    # Exactly once: the next ticks, that day and the days after, add nothing for the promise.
    assert cadence_tick().drafted == 0
    clock.move_to(dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC))
    cadence_tick()
    missed = Message.objects.filter(invoice=drafted, purpose__startswith="followup:promise_missed")
    assert missed.count() == 1


def test_a_plan_pauses_and_a_missed_installment_brings_a_plan_missed_follow_up(
    personas, drafted, clock
):
    first = TODAY + dt.timedelta(days=5)
    plan = plan_propose(
        invoice=drafted,
        installments=[
            (first, Decimal("625.00")),
            (first + dt.timedelta(days=30), Decimal("625.00")),
        ],
        reason="Cash flow",
        actor=personas.operator.user,
    )
    assert Message.objects.get(invoice=drafted).status == Message.Status.CANCELLED
    assert _enrollment(drafted).state == State.PAUSED
    assert "cadence_paused" in _kinds(drafted)

    clock.move_to(dt.datetime(2026, 3, 8, 20, 0, tzinfo=dt.UTC))  # the installment's day
    assert cadence_tick().drafted == 0
    assert _enrollment(drafted).state == State.PAUSED
    clock.move_to(dt.datetime(2026, 3, 9, 14, 0, tzinfo=dt.UTC))  # a day late, still pending
    assert cadence_tick().drafted == 1
    followup = Message.objects.get(invoice=drafted, status=Message.Status.DRAFT)
    assert followup.purpose == f"followup:plan_missed:{plan.pk}:1"
    assert "installment" in followup.subject
    assert cadence_tick().drafted == 0


@pytest.mark.parametrize("how", ["dispute_file", "invoice_dispute_open"])
def test_a_dispute_pauses_and_closing_it_resumes_with_a_follow_up(personas, drafted, how):
    if how == "dispute_file":
        dispute_file(
            invoice=drafted,
            reason_code="pricing",
            amount=Decimal("1250.00"),
            description="The unit price is not the one we agreed.",
            actor=personas.operator.user,
        )
    else:
        invoice_dispute_open(invoice=drafted, actor=personas.operator.user)
    assert Message.objects.get(invoice=drafted).status == Message.Status.CANCELLED
    enrollment = _enrollment(drafted)
    assert enrollment.state == State.PAUSED
    assert enrollment.reason == "Invoice is disputed"
    assert cadence_tick().drafted == 0

    invoice_dispute_close(invoice=drafted, actor=personas.operator.user)
    enrollment = _enrollment(drafted)
    assert enrollment.state == State.ACTIVE
    followup = Message.objects.get(invoice=drafted, status=Message.Status.DRAFT)
    assert followup.purpose.startswith("followup:dispute_resolved:")
    kinds = _kinds(drafted)
    assert kinds.index("cadence_paused") < kinds.index("cadence_resumed")
    assert cadence_tick().drafted == 0
    assert Message.objects.filter(invoice=drafted, kind=Message.Kind.FOLLOWUP).count() == 1


@pytest.mark.parametrize("close", ["void", "write_off"])
def test_void_and_write_off_stop_the_cadence(personas, drafted, close):
    if close == "void":
        invoice_void(invoice=drafted, actor=personas.controller.user, reason="Issued in error")
    else:
        invoice_write_off(invoice=drafted, actor=personas.controller.user, reason="Uncollectable")
    assert Message.objects.get(invoice=drafted).status == Message.Status.CANCELLED
    assert _enrollment(drafted).state == State.STOPPED
    assert "cadence_stopped" in _kinds(drafted)


def test_cadence_changes_and_their_timeline_roll_back_with_the_payment(personas, drafted):
    before = _kinds(drafted)
    with pytest.raises(RuntimeError), transaction.atomic():
        _pay(personas, drafted, "1250.00")
        assert _enrollment(drafted).state == State.STOPPED
        raise RuntimeError("the request failed after the payment")
    assert _enrollment(drafted).state == State.ACTIVE
    assert Message.objects.get(invoice=drafted).status == Message.Status.DRAFT
    assert _kinds(drafted) == before
