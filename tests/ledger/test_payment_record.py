from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from plixo.ledger.models import InvoiceStatus, LedgerError, Payment, TimelineEvent
from plixo.ledger.services import (
    AllocationRequest,
    invoice_balance_from_rows,
    payment_record,
)
from tests.factories import CustomerFactory, InvoiceFactory


@pytest.fixture
def invoices(org):
    customer = CustomerFactory(organization=org)
    return [
        InvoiceFactory(customer=customer, amount=Decimal("100.00")),
        InvoiceFactory(customer=customer, amount=Decimal("250.00")),
    ]


def test_payment_over_two_invoices_moves_balances_statuses_and_timelines(org, invoices):
    first, second = invoices
    payment = payment_record(
        organization=org,
        reference="WIRE-1",
        amount="150.00",
        currency="USD",
        allocations=[
            AllocationRequest(invoice=first, amount=Decimal("100.00")),
            AllocationRequest(invoice=second, amount=Decimal("50.00")),
        ],
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.balance, first.status) == (Decimal("0"), InvoiceStatus.PAID)
    assert (second.balance, second.status) == (Decimal("200"), InvoiceStatus.PARTIALLY_PAID)
    assert payment.allocated_amount == Decimal("150")
    assert payment.customer == first.customer
    for invoice in invoices:
        assert invoice.balance == invoice_balance_from_rows(invoice)
        event = invoice.timeline.get(kind=TimelineEvent.Kind.PAYMENT_RECORDED)
        assert event.data["reference"] == "WIRE-1"


def test_allocating_more_than_the_balance_writes_nothing(org, invoices):
    first, _ = invoices
    with pytest.raises(LedgerError, match="more than its balance"):
        payment_record(
            organization=org,
            reference="WIRE-2",
            amount="500.00",
            currency="USD",
            allocations=[AllocationRequest(invoice=first, amount=Decimal("101.00"))],
        )
    assert not Payment.objects.filter(reference="WIRE-2").exists()
    first.refresh_from_db()
    assert first.balance == Decimal("100.00")


def test_allocations_beyond_the_payment_are_refused(org, invoices):
    first, second = invoices
    with pytest.raises(LedgerError, match="exceed the payment"):
        payment_record(
            organization=org,
            reference="WIRE-3",
            amount="120.00",
            currency="USD",
            allocations=[
                AllocationRequest(invoice=first, amount=Decimal("100.00")),
                AllocationRequest(invoice=second, amount=Decimal("21.00")),
            ],
        )


def test_database_refuses_allocated_beyond_amount(org):
    payment = payment_record(organization=org, reference="CHK-9", amount="10", currency="USD")
    with pytest.raises(IntegrityError), transaction.atomic():
        Payment.objects.filter(pk=payment.pk).update(allocated_amount=Decimal("11"))


def test_currency_mismatch_and_minor_units(org, invoices):
    first, _ = invoices
    with pytest.raises(LedgerError, match="is in USD"):
        payment_record(
            organization=org,
            reference="EUR-1",
            amount="10",
            currency="EUR",
            allocations=[AllocationRequest(invoice=first, amount=Decimal("10"))],
        )
    with pytest.raises(LedgerError, match="decimal places"):
        payment_record(organization=org, reference="JPY-1", amount="10.5", currency="JPY")
