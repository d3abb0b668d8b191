"""What happens between an email's claim and its hand-off: a second Approve or Send press, a
payment landing meanwhile, a claim taken over after it looked dead, and a re-dated invoice's
unsent reminders."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail
from django.test import override_settings

from plixo.comms.models import CadenceEnrollment, CommsError, Message
from plixo.comms.services import cadence_tick, message_approve, message_send_now, outbox_send
from plixo.comms.services.outbox import message_deliver
from plixo.ledger import services as ledger
from tests.comms.conftest import NOON_NY, invoice_due
from tests.comms.outbox_helpers import approved, events

PAYMENT_DURING_SEND = {}


def pay_in_full_after_claim(message):
    """Stands in for a payment recorded by another request between the claim and the send."""
    invoice = message.invoice
    ledger.payment_record(
        organization=invoice.organization,
        reference=f"WIRE-{invoice.number}",
        amount=invoice.balance,
        currency=invoice.currency,
        allocations=[ledger.AllocationRequest(invoice=invoice, amount=invoice.balance)],
    )
    PAYMENT_DURING_SEND["paid"] = invoice.pk


def take_the_claim_over(message):
    """Stands in for another worker that found this claim stale and claimed it itself."""
    Message.objects.filter(pk=message.pk).update(claimed_by="other-host:4242")


def test_a_second_approve_or_send_of_an_email_being_sent_sends_nothing_more(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    Message.objects.filter(pk=message.pk).update(
        status=Message.Status.SENDING, claimed_by="worker-1", claimed_at=NOON_NY
    )
    again = message_approve(message=message, actor=personas.operator.user)
    assert again.status == Message.Status.SENDING
    again = message_send_now(message=message, actor=personas.operator.user)
    assert again.status == Message.Status.SENDING
    assert outbox_send() == {**outbox_send(), "sent": 0}
    assert mail.outbox == []


def test_a_sent_email_is_never_sent_again_and_a_failed_one_is_retried_not_approved(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    assert outbox_send()["sent"] == 1
    message.refresh_from_db()
    with pytest.raises(CommsError, match="already sent"):
        message_send_now(message=message, actor=personas.operator.user)
    Message.objects.filter(pk=message.pk).update(status=Message.Status.FAILED)
    with pytest.raises(CommsError, match="Retry"):
        message_approve(message=message, actor=personas.operator.user)
    assert len(mail.outbox) == 1


@override_settings(COMMS_OUTBOX_AFTER_CLAIM="tests.comms.test_send_races.pay_in_full_after_claim")
def test_an_invoice_paid_between_claim_and_send_gets_no_email(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    assert message_deliver(message_id=message.pk) == "cancelled"
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert message.send_started_at is None
    assert events(message, "email_sent") == []


@override_settings(COMMS_OUTBOX_AFTER_CLAIM="tests.comms.test_send_races.take_the_claim_over")
def test_a_claim_taken_over_by_another_worker_is_left_to_it(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    assert message_deliver(message_id=message.pk, worker="slow-host:1") == "skipped"
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == Message.Status.SENDING
    assert message.claimed_by == "other-host:4242"
    assert message.send_started_at is None


def test_a_new_due_date_cancels_the_unsent_reminders_and_restarts_the_schedule(
    personas, customer, contact, live_org, clock
):
    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4))
    cadence_tick()
    draft = Message.objects.get(invoice=invoice)
    assert draft.step.offset_days == 3  # "now past due"

    # The customer was given 30 more days.
    ledger.invoice_update(
        invoice=invoice,
        actor=personas.operator.user,
        due_date=invoice.due_date + dt.timedelta(days=30),
    )
    draft.refresh_from_db()
    assert draft.status == Message.Status.CANCELLED
    assert draft.status_reason == "Due date changed"
    enrollment = CadenceEnrollment.objects.get(invoice=invoice)
    invoice.refresh_from_db()
    # Under the new date the next step is the "due in 3 days" one, 23 days from now.
    assert enrollment.state == CadenceEnrollment.State.ACTIVE
    assert enrollment.next_action_at.date() == invoice.due_date - dt.timedelta(days=3)
    assert cadence_tick().drafted == 0

    # On its day the +3 step is drafted again, for the new schedule.
    later = dt.datetime.combine(
        invoice.due_date + dt.timedelta(days=3), dt.time(15, 0), tzinfo=dt.UTC
    )
    cadence_tick(now=later - dt.timedelta(days=6))  # the −3 step
    assert cadence_tick(now=later).drafted == 1
    redrafted = Message.objects.filter(invoice=invoice, status=Message.Status.DRAFT).get(
        step__offset_days=3
    )
    assert redrafted.purpose != draft.purpose
    assert Decimal(invoice.balance) > 0
