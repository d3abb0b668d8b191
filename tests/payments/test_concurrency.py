"""Races on PostgreSQL: concurrent completions of one checkout record one payment, and
concurrent payments in one organization get receipt numbers without gaps or duplicates."""

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from plixo.ledger import services as ledger
from plixo.ledger.models import Payment
from plixo.payments import services as payments
from plixo.payments.models import Receipt

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def run_together(calls) -> list:
    """Run each call in its own thread and database connection, released at the same time."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def worker(index, call):
        try:
            barrier.wait(timeout=10)
            results[index] = call()
        except Exception as exc:  # the test inspects what each thread got
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def _invoice(personas, number: str, amount="1000.00"):
    customer = ledger.customer_create(
        organization=personas.org, external_id=f"C-{number}", name=f"Customer {number}"
    )
    today = timezone.now().date()
    return ledger.invoice_create(
        organization=personas.org,
        customer=customer,
        number=number,
        issue_date=today - dt.timedelta(days=30),
        due_date=today,
        currency="USD",
        amount=amount,
    )


def test_concurrent_completions_of_one_checkout_record_one_payment(personas):
    invoice = _invoice(personas, "RACE-1")
    checkout = payments.checkout_create(invoice=invoice, amount="1000.00")

    def complete(i):
        return lambda: payments.checkout_complete(
            checkout=checkout, provider_ref=f"sbx_pi_{i}", amount="1000.00", currency="USD"
        )

    results = run_together([complete(i) for i in range(8)])
    assert all(isinstance(r, Payment) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Payment.objects.count() == 1
    assert Receipt.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0")


def test_concurrent_payments_get_receipt_numbers_without_gaps(personas):
    invoices = [_invoice(personas, f"SEQ-{i}") for i in range(10)]
    checkouts = [payments.checkout_create(invoice=inv, amount="1000.00") for inv in invoices]

    def complete(i, checkout):
        return lambda: payments.checkout_complete(
            checkout=checkout, provider_ref=f"sbx_pi_seq_{i}", amount="1000.00", currency="USD"
        )

    results = run_together([complete(i, c) for i, c in enumerate(checkouts)])
    assert all(isinstance(r, Payment) for r in results), results
    numbers = sorted(Receipt.objects.values_list("number", flat=True))
    assert numbers == [f"R-{n:06d}" for n in range(1, 11)]
