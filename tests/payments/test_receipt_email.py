"""Receipt emails: queued when the payment commits, HTML + text with the PDF attached, sent to
the paying contact (or the primary one), held while maintenance is on and sent by the job
afterwards, each exactly once."""

from decimal import Decimal
from unittest import mock

from django.core import mail

from plixo.ledger import services as ledger
from plixo.ledger.models import TimelineEvent
from plixo.ops.services import job_execute, maintenance_set
from plixo.payments import tasks
from plixo.payments.models import Receipt
from tests.payments.conftest import pay


def receipt_events(invoice):
    return TimelineEvent.objects.filter(invoice=invoice, kind="receipt_emailed")


def test_the_receipt_is_emailed_when_the_payment_commits(
    invoice, portal_session, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _, payment = pay(invoice, portal_session_ref=str(portal_session.public_id))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ap@harbor.example"]
    assert message.subject == "Receipt R-000001 for invoice INV-1042 from Acme Widgets"
    assert "$1,250.00" in message.body and "paid in full" in message.body
    html, kind = message.alternatives[0]
    assert kind == "text/html" and "R-000001" in html and "$1,250.00" in html
    name, content, mimetype = message.attachments[0]
    assert (name, mimetype) == ("receipt-R-000001.pdf", "application/pdf")
    assert content.startswith(b"%PDF")

    receipt = Receipt.objects.get(payment=payment)
    assert receipt.emailed_at is not None and receipt.emailed_to == "ap@harbor.example"
    event = receipt_events(invoice).get()
    assert event.data["to"] == "ap@harbor.example" and event.data["receipt"] == "R-000001"


def test_nothing_is_sent_before_the_payment_commits(invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        pay(invoice)
    assert mail.outbox == []
    assert len(callbacks) == 1


def test_maintenance_holds_the_receipt_and_the_job_sends_it_afterwards(
    invoice, django_capture_on_commit_callbacks
):
    maintenance_set(enabled=True)
    with django_capture_on_commit_callbacks(execute=True):
        _, payment = pay(invoice)
    receipt = Receipt.objects.get(payment=payment)
    assert mail.outbox == [] and receipt.emailed_at is None
    # The job respects maintenance too.
    assert tasks.receipts_send_pending.call() == 0
    assert mail.outbox == []

    maintenance_set(enabled=False)
    run = job_execute(name="payments.receipts_send_pending")
    assert run.ok and run.job.last_result == "1 receipts emailed"
    assert len(mail.outbox) == 1
    receipt.refresh_from_db()
    assert receipt.emailed_at is not None
    # Sent once: neither the job nor a late task sends it again.
    assert tasks.receipts_send_pending.call() == 0
    assert tasks.receipt_email_send.call(receipt.pk) is False
    assert len(mail.outbox) == 1
    assert receipt_events(invoice).count() == 1


def test_a_suppressed_payer_gets_nothing_and_the_primary_contact_gets_the_receipt(
    invoice, customer, portal_session, django_capture_on_commit_callbacks
):
    other = ledger.contact_create(customer=customer, email="cfo@harbor.example", is_primary=True)
    payer = portal_session.contact
    ledger.contact_suppress(contact=payer, reason="Hard bounce")
    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice, portal_session_ref=str(portal_session.public_id))
    assert [m.to for m in mail.outbox] == [[other.email]]


def test_without_anyone_to_email_the_receipt_stays_pending_with_the_reason(
    invoice, contact, django_capture_on_commit_callbacks
):
    ledger.contact_suppress(contact=contact, reason="Asked not to be emailed")
    with django_capture_on_commit_callbacks(execute=True):
        _, payment = pay(invoice)
    receipt = Receipt.objects.get(payment=payment)
    assert mail.outbox == []
    assert receipt.emailed_at is None
    assert "No contact" in receipt.email_error


def test_a_failed_send_is_released_for_the_next_run(invoice, django_capture_on_commit_callbacks):
    # The queued task fails (the task backend records it); the receipt goes back to pending.
    with (
        mock.patch.object(tasks.EmailMultiAlternatives, "send", side_effect=OSError("SMTP down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        pay(invoice)
    receipt = Receipt.objects.get()
    assert receipt.emailed_at is None and receipt.email_error == "Sending failed: SMTP down"
    assert not receipt_events(invoice).exists()

    assert tasks.receipts_send_pending.call() == 1
    receipt.refresh_from_db()
    assert receipt.emailed_at is not None and receipt.email_error == ""


def test_a_partial_payment_email_says_what_remains(invoice, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice, amount=Decimal("200.00"))
    assert "$1,050.00 remains due on invoice INV-1042" in mail.outbox[0].body


def test_a_receipt_email_survives_line_breaks_in_stored_text(
    invoice, django_capture_on_commit_callbacks
):
    """Text stored before control characters were refused (or written around the services)
    must not stop an email for good: header values are built on one line."""
    from plixo.ledger.models import Invoice

    Invoice.objects.filter(pk=invoice.pk).update(number="INV-1042\r\nBcc: x@evil.example")
    invoice.organization.name = "Acme\nWidgets"
    invoice.organization.save(update_fields=["name"])
    invoice.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        pay(invoice)
    assert len(mail.outbox) == 1
    subject = mail.outbox[0].subject
    assert "\n" not in subject and "\r" not in subject
    assert subject == "Receipt R-000001 for invoice INV-1042 Bcc: x@evil.example from Acme Widgets"
    assert mail.outbox[0].bcc == []
