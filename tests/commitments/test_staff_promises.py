"""COMMIT-1, staff side: a new promise supersedes the open one, Mark kept / Mark missed / Send
reminder, the reminders the cadence drafts, and the `commitments.promises_check` job. Each
transition of `Promise.TRANSITIONS` is exercised, allowed and refused."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.commitments.models import InvalidCommitmentTransition, Promise
from plixo.commitments.services import (
    promise_close,
    promise_create,
    promise_mark_kept,
    promise_mark_missed,
    promise_remind,
    promises_check,
)
from plixo.comms.models import CadenceEnrollment, Message
from plixo.comms.services.outbox import _blocked_by_cadence
from plixo.ledger.models import LedgerError, TimelineEvent
from plixo.ledger.services import AllocationRequest, payment_record
from tests.commitments.conftest import TODAY
from tests.factories import ContactFactory

pytestmark = pytest.mark.django_db
State = CadenceEnrollment.State


def _promise(invoice, personas, amount="500.00", days=5, **extra):
    return promise_create(
        invoice=invoice,
        amount=amount,
        promised_on=TODAY + dt.timedelta(days=days),
        actor=personas.operator.user,
        **extra,
    )


def _kinds(invoice):
    return list(TimelineEvent.objects.filter(invoice=invoice).values_list("kind", flat=True))


def test_a_new_promise_supersedes_the_open_one_and_both_stay_on_the_timeline(overdue, personas):
    first = _promise(overdue, personas, days=5)
    second = _promise(overdue, personas, amount="800.00", days=9)
    first.refresh_from_db()
    assert first.status == Promise.Status.SUPERSEDED
    assert first.resolved_at is not None
    assert second.status == Promise.Status.OPEN
    event = TimelineEvent.objects.get(invoice=overdue, kind="promise_superseded")
    assert event.data["promise"] == str(first.public_id)
    assert event.data["by"] == str(second.public_id)
    assert _kinds(overdue).count("promise_made") == 2


def test_a_promise_for_the_rest_stands_beside_the_open_one(overdue, personas):
    first = _promise(overdue, personas, amount="500.00")
    rest = _promise(overdue, personas, amount="750.00", days=20, supersede=False)
    first.refresh_from_db()
    assert first.status == rest.status == Promise.Status.OPEN


def test_mark_kept_by_hand_closes_it_and_the_cadence_resumes(overdue, personas):
    promise = _promise(overdue, personas)
    assert CadenceEnrollment.objects.get(invoice=overdue).state == State.PAUSED
    promise_mark_kept(promise=promise, actor=personas.operator.user, note="Wire seen at the bank")
    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT
    event = TimelineEvent.objects.get(invoice=overdue, kind="promise_kept")
    assert event.data["by_hand"] is True and event.data["note"] == "Wire seen at the bank"
    assert CadenceEnrollment.objects.get(invoice=overdue).state == State.ACTIVE


def test_mark_missed_puts_the_invoice_back_with_its_follow_up(overdue, personas):
    promise = _promise(overdue, personas)
    promise_mark_missed(promise=promise, actor=personas.operator.user)
    promise.refresh_from_db()
    assert promise.status == Promise.Status.MISSED
    assert CadenceEnrollment.objects.get(invoice=overdue).state == State.ACTIVE
    followup = Message.objects.get(invoice=overdue, purpose=f"followup:promise_missed:{promise.pk}")
    assert followup.status == Message.Status.DRAFT
    assert "promise_missed" in _kinds(overdue)


def test_a_missed_promise_paid_late_is_kept(overdue, personas):
    promise = _promise(overdue, personas, amount="1250.00")
    promise_mark_missed(promise=promise, actor=personas.operator.user)
    payment_record(
        organization=personas.org,
        reference="LATE-1",
        amount=Decimal("1250.00"),
        currency="USD",
        customer=overdue.customer,
        allocations=[AllocationRequest(invoice=overdue, amount=Decimal("1250.00"))],
    )
    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT


@pytest.mark.parametrize(
    ("start", "wanted", "allowed"),
    [
        ("open", "kept", True),
        ("open", "missed", True),
        ("open", "superseded", True),
        ("open", "cancelled", True),
        ("missed", "kept", True),
        ("missed", "cancelled", True),
        ("missed", "superseded", False),
        ("kept", "missed", False),
        ("kept", "superseded", False),
        ("superseded", "kept", False),
        ("superseded", "missed", False),
        ("cancelled", "kept", False),
    ],
)
def test_the_promise_state_table(overdue, personas, start, wanted, allowed):
    promise = _promise(overdue, personas)
    Promise.objects.filter(pk=promise.pk).update(status=start)
    promise.refresh_from_db()
    if allowed:
        promise_close(promise=promise, status=wanted, invoice=overdue)
        assert Promise.objects.get(pk=promise.pk).status == wanted
    else:
        with pytest.raises(InvalidCommitmentTransition):
            promise_close(promise=promise, status=wanted, invoice=overdue)


def test_staff_actions_refuse_a_closed_promise(overdue, personas):
    first = _promise(overdue, personas)
    _promise(overdue, personas, days=8)  # supersedes the first
    with pytest.raises(LedgerError, match="superseded cannot become kept"):
        promise_mark_kept(promise=first, actor=personas.operator.user)
    with pytest.raises(LedgerError, match="only an open promise"):
        promise_remind(promise=first, actor=personas.operator.user)


def test_notes_with_control_characters_are_refused(overdue, personas):
    promise = _promise(overdue, personas)
    with pytest.raises(LedgerError, match="control character"):
        promise_mark_kept(promise=promise, actor=personas.operator.user, note="ok\x00")
    assert Promise.objects.get(pk=promise.pk).status == Promise.Status.OPEN


def test_send_reminder_queues_it_through_the_outbox_while_the_promise_pauses(overdue, personas):
    promise = _promise(overdue, personas)
    message = promise_remind(promise=promise, actor=personas.operator.user)
    assert message.status == Message.Status.QUEUED
    assert message.approved_by == personas.operator.user
    assert message.purpose.startswith(f"followup:promise_reminder:{promise.pk}:manual:")
    assert "$500.00" in message.body and "March 8, 2026" in message.body
    overdue.refresh_from_db()
    # The promise's pause lets its reminder through and still holds the cadence's own steps.
    assert _blocked_by_cadence(overdue, message.purpose) == ""
    assert _blocked_by_cadence(overdue, "step:1:20260227").startswith("Cadence paused")
    # Twice by hand is two reminders (a second click a moment later is a new email).
    assert "email_queued" in _kinds(overdue)


def test_a_reminder_needs_a_contact_with_an_address(personas, customer, clock, sending):
    from tests.commitments.conftest import invoice_due

    invoice = invoice_due(customer, TODAY - dt.timedelta(days=1))
    promise = _promise(invoice, personas)
    with pytest.raises(LedgerError, match="no contact with an email address"):
        promise_remind(promise=promise, actor=personas.operator.user)
    assert not Message.objects.filter(invoice=invoice, purpose__contains="reminder").exists()


def test_a_reminder_for_a_promise_no_longer_pending_is_not_sent(overdue, personas):
    promise = _promise(overdue, personas)
    message = promise_remind(promise=promise, actor=personas.operator.user)
    promise_mark_missed(promise=promise, actor=personas.operator.user)
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED  # withdrawn with the missed promise
    assert _blocked_by_cadence(overdue, message.purpose) == "The promise is no longer pending"


def test_the_check_marks_past_promises_missed_in_the_organizations_time_zone(
    overdue, personas, clock
):
    promise = _promise(overdue, personas, days=1)  # Wednesday 2026-03-04
    # Thursday 01:00 UTC is still Wednesday evening in New York: not missed yet.
    clock.move_to(dt.datetime(2026, 3, 5, 1, 0, tzinfo=dt.UTC))
    assert promises_check() == 0
    clock.move_to(dt.datetime(2026, 3, 5, 6, 0, tzinfo=dt.UTC))  # Thursday 01:00 New York
    assert promises_check() == 1
    promise.refresh_from_db()
    assert promise.status == Promise.Status.MISSED
    event = TimelineEvent.objects.get(invoice=overdue, kind="promise_missed")
    assert event.actor_label == "Plixo"
    assert Message.objects.filter(purpose=f"followup:promise_missed:{promise.pk}").count() == 1
    assert promises_check() == 0  # once


def test_the_check_leaves_kept_promises_alone(overdue, personas, clock):
    promise = _promise(overdue, personas, amount="1250.00", days=1)
    payment_record(
        organization=personas.org,
        reference="ON-TIME",
        amount=Decimal("1250.00"),
        currency="USD",
        customer=overdue.customer,
        allocations=[AllocationRequest(invoice=overdue, amount=Decimal("1250.00"))],
    )
    clock.move_to(dt.datetime(2026, 3, 6, 12, 0, tzinfo=dt.UTC))
    assert promises_check() == 0
    assert Promise.objects.get(pk=promise.pk).status == Promise.Status.KEPT


def test_the_promise_contact_must_belong_to_the_invoice_customer(overdue, personas):
    from tests.factories import CustomerFactory

    stranger = ContactFactory(customer=CustomerFactory(organization=personas.org))
    with pytest.raises(LedgerError, match="does not belong"):
        _promise(overdue, personas, contact=stranger)
