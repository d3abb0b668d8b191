"""Checkouts: opening, completing (once), declining and retrying, amounts that must match."""

from decimal import Decimal

import pytest

from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus, LedgerError, Payment, TimelineEvent
from plixo.payments import services as payments
from plixo.payments.models import CheckoutSession, CheckoutStatus, Receipt
from plixo.payments.providers import SandboxProvider, provider_for
from plixo.payments.services import CheckoutError, CheckoutMismatch
from tests.payments.conftest import pay


def kinds(invoice) -> list[str]:
    return list(
        TimelineEvent.objects.filter(invoice=invoice)
        .order_by("at", "id")
        .values_list("kind", flat=True)
    )


# --- opening a checkout ----------------------------------------------------------------------


def test_checkout_for_the_balance_uses_the_orgs_provider(invoice):
    checkout = payments.checkout_create(invoice=invoice, amount="1250.00")
    assert checkout.status == CheckoutStatus.OPEN
    assert checkout.provider == provider_for(invoice.organization).name == "sandbox"
    assert (checkout.amount, checkout.currency) == (Decimal("1250.00"), "USD")
    assert len(checkout.idempotency_key) == 32
    assert "checkout_started" in kinds(invoice)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "greater than zero"),
        ("-5", "greater than zero"),
        ("1250.01", "more than the balance"),
        ("10.001", "decimal places"),
        ("ten", "not an amount"),
    ],
)
def test_bad_amounts_are_refused(invoice, amount, message):
    with pytest.raises(CheckoutError, match=message):
        payments.checkout_create(invoice=invoice, amount=amount)
    assert not CheckoutSession.objects.exists()


def test_partial_payment_only_when_the_organization_allows_it(invoice):
    org = invoice.organization
    org.allow_partial_payments = False
    org.save()
    invoice.refresh_from_db()
    with pytest.raises(CheckoutError, match="full balance"):
        payments.checkout_create(invoice=invoice, amount="100.00")
    assert payments.checkout_create(invoice=invoice, amount="1250.00")

    org.allow_partial_payments = True
    org.save()
    invoice.refresh_from_db()
    assert payments.checkout_create(invoice=invoice, amount="100.00").amount == Decimal("100.00")


def test_a_closed_invoice_takes_no_checkout(invoice, personas):
    ledger.invoice_void(invoice=invoice, actor=None, reason="Issued twice")
    with pytest.raises(CheckoutError, match="void"):
        payments.checkout_create(invoice=invoice, amount="1250.00")


def test_a_new_checkout_of_the_same_portal_session_cancels_the_earlier_one(
    invoice, portal_session, contact
):
    ref = str(portal_session.public_id)
    first = payments.checkout_create(invoice=invoice, amount="100.00", portal_session_ref=ref)
    second = payments.checkout_create(invoice=invoice, amount="200.00", portal_session_ref=ref)
    first.refresh_from_db()
    assert first.status == CheckoutStatus.CANCELLED
    assert second.status == CheckoutStatus.OPEN
    # The payer is the portal session's contact: receipts go to them.
    assert second.contact == contact
    with pytest.raises(CheckoutError, match="cancelled"):
        payments.checkout_complete(
            checkout=first, provider_ref="sbx_pi_x", amount="100.00", currency="USD"
        )


def test_return_addresses_must_stay_on_this_site(invoice):
    checkout = payments.checkout_create(invoice=invoice, amount="1250.00")
    provider = SandboxProvider()
    for bad in ("https://evil.example/", "//evil.example/x", "javascript:alert(1)"):
        with pytest.raises(CheckoutError, match="path on this site"):
            provider.checkout_start(checkout=checkout, success_url=bad, cancel_url="/portal/")
    url = provider.checkout_start(
        checkout=checkout, success_url="/portal/?paid=1", cancel_url="/portal/"
    )
    checkout.refresh_from_db()
    assert url == f"/portal/sandbox/{checkout.public_id}/"
    assert checkout.success_url == "/portal/?paid=1"
    assert checkout.provider_ref.startswith("sbx_cs_")


# --- completing ------------------------------------------------------------------------------


def test_completion_records_the_payment_through_the_ledger(invoice):
    checkout, payment = pay(invoice, ref="sbx_pi_abc")
    invoice.refresh_from_db()
    checkout.refresh_from_db()
    assert invoice.balance == 0 and invoice.status == InvoiceStatus.PAID
    assert (payment.source, payment.method, payment.reference) == ("sandbox", "card", "sbx_pi_abc")
    assert payment.allocations.get().invoice == invoice
    assert payment.customer == invoice.customer
    assert checkout.status == CheckoutStatus.COMPLETED and checkout.payment == payment
    assert checkout.completed_at is not None
    receipt = payment.receipt
    assert (receipt.number, receipt.amount, receipt.invoice_balance_after) == (
        "R-000001",
        Decimal("1250.00"),
        Decimal("0.00"),
    )
    assert kinds(invoice)[-2:] == ["payment_recorded", "checkout_completed"]
    event = TimelineEvent.objects.get(invoice=invoice, kind="checkout_completed")
    assert event.data["receipt"] == "R-000001"
    assert event.data["amount"] == "1250.00"
    assert ledger.invoice_balance_from_rows(invoice) == invoice.balance


def test_completing_twice_returns_the_same_payment(invoice):
    checkout, payment = pay(invoice)
    again = payments.checkout_complete(
        checkout=checkout, provider_ref="sbx_pi_other", amount="1250.00", currency="USD"
    )
    assert again == payment
    assert Payment.objects.count() == 1
    assert Receipt.objects.count() == 1
    assert kinds(invoice).count("checkout_completed") == 1


def test_a_partial_payment_leaves_the_rest_due(invoice):
    _, payment = pay(invoice, amount="250.00")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1000.00")
    assert invoice.status == InvoiceStatus.PARTIALLY_PAID
    assert payment.receipt.invoice_balance_after == Decimal("1000.00")


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1249.99", "USD", "this checkout is for 1250.00 USD"),
        ("1250.00", "EUR", "in EUR; this checkout is in USD"),
        ("1250.001", "USD", "decimal places"),
        ("1250.00", "", "no currency"),
    ],
)
def test_amount_and_currency_must_match_the_checkout(invoice, amount, currency, message):
    checkout = payments.checkout_create(invoice=invoice, amount="1250.00")
    with pytest.raises(CheckoutMismatch, match=message):
        payments.checkout_complete(
            checkout=checkout, provider_ref="sbx_pi_1", amount=amount, currency=currency
        )
    checkout.refresh_from_db()
    invoice.refresh_from_db()
    assert checkout.status == CheckoutStatus.OPEN
    assert not Payment.objects.exists() and not Receipt.objects.exists()
    assert invoice.balance == Decimal("1250.00")


def test_money_taken_after_the_invoice_was_paid_otherwise_is_kept_unapplied(invoice):
    checkout = payments.checkout_create(invoice=invoice, amount="1250.00")
    ledger.payment_record(
        organization=invoice.organization,
        reference="WIRE-1",
        amount="1000.00",
        currency="USD",
        allocations=[ledger.AllocationRequest(invoice=invoice, amount=Decimal("1000.00"))],
    )
    payment = payments.checkout_complete(
        checkout=checkout, provider_ref="sbx_pi_1", amount="1250.00", currency="USD"
    )
    invoice.refresh_from_db()
    assert invoice.balance == 0
    assert payment.allocated_amount == Decimal("250.00")
    assert payment.unapplied_amount == Decimal("1000.00")
    event = TimelineEvent.objects.get(invoice=invoice, kind="checkout_completed")
    assert event.data["unapplied"] == "1000.00"


def test_a_provider_payment_cannot_be_recorded_by_two_checkouts(invoice):
    pay(invoice, amount="100.00", ref="sbx_pi_same")
    with pytest.raises(LedgerError, match="already exists"):
        pay(invoice, amount="100.00", ref="sbx_pi_same")
    assert Payment.objects.count() == 1


# --- declines ----------------------------------------------------------------------------------


def test_a_decline_is_on_the_timeline_and_the_payer_can_retry(invoice):
    checkout = payments.checkout_create(invoice=invoice, amount="1250.00")
    provider = SandboxProvider()
    provider.simulate_decline(checkout=checkout, code="insufficient_funds")
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.FAILED
    assert (checkout.failure_code, checkout.attempts) == ("insufficient_funds", 1)
    failed = TimelineEvent.objects.get(invoice=invoice, kind="payment_failed")
    assert failed.data["code"] == "insufficient_funds"
    assert failed.data["message"] == "The card has insufficient funds."
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1250.00")

    payment = provider.simulate_success(checkout=checkout)
    checkout.refresh_from_db()
    assert checkout.status == CheckoutStatus.COMPLETED and checkout.failure_code == ""
    assert payment.amount == Decimal("1250.00")


def test_a_decline_after_completion_is_refused(invoice):
    checkout, _ = pay(invoice)
    with pytest.raises(CheckoutError, match="completed"):
        payments.checkout_fail(checkout=checkout, failure_code="card_declined")
    assert "payment_failed" not in kinds(invoice)


def test_cancel_is_idempotent_and_recorded_once(invoice):
    checkout = payments.checkout_create(invoice=invoice, amount="1250.00")
    payments.checkout_cancel(checkout=checkout)
    payments.checkout_cancel(checkout=checkout)
    assert kinds(invoice).count("checkout_cancelled") == 1


# --- receipt numbers ----------------------------------------------------------------------------


def test_receipt_numbers_run_per_organization(invoice, personas):
    pay(invoice, amount="100.00", ref="a")
    pay(invoice, amount="100.00", ref="b")
    other = ledger.customer_create(organization=personas.other_org, external_id="G1", name="G")
    other_invoice = ledger.invoice_create(
        organization=personas.other_org,
        customer=other,
        number="G-1",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency="USD",
        amount="50.00",
    )
    pay(other_invoice, ref="c")
    pay(invoice, amount="100.00", ref="d")
    numbers = list(
        Receipt.objects.filter(organization=personas.org)
        .order_by("sequence")
        .values_list("number", flat=True)
    )
    assert numbers == ["R-000001", "R-000002", "R-000003"]
    assert Receipt.objects.get(organization=personas.other_org).number == "R-000001"


def test_a_rolled_back_payment_leaves_no_gap(invoice):
    pay(invoice, amount="100.00", ref="a")
    checkout = payments.checkout_create(invoice=invoice, amount="100.00")
    with pytest.raises(CheckoutMismatch):
        payments.checkout_complete(
            checkout=checkout, provider_ref="b", amount="99.00", currency="USD"
        )
    pay(invoice, amount="100.00", ref="c")
    assert list(Receipt.objects.order_by("sequence").values_list("number", flat=True)) == [
        "R-000001",
        "R-000002",
    ]
