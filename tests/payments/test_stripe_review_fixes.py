"""Cases a review of the Stripe handlers found: currencies whose minor units differ between
ISO and Stripe, other integrations' sessions on the same account, an ACH debit on a checkout
the payer had replaced, chargeback inquiries, a disconnected account's late events, and a
live/test mismatch."""

from decimal import Decimal

import pytest
from django.test import Client

from plixo.ledger.models import InvoiceStatus, Payment, Refund, TimelineEvent
from plixo.payments import services
from plixo.payments.models import CheckoutStatus, StripeEvent, StripeEventStatus
from plixo.payments.stripe.accounts import stripe_disconnect
from plixo.payments.stripe.checkout import (
    amount_from_stripe,
    checkout_session_params,
    stripe_amount,
)
from tests.payments import stripe_support as ss


@pytest.fixture
def org(invoice):
    ss.connect(invoice.organization)
    return invoice.organization


@pytest.mark.parametrize(
    ("currency", "amount", "units"),
    [
        ("USD", "1250.00", 125000),
        ("JPY", "120000", 120000),
        ("KWD", "12.340", 12340),
        # Zero digits in ISO/CLDR, two-decimal at Stripe: sent in hundredths.
        ("HUF", "25000", 2500000),
        ("ISK", "9900", 990000),
        ("COP", "150000", 15000000),
        ("UGX", "50000", 50000),
    ],
)
def test_amounts_go_to_stripe_in_stripes_units_and_come_back(currency, amount, units):
    from plixo.core.money import quantize

    value = quantize(Decimal(amount), currency)
    assert stripe_amount(value, currency) == units
    assert amount_from_stripe(units, currency) == value


@pytest.mark.raw_invoice_writes
def test_a_huf_checkout_asks_stripe_for_the_whole_amount(invoice):
    invoice.currency = "HUF"
    invoice.amount = invoice.balance = Decimal("25000")
    invoice.save()
    checkout = services.checkout_create(invoice=invoice, amount="25000", provider="stripe")
    params = checkout_session_params(checkout, success_url="/portal/", cancel_url="/portal/")
    assert params["line_items"][0]["price_data"]["unit_amount"] == 2_500_000


def test_a_huf_amount_stripe_sends_in_odd_hundredths_is_not_read_as_another_amount():
    assert amount_from_stripe(2_500_050, "HUF") is None  # 25,000.50 HUF does not exist


def test_another_integrations_session_is_ignored_not_failed(org, invoice):
    obj = ss.stripe_object(
        "checkout.session",
        id=ss.new_id("cs_test"),
        client_reference_id="order-123",
        metadata={"order": "123"},
        payment_status="paid",
        status="complete",
        amount_total=5000,
        currency="usd",
        payment_intent=ss.new_id("pi"),
    )
    response = ss.deliver(Client(), org, ss.envelope("checkout.session.completed", obj))
    assert response.status_code == 200
    assert StripeEvent.objects.get().status == StripeEventStatus.IGNORED
    assert not Payment.objects.exists()


def test_an_ach_debit_on_a_replaced_checkout_still_shows_as_on_its_way(org, invoice):
    ref = "11111111-1111-1111-1111-111111111111"
    replaced = ss.stripe_checkout(invoice, portal_session_ref=ref)
    ss.stripe_checkout(invoice, portal_session_ref=ref)
    replaced.refresh_from_db()
    assert replaced.status == CheckoutStatus.CANCELLED
    unpaid = ss.session_object(replaced, payment_status="unpaid", payment_intent=ss.new_id("pi"))

    response = ss.deliver(Client(), org, ss.envelope("checkout.session.completed", unpaid))

    assert response.status_code == 200
    replaced.refresh_from_db()
    assert replaced.status == CheckoutStatus.PROCESSING


def _paid(org, invoice) -> str:
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    event = ss.envelope(
        "checkout.session.completed", ss.session_object(checkout, payment_intent=pi)
    )
    assert ss.deliver(Client(), org, event).status_code == 200
    return pi


def test_a_chargeback_inquiry_moves_no_money(org, invoice):
    pi = _paid(org, invoice)
    inquiry = ss.dispute_object(payment_intent=pi, amount=Decimal("1250.00"), currency="USD")
    inquiry.update(id=ss.new_id("du"), status="warning_needs_response", reason="general")

    assert ss.deliver(Client(), org, ss.envelope("charge.dispute.created", inquiry)).status_code
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    assert not Refund.objects.exists()
    assert TimelineEvent.objects.filter(invoice=invoice, kind="chargeback_inquiry").count() == 1


def test_after_disconnecting_stripes_late_events_still_land(org, invoice):
    checkout = ss.stripe_checkout(invoice)
    stripe_disconnect(organization=org)
    event = ss.envelope("checkout.session.completed", ss.session_object(checkout))

    assert ss.deliver(Client(), org, event).status_code == 200
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID


def test_a_live_event_for_a_test_key_is_refused_with_the_reason(org, invoice):
    checkout = ss.stripe_checkout(invoice)
    event = ss.envelope("checkout.session.completed", ss.session_object(checkout))
    event["livemode"] = True

    response = ss.deliver(Client(), org, event)

    assert response.status_code == 400
    assert "live-mode event" in response.json()["status"]
    assert not StripeEvent.objects.exists()
