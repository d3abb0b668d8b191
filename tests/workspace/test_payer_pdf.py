"""A one-off email written in the inspector with "Attach the invoice PDF" ticked goes out
through the outbox with the invoice PDF; without the tick it goes without."""

import datetime as dt

import pytest
from django.core import mail

from plixo.comms.models import Message
from plixo.comms.services.outbox import message_deliver
from plixo.workspace.services import payer_message_send
from tests.comms.conftest import NOON_NY, clock, live_org, sending  # noqa: F401 (fixtures)
from tests.workspace.conftest import make_invoice

BODY = "Hello {contact_name},\n\nInvoice {invoice_number} is attached.\n\n{pay_link}"


@pytest.fixture
def invoice(account):
    account.time_zone = "America/New_York"
    account.save(update_fields=["time_zone"])
    return make_invoice(account, days_overdue=12, amount="4800.00")


@pytest.mark.parametrize("attach", [True, False])
def test_the_one_off_email_carries_the_invoice_pdf_when_ticked(
    live_org,  # noqa: F811
    clock,  # noqa: F811
    operator,
    invoice,
    attach,
):
    message = payer_message_send(
        invoice=invoice,
        subject="Invoice {invoice_number}",
        body=BODY,
        actor=operator.user,
        attach_pdf=attach,
        now=NOON_NY - dt.timedelta(minutes=1),
    )
    assert message.purpose.startswith("notice:oneoff-pdf:") is attach

    assert message_deliver(message_id=message.pk, now=NOON_NY) == "sent"

    message.refresh_from_db()
    assert message.status == Message.Status.SENT
    (email,) = mail.outbox
    assert email.subject == f"Invoice {invoice.number}"
    pdfs = [a for a in email.attachments if a[2] == "application/pdf"]
    if attach:
        (name, content, _) = pdfs[0]
        assert len(pdfs) == 1
        assert invoice.number in name and name.endswith(".pdf")
        assert content.startswith(b"%PDF")
    else:
        assert pdfs == []


def test_a_revised_invoice_pdf_goes_instead_of_the_rendered_one(
    live_org,  # noqa: F811
    clock,  # noqa: F811
    operator,
    invoice,
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.factories import MINIMAL_PDF

    upload = SimpleUploadedFile("INV corrected.pdf", MINIMAL_PDF, content_type="application/pdf")
    message = payer_message_send(
        invoice=invoice,
        subject="Corrected invoice {invoice_number}",
        body=BODY,
        actor=operator.user,
        attach_pdf=True,
        revised_pdf=upload,
        now=NOON_NY - dt.timedelta(minutes=1),
    )
    # The revised document replaces the one Plixo would render: one PDF, the uploaded one.
    assert not message.purpose.startswith("notice:oneoff-pdf:")
    assert message.attachments.get().original_name == "INV corrected.pdf"

    assert message_deliver(message_id=message.pk, now=NOON_NY) == "sent"

    (email,) = mail.outbox
    pdfs = [a for a in email.attachments if a[2] == "application/pdf"]
    assert pdfs == [("INV corrected.pdf", MINIMAL_PDF, "application/pdf")]


def test_a_revised_invoice_that_is_not_a_pdf_is_refused_and_nothing_is_queued(operator, invoice):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from plixo.comms.models import MessageAttachment
    from plixo.workspace.models import WorkspaceError
    from tests.disputes.files import PNG

    upload = SimpleUploadedFile("revised.pdf", PNG, content_type="application/pdf")
    with pytest.raises(WorkspaceError, match="not a PDF|not a genuine"):
        payer_message_send(
            invoice=invoice, subject="Hi", body=BODY, actor=operator.user, revised_pdf=upload
        )
    assert not Message.objects.filter(invoice=invoice).exists()
    assert not MessageAttachment.objects.exists()


def test_the_inspector_takes_a_revised_pdf_and_the_timeline_names_it(personas, invoice):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from plixo.core.models import Role
    from tests.factories import MINIMAL_PDF

    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("workspace:write", kwargs={"invoice_id": invoice.public_id})
    response = client.post(
        url,
        {
            "write-subject": "Corrected invoice {invoice_number}",
            "write-body": BODY,
            "write-revised_pdf": SimpleUploadedFile(
                "credit-adjusted.pdf", MINIMAL_PDF, content_type="application/pdf"
            ),
        },
    )
    assert response.status_code == 302
    message = Message.objects.get(invoice=invoice)
    assert message.attachments.get().size == len(MINIMAL_PDF)
    page = client.get(reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id}))
    assert "credit-adjusted.pdf (a revised invoice)" in page.content.decode()
