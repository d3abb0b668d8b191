"""Stripe webhook races on PostgreSQL: Stripe (or a retry racing the original) delivers one
event twice at the same moment, or two events of one checkout land together. Each thread posts
through its own test client and database connection, released by a barrier."""

import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.test import Client

from plixo.ledger.models import InvoiceStatus, Payment, Refund
from plixo.ledger.services import invoice_balance_from_rows
from plixo.payments.models import (
    CheckoutStatus,
    Receipt,
    StripeEvent,
    StripeEventStatus,
    WebhookDelivery,
)
from plixo.payments.stripe import webhooks
from tests.payments import stripe_support as ss

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]

BALANCE = Decimal("1250.00")


def post_together(organization, bodies: list[bytes]) -> list:
    """POST each signed body from its own thread (own client, own connection) at once; returns
    each thread's status code, or the exception it raised."""
    barrier = threading.Barrier(len(bodies))
    results: list = [None] * len(bodies)
    headers = [ss.signature(body) for body in bodies]

    def worker(index: int) -> None:
        client = Client()
        try:
            barrier.wait(timeout=10)
            response = ss.post_signed(client, organization, bodies[index], headers[index])
            results[index] = response.status_code
        except Exception as exc:  # the test inspects what each thread got
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def org(invoice):
    ss.connect(invoice.organization)
    return invoice.organization


def assert_paid_once(invoice) -> Payment:
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0"), InvoiceStatus.PAID)
    assert invoice.balance == invoice_balance_from_rows(invoice)
    payment = Payment.objects.get()
    assert payment.amount == BALANCE
    assert Receipt.objects.count() == 1
    assert invoice.checkouts.get().status == CheckoutStatus.COMPLETED
    return payment


@pytest.mark.parametrize("copies", [2, 6])
def test_one_event_delivered_concurrently_has_one_effect(org, invoice, copies):
    checkout = ss.stripe_checkout(invoice)
    event = ss.envelope("checkout.session.completed", ss.session_object(checkout))
    body = ss.body_of(event)

    results = post_together(org, [body] * copies)

    assert results == [200] * copies, results
    assert_paid_once(invoice)
    stored = StripeEvent.objects.get()
    assert (stored.event_id, stored.status) == (event["id"], StripeEventStatus.PROCESSED)
    assert stored.deliveries == copies
    assert WebhookDelivery.objects.filter(verified=True, event=stored).count() == copies


@pytest.mark.parametrize("first_status", ["unpaid", "paid"], ids=["ach", "card-and-async"])
def test_two_events_of_one_checkout_concurrently_make_one_payment(org, invoice, first_status):
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    completed = ss.session_object(checkout, payment_status=first_status, payment_intent=pi)
    succeeded = dict(completed, payment_status="paid")
    bodies = [
        ss.body_of(ss.envelope("checkout.session.completed", completed)),
        ss.body_of(ss.envelope("checkout.session.async_payment_succeeded", succeeded)),
    ]

    results = post_together(org, bodies)

    assert results == [200, 200], results
    assert_paid_once(invoice)
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {
        StripeEventStatus.PROCESSED
    }


def test_refund_racing_its_payment_converges(org, invoice):
    checkout = ss.stripe_checkout(invoice)
    pi, charge_id = ss.new_id("pi"), ss.new_id("ch")
    refund = ss.refund_object(payment_intent=pi, charge=charge_id, amount="300.00", currency="USD")
    charge = ss.charge_object(
        payment_intent=pi, amount=BALANCE, currency="USD", refunded="300.00", refunds=[refund]
    )
    bodies = [
        ss.body_of(
            ss.envelope(
                "checkout.session.completed", ss.session_object(checkout, payment_intent=pi)
            )
        ),
        ss.body_of(ss.envelope("charge.refunded", charge)),
    ]

    results = post_together(org, bodies)

    assert results == [200, 200], results
    # A refund that looked for its payment just before the payment committed waits; the retry
    # job applies it.
    webhooks.events_retry_due()
    assert set(StripeEvent.objects.values_list("status", flat=True)) == {
        StripeEventStatus.PROCESSED
    }
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("300.00"), InvoiceStatus.PARTIALLY_PAID)
    assert invoice.balance == invoice_balance_from_rows(invoice)
    assert Payment.objects.get().refunded_amount == Decimal("300.00")
    assert Refund.objects.count() == 1


@pytest.mark.parametrize("listed", [True, False], ids=["refunds-listed", "refunds-not-listed"])
def test_two_refund_events_of_one_charge_at_once_refund_the_larger_figure_once(invoice, listed):
    # Two different events (two row locks) about one charge: 100 refunded, then 400 in all.
    # Whichever is applied second must see the first's refund under the payment's lock.
    org = invoice.organization
    ss.connect(org)
    checkout = ss.stripe_checkout(invoice)
    pi = ss.new_id("pi")
    paid = ss.envelope("checkout.session.completed", ss.session_object(checkout, payment_intent=pi))
    assert ss.deliver(Client(), org, paid).status_code == 200
    charge = ss.new_id("ch")
    first = ss.refund_object(payment_intent=pi, charge=charge, amount="100.00", currency="USD")
    second = ss.refund_object(payment_intent=pi, charge=charge, amount="300.00", currency="USD")
    one = ss.charge_object(
        payment_intent=pi,
        amount=BALANCE,
        currency="USD",
        refunded="100.00",
        refunds=[first] if listed else [],
    )
    both = ss.charge_object(
        payment_intent=pi,
        amount=BALANCE,
        currency="USD",
        refunded="400.00",
        refunds=[second, first] if listed else [],  # Stripe lists newest first
    )
    both["id"] = one["id"]
    bodies = [ss.body_of(ss.envelope("charge.refunded", obj)) for obj in (one, both)]

    assert post_together(org, bodies) == [200, 200]

    payment = Payment.objects.get()
    invoice.refresh_from_db()
    assert payment.refunded_amount == Decimal("400.00")
    assert invoice.balance == Decimal("400.00") == invoice_balance_from_rows(invoice)
