"""BEYOND-3: an organization not yet live sends every email to its test address, marked as a
test; the payer gets nothing until a Controller switches it live."""

from django.core import mail

from plixo.comms.models import Message
from plixo.comms.services import outbox_send
from tests.comms.outbox_helpers import approved, events


def test_in_test_mode_the_email_goes_to_the_test_address_marked_as_a_test(
    personas, customer, contact, sending, clock
):
    assert not personas.org.is_live
    message = approved(customer, actor=personas.operator.user)
    assert outbox_send()["sent"] == 1
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ar-test@acme.example"]
    assert "ap@initech.example" not in email.to + email.cc + email.bcc
    assert email.subject.startswith("[TEST] ")
    assert email.body.splitlines()[0].startswith(
        "[Test mode] This email would have gone to ap@initech.example."
    )
    assert email.extra_headers["X-Plixo-Test"] == "1"
    message.refresh_from_db()
    assert message.is_test and message.to_email == "ar-test@acme.example"
    assert message.intended_email == "ap@initech.example"
    sent = events(message, "email_sent")[0]
    assert sent.data["test_mode"] is True and sent.data["intended_for"] == "ap@initech.example"


def test_live_the_payer_gets_the_email_unmarked(personas, customer, contact, live_org, clock):
    message = approved(customer, actor=personas.operator.user)
    assert outbox_send()["sent"] == 1
    email = mail.outbox[0]
    assert email.to == ["ap@initech.example"]
    assert not email.subject.startswith("[TEST]")
    assert "[Test mode]" not in email.body
    assert "X-Plixo-Test" not in email.extra_headers
    message.refresh_from_db()
    assert not message.is_test


def test_test_mode_without_a_test_address_holds_with_the_reason(
    personas, customer, contact, sending, clock
):
    sending.test_address = ""
    sending.save()
    message = approved(customer, actor=personas.operator.user)
    assert outbox_send()["held"] == 1
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert message.hold_reason == "test mode and no test address set in the sending settings"
    assert len(events(message, "email_held")) == 1
