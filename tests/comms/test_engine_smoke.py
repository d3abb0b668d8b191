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
