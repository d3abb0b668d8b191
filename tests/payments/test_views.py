"""The sandbox checkout page (payer side) and the staff PDF downloads."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from plixo.core.models import Role
from plixo.ledger.models import InvoiceStatus, Payment, TimelineEvent
from plixo.payments import services as payments
from plixo.payments.models import CheckoutStatus, Receipt
from plixo.payments.providers import provider_for
from plixo.portal.services import portal_link_consume, portal_link_issue
from tests.payments.conftest import pay


def payer_client(portal_session) -> Client:
    client = Client()
    session = client.session
    session["portal_session"] = str(portal_session.public_id)
    session.save()
    return client


@pytest.fixture
def checkout(invoice, portal_session):
    checkout = payments.checkout_create(
        invoice=invoice, amount="1250.00", portal_session_ref=str(portal_session.public_id)
    )
    provider_for(invoice.organization).checkout_start(
        checkout=checkout, success_url="/portal/?paid=1", cancel_url="/portal/"
    )
    checkout.refresh_from_db()
    return checkout


def url(checkout) -> str:
    return reverse("payments:sandbox-checkout", kwargs={"checkout_id": checkout.public_id})


# --- sandbox checkout --------------------------------------------------------------------------


def test_the_sandbox_page_is_clearly_a_test(checkout, portal_session):
    response = payer_client(portal_session).get(url(checkout))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Sandbox" in html and "no real money moves" in html
    assert "Pay $1,250.00" in html and "Simulate decline" in html
    assert "INV-1042" in html and "Acme Widgets" in html
    # Card data never reaches Plixo: the page has no field for it.
    assert "card number" not in html.lower() and 'name="card' not in html


def test_paying_records_the_payment_and_returns_to_the_portal(checkout, invoice, portal_session):
    client = payer_client(portal_session)
    response = client.post(url(checkout), {"action": "pay"})
    assert response.status_code == 302 and response["Location"] == "/portal/?paid=1"
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    payment = Payment.objects.get()
    assert payment.source == "sandbox" and payment.reference.startswith("sbx_pi_")
    assert Receipt.objects.get().payment == payment
    # A second click (back button, double submit) pays nothing more.
    again = client.post(url(checkout), {"action": "pay"})
    assert again.status_code == 302
    assert Payment.objects.count() == 1
    page = client.get(url(checkout))
    assert "This checkout is paid" in page.content.decode()


def test_a_decline_shows_the_reason_and_the_payer_can_retry(checkout, invoice, portal_session):
    client = payer_client(portal_session)
    response = client.post(url(checkout), {"action": "decline", "code": "expired_card"})
    assert response.status_code == 402
    html = response.content.decode()
    # In words for the payer (the code is on the timeline for staff).
    assert "The card has expired. No money moved; try again or use another card." in html
    assert "(code " not in html
    assert "Pay $1,250.00" in html
    event = TimelineEvent.objects.get(invoice=invoice, kind="payment_failed")
    assert event.data["code"] == "expired_card"
    assert event.actor_label == "Dana Lee (payer, portal)"

    response = client.post(url(checkout), {"action": "pay"})
    assert response.status_code == 302
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.COMPLETED


def test_an_unknown_decline_code_is_a_plain_decline(checkout, portal_session):
    client = payer_client(portal_session)
    client.post(url(checkout), {"action": "decline", "code": "<script>"})
    checkout.refresh_from_db()
    assert checkout.failure_code == "card_declined"


def test_cancel_goes_back_and_closes_the_checkout(checkout, portal_session):
    client = payer_client(portal_session)
    response = client.post(url(checkout), {"action": "cancel"})
    assert response.status_code == 302 and response["Location"] == "/portal/"
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.CANCELLED
    response = client.post(url(checkout), {"action": "pay"})
    assert response.status_code == 409
    assert "cancelled" in response.content.decode()
    assert not Payment.objects.exists()


def test_an_unknown_action_is_a_clear_error(checkout, portal_session):
    response = payer_client(portal_session).post(url(checkout), {"action": "steal"})
    assert response.status_code == 400
    assert "Choose Pay or Simulate decline" in response.content.decode()


def test_another_portal_session_cannot_see_the_checkout(checkout, invoice, contact):
    # A newer link for the same invoice opens another session; it does not own this checkout.
    # (Issuing it also revokes the first link, so build the second session's client first.)
    link, _ = portal_link_issue(invoice=invoice, contact=contact)
    other = portal_link_consume(link=link)
    response = payer_client(other).get(url(checkout))
    assert response.status_code == 404
    assert payer_client(other).post(url(checkout), {"action": "pay"}).status_code == 404
    assert not Payment.objects.exists()


def test_without_a_portal_session_the_page_is_closed(checkout, controller_client):
    assert Client().get(url(checkout)).status_code == 403
    # Staff sign-in plays no part in the payer's checkout.
    assert controller_client.get(url(checkout)).status_code == 403


# --- staff PDFs ---------------------------------------------------------------------------------


def test_staff_download_the_invoice_pdf(invoice, operator_client):
    response = operator_client.get(
        reverse("payments:invoice-pdf", kwargs={"invoice_id": invoice.public_id})
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="invoice-INV-1042.pdf"'
    assert response.content.startswith(b"%PDF")


def test_staff_download_a_receipt_pdf(invoice, personas):
    _, payment = pay(invoice)
    client = personas.client_for(Role.LEGAL)
    response = client.get(
        reverse("payments:receipt-pdf", kwargs={"receipt_id": payment.receipt.public_id})
    )
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="receipt-R-000001.pdf"'
    assert response.content.startswith(b"%PDF")


def test_sales_download_only_their_own_accounts(invoice, personas):
    _, payment = pay(invoice, amount=Decimal("100.00"))
    client = personas.client_for(Role.SALES)  # does not own Harbor Freight Partners
    pdf = reverse("payments:invoice-pdf", kwargs={"invoice_id": invoice.public_id})
    receipt = reverse("payments:receipt-pdf", kwargs={"receipt_id": payment.receipt.public_id})
    assert client.get(pdf).status_code == 404
    assert client.get(receipt).status_code == 404


def test_the_invoice_page_links_the_pdf_and_lists_receipts(invoice, controller_client):
    _, payment = pay(invoice, amount=Decimal("300.00"))
    response = controller_client.get(
        reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})
    )
    html = response.content.decode()
    assert reverse("payments:invoice-pdf", kwargs={"invoice_id": invoice.public_id}) in html
    assert "Download PDF" in html
    assert "Receipts" in html and "R-000001" in html
    assert reverse("payments:receipt-pdf", kwargs={"receipt_id": payment.receipt.public_id}) in html
    assert "Pending" in html  # not emailed yet: the on-commit task never ran in this test


def test_a_checkout_opened_before_the_invoice_was_paid_another_way_charges_nothing(
    checkout, invoice, portal_session
):
    from plixo.ledger.services import AllocationRequest, payment_record

    # Given the payer opened a checkout, and then staff recorded a wire for the whole invoice
    payment_record(
        organization=invoice.organization,
        reference="WIRE-77",
        amount=invoice.balance,
        currency=invoice.currency,
        allocations=[AllocationRequest(invoice=invoice, amount=invoice.balance)],
    )
    # When the payer clicks Pay on the old checkout
    response = payer_client(portal_session).post(url(checkout), {"action": "pay"})
    # Then nothing is charged and the checkout is closed
    assert response.status_code == 409
    assert "no longer owes" in response.content.decode()
    assert Payment.objects.count() == 1
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.CANCELLED
