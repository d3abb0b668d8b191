"""The attachment download (R8: only through an authorised view, as a download) and the staff
invoice page showing promises, plans and disputes."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from plixo.commitments.services import plan_propose, promise_create
from plixo.core.models import Role
from plixo.disputes.services import dispute_file
from tests.disputes import files
from tests.disputes.files import upload
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db


def _dispute(org, owner=None, number="INV-V1"):
    invoice = InvoiceFactory(
        customer=CustomerFactory(organization=org, owner=owner),
        amount=Decimal("500.00"),
        number=number,
    )
    dispute = dispute_file(
        invoice=invoice,
        reason_code="not_received",
        amount="500.00",
        description="Pallets never arrived.",
        attachments=[upload('../proof "final".pdf', files.PDF)],
        source="portal",
        actor_label="Dana Ap (payer, portal)",
    )
    return invoice, dispute, dispute.attachments.get()


def _url(attachment):
    return reverse("disputes:attachment-download", kwargs={"attachment_id": attachment.public_id})


@pytest.mark.parametrize("role", [Role.CONTROLLER, Role.AR_OPERATOR, Role.LEGAL])
def test_staff_download_the_file_as_an_attachment(personas, role):
    _, _, attachment = _dispute(personas.org)
    response = personas.client_for(role).get(_url(attachment))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == files.PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert 'filename="proof _final_.pdf"' in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "no-store" in response["Cache-Control"]


def test_sales_download_only_on_accounts_they_own(personas):
    sales = personas.members[Role.SALES].user
    _, _, own = _dispute(personas.org, owner=sales, number="INV-OWN")
    _, _, other = _dispute(personas.org, owner=personas.controller.user, number="INV-OTHER")
    client = personas.client_for(Role.SALES)
    assert client.get(_url(own)).status_code == 200
    assert client.get(_url(other)).status_code == 404


def test_another_organizations_attachment_is_404(personas):
    _, _, foreign = _dispute(personas.other_org)
    assert personas.client_for(Role.CONTROLLER).get(_url(foreign)).status_code == 404


def test_anonymous_visitors_are_sent_to_login(personas, client):
    _, _, attachment = _dispute(personas.org)
    response = client.get(_url(attachment))
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_file_missing_from_storage_is_a_clean_404(personas):
    _, _, attachment = _dispute(personas.org)
    default_storage.delete(attachment.file.name)
    assert personas.client_for(Role.CONTROLLER).get(_url(attachment)).status_code == 404


def test_invoice_page_shows_promises_plans_and_disputes_with_links(personas):
    invoice, dispute, attachment = _dispute(personas.org)
    other = InvoiceFactory(customer=invoice.customer, number="INV-V2", amount=Decimal("900.00"))
    today = timezone.now().date()
    promise = promise_create(
        invoice=other, amount="250.00", promised_on=today + dt.timedelta(days=5), note="Via wire"
    )
    plan = plan_propose(
        invoice=other,
        installments=[
            (today + dt.timedelta(days=3), "300.00"),
            (today + dt.timedelta(days=33), "300.00"),
        ],
        reason="Waiting for a customer of theirs",
        actor_label="Dana Ap (payer, portal)",
        source="portal",
    )
    client = personas.client_for(Role.AR_OPERATOR)

    page = client.get(reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id}))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Promises, plans and disputes" in html
    assert f'id="dispute-{dispute.public_id}"' in html
    assert "Goods or services not received" in html
    assert html.count(_url(attachment)) == 2  # the card and the timeline
    assert "proof _final_.pdf" in html
    assert "Dispute filed" in html and f'href="#dispute-{dispute.public_id}"' in html
    assert "through the payer portal" in html

    page = client.get(reverse("ledger:invoice-detail", kwargs={"invoice_id": other.public_id}))
    html = page.content.decode()
    assert f'id="promise-{promise.public_id}"' in html
    assert f'href="#promise-{promise.public_id}"' in html
    assert "Promise to pay $250.00 on" in html and "Via wire" in html
    assert f'id="plan-{plan.public_id}"' in html
    assert "Plan of 2 installments for $600.00" in html
    assert "Waiting for a customer of theirs" in html
    assert "Dana Ap (payer, portal)" in html


def test_invoice_page_without_commitments_says_so(personas):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=personas.org))
    page = personas.client_for(Role.CONTROLLER).get(
        reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})
    )
    assert "No promises, plans or disputes on this invoice." in page.content.decode()
