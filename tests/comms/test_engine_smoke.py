import datetime as dt

from django.core import mail

from plixo.comms.models import CadenceEnrollment, Message
from plixo.comms.services import cadence_tick, message_approve, outbox_send
from tests.comms.conftest import NOON_NY, invoice_due


def test_tick_drafts_then_outbox_sends(personas, customer, contact, live_org, clock):
    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4))
    result = cadence_tick()
    assert result.enrolled >= 1
    message = Message.objects.get(invoice=invoice)
    assert message.status == Message.Status.DRAFT
    assert message.step.offset_days == 3
    assert cadence_tick().drafted == 0
    message_approve(message=message, actor=personas.operator.user)
    counts = outbox_send()
    assert counts["sent"] == 1, counts
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ap@initech.example"]
    assert "/p/" in email.body
    assert "{" not in email.body
    assert CadenceEnrollment.objects.get(invoice=invoice).state == "active"


def test_cancelling_twice_is_refused_and_writes_one_event(personas, customer, contact, clock):
    import pytest

    from plixo.comms.models import CommsError
    from plixo.comms.services import message_cancel

    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4))
    cadence_tick()
    message = Message.objects.get(invoice=invoice)
    message_cancel(message=message, actor=personas.operator.user, reason="Called instead")
    with pytest.raises(CommsError, match="already cancelled"):
        message_cancel(message=message, actor=personas.operator.user, reason="Again")
    message.refresh_from_db()
    assert message.status_reason == "Called instead"
    assert invoice.timeline.filter(kind="email_cancelled").count() == 1


def test_send_now_looks_again_at_a_held_email(personas, customer, contact, live_org, clock):
    from plixo.comms.services import message_send_now

    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4))
    cadence_tick()
    message = Message.objects.get(invoice=invoice)
    # Held by the daily cap this morning; the manager then raises the cap.
    message_approve(message=message, actor=personas.operator.user)
    Message.objects.filter(pk=message.pk).update(
        send_after=NOON_NY + dt.timedelta(hours=20), hold_reason="daily cap reached (1 emails)"
    )
    message = message_send_now(message=message, actor=personas.operator.user)
    assert message.status == Message.Status.SENT
    assert len(mail.outbox) == 1
