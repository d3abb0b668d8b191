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
