"""PAY-2: whatever path money comes in by, it keeps the promises it covers and advances the
invoice's accepted payment plan, in the payment's own transaction."""

from decimal import Decimal

import pytest

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.ledger import services as ledger
from plixo.ledger.models import TimelineEvent
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    PaymentPlanFactory,
    PlanInstallmentFactory,
    PromiseFactory,
)


@pytest.fixture
def invoice(personas):
    customer = CustomerFactory(organization=personas.org)
    return InvoiceFactory(
        organization=personas.org,
        customer=customer,
        currency="USD",
        amount=Decimal("600.00"),
        balance=Decimal("600.00"),
    )


def _pay(invoice, amount: str, reference: str):
    return ledger.payment_record(
        organization=invoice.organization,
        reference=reference,
        amount=amount,
        currency="USD",
        allocations=[ledger.AllocationRequest(invoice=invoice, amount=Decimal(amount))],
    )


def _kinds(invoice) -> list[str]:
    return list(
        TimelineEvent.objects.filter(invoice=invoice).order_by("id").values_list("kind", flat=True)
    )


def test_a_payment_covering_the_promise_keeps_it(invoice):
    promise = PromiseFactory(invoice=invoice, amount=Decimal("250.00"))
    _pay(invoice, "100.00", "P-1")
    promise.refresh_from_db()
    assert promise.status == Promise.Status.OPEN  # 100 of 250 so far
    _pay(invoice, "150.00", "P-2")
    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT
    assert _kinds(invoice).count("promise_kept") == 1


def test_a_missed_promise_paid_late_is_kept(invoice):
    promise = PromiseFactory(invoice=invoice, amount=Decimal("250.00"), status="missed")
    _pay(invoice, "600.00", "P-1")
    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT


def test_payments_made_before_the_promise_do_not_count_towards_it(invoice):
    _pay(invoice, "300.00", "P-0")
    promise = PromiseFactory(invoice=invoice, amount=Decimal("250.00"))
    _pay(invoice, "100.00", "P-1")
    promise.refresh_from_db()
    assert promise.status == Promise.Status.OPEN


def test_payments_advance_the_plan_in_order_and_complete_it(invoice):
    plan = PaymentPlanFactory(invoice=invoice, total=Decimal("600.00"), status="approved")
    first, second, third = (
        PlanInstallmentFactory(plan=plan, sequence=n, amount=Decimal("200.00")) for n in (1, 2, 3)
    )
    _pay(invoice, "250.00", "P-1")
    for row in (first, second, third):
        row.refresh_from_db()
    plan.refresh_from_db()
    assert (first.status, first.paid_amount) == (PlanInstallment.Status.PAID, Decimal("200.00"))
    assert (second.status, second.paid_amount) == ("pending", Decimal("50.00"))
    assert third.paid_amount == 0
    assert plan.status == PaymentPlan.Status.ACTIVE

    _pay(invoice, "350.00", "P-2")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.COMPLETED
    assert set(plan.installments.values_list("status", flat=True)) == {"paid"}
    assert _kinds(invoice).count("plan_completed") == 1


def test_a_proposed_plan_is_not_advanced(invoice):
    plan = PaymentPlanFactory(invoice=invoice, status="proposed")
    installment = PlanInstallmentFactory(plan=plan, sequence=1, amount=Decimal("200.00"))
    _pay(invoice, "200.00", "P-1")
    installment.refresh_from_db()
    assert installment.paid_amount == 0
