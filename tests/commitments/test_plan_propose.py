"""plan_propose and plan_installments_even: every rule, its boundaries, and one transaction."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from plixo.commitments.models import PaymentPlan, PlanInstallment
from plixo.commitments.services import plan_installments_even, plan_propose
from plixo.commitments.services import records as services
from plixo.ledger.models import LedgerError, TimelineEvent
from tests.factories import (
    CustomerFactory,
    InvoiceFactory,
    PaymentPlanFactory,
    PlanInstallmentFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2025, 6, 2, 10, 0, tzinfo=ZoneInfo("America/New_York"))
TODAY = NOW.date()
D = Decimal


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def invoice(org):
    return InvoiceFactory(
        customer=CustomerFactory(organization=org), amount=D("900.00"), number="INV-PL1"
    )


def days(n):
    return TODAY + dt.timedelta(days=n)


def test_a_plan_is_proposed_with_its_installments_and_event(invoice, personas):
    plan = plan_propose(
        invoice=invoice,
        installments=[(days(0), D("300.00")), (days(30), "300.00"), (days(60), D("200.00"))],
        reason="Seasonal business",
        actor=personas.operator.user,
    )
    assert plan.status == PaymentPlan.Status.PROPOSED
    assert plan.total == D("800.00") and plan.currency == "USD"
    rows = list(plan.installments.values_list("sequence", "due_on", "amount", "status"))
    assert rows == [
        (1, days(0), D("300.00"), "pending"),
        (2, days(30), D("300.00"), "pending"),
        (3, days(60), D("200.00"), "pending"),
    ]
    assert plan.installments_total() == plan.total
    plan.full_clean()
    event = TimelineEvent.objects.get(invoice=invoice, kind="plan_proposed")
    assert event.data["plan"] == str(plan.public_id)
    assert event.data["total"] == "800.00"
    assert event.data["installments"] == 3
    assert event.data["schedule"][2] == [str(days(60)), "200.00"]


@pytest.mark.parametrize("count", [2, 24])
def test_installment_count_boundaries_accepted(invoice, count):
    rows = [(days(i), D("1.00")) for i in range(count)]
    assert (
        plan_propose(invoice=invoice, installments=rows, reason="r").installments.count() == count
    )


@pytest.mark.parametrize("count", [0, 1, 25])
def test_installment_count_boundaries_refused(invoice, count):
    rows = [(days(i), D("1.00")) for i in range(count)]
    with pytest.raises(LedgerError, match="2 to 24 installments"):
        plan_propose(invoice=invoice, installments=rows, reason="r")
    assert not PaymentPlan.objects.exists()


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([(days(-1), "1"), (days(5), "1")], "first installment cannot be in the past"),
        ([(days(5), "1"), (days(5), "1")], "must fall after installment 1"),
        ([(days(5), "1"), (days(9), "1"), (days(7), "1")], "must fall after installment 2"),
        ([(days(1), "0"), (days(5), "1")], "Installment 1's amount must be more than zero"),
        ([(days(1), "1"), (days(5), "-1")], "Installment 2's amount must be more than zero"),
        ([(days(1), "1.005"), (days(5), "1")], "decimal places"),
        ([(days(1), "600"), (days(5), "300.01")], "more than the balance"),
        ([(days(1), "1"), ("2025-07-01", "1")], "must be a date"),
        ([(days(1), "1"), (days(5),)], "needs a date and an amount"),
    ],
)
def test_schedule_rules(invoice, rows, message):
    with pytest.raises(LedgerError, match=message):
        plan_propose(invoice=invoice, installments=rows, reason="Cash flow")
    assert not PaymentPlan.objects.exists() and not PlanInstallment.objects.exists()


def test_total_may_equal_the_balance(invoice):
    plan = plan_propose(
        invoice=invoice, installments=[(days(1), "450"), (days(2), "450")], reason="r"
    )
    assert plan.total == invoice.balance


def test_reason_is_required(invoice):
    with pytest.raises(LedgerError, match="reason"):
        plan_propose(invoice=invoice, installments=[(days(1), "1"), (days(2), "1")], reason="  ")


@pytest.mark.raw_invoice_writes
def test_closed_invoice_takes_no_plan(invoice):
    invoice.status, invoice.balance = "paid", D("0")
    invoice.save()
    with pytest.raises(LedgerError, match="paid"):
        plan_propose(invoice=invoice, installments=[(days(1), "1"), (days(2), "1")], reason="r")


def test_plan_and_event_share_one_transaction(invoice, monkeypatch):
    real = services.timeline_record

    def record_then_fail(**kwargs):
        real(**kwargs)
        raise RuntimeError("crash after the event")

    monkeypatch.setattr(services, "timeline_record", record_then_fail)
    with pytest.raises(RuntimeError):
        plan_propose(invoice=invoice, installments=[(days(1), "1"), (days(2), "1")], reason="r")
    assert not PaymentPlan.objects.exists()
    assert not PlanInstallment.objects.exists()
    assert not TimelineEvent.objects.filter(kind="plan_proposed").exists()


def test_the_model_checks_installments_sum_to_the_total(org):
    plan = PaymentPlanFactory(invoice=InvoiceFactory(customer=CustomerFactory(organization=org)))
    PlanInstallmentFactory(plan=plan, sequence=1, amount=D("200.00"))
    with pytest.raises(ValidationError, match="add up to 200"):
        plan.full_clean()
    PlanInstallmentFactory(plan=plan, sequence=2, amount=D("400.00"))
    plan.full_clean()


def test_installment_constraints(org):
    plan = PaymentPlanFactory(invoice=InvoiceFactory(customer=CustomerFactory(organization=org)))
    PlanInstallmentFactory(plan=plan, sequence=1, due_on=days(3))
    for bad in (
        {"sequence": 1, "due_on": days(9)},
        {"sequence": 2, "due_on": days(3)},
        {"sequence": 3, "amount": D("0")},
        {"sequence": 4, "amount": D("10"), "paid_amount": D("11")},
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            PlanInstallmentFactory(plan=plan, **bad)


# --- even split ---------------------------------------------------------------------------


def test_even_split_puts_the_remainder_cent_last():
    rows = plan_installments_even(total="100.00", currency="USD", count=3, first_on=days(0))
    assert rows == [(days(0), D("33.33")), (days(30), D("33.33")), (days(60), D("33.34"))]
    assert sum(amount for _, amount in rows) == D("100.00")


def test_even_split_respects_currency_digits_and_interval():
    rows = plan_installments_even(
        total="1000", currency="JPY", count=3, first_on=days(1), every_days=14
    )
    assert rows == [(days(1), D("333")), (days(15), D("333")), (days(29), D("334"))]
    rows = plan_installments_even(total="10.000", currency="KWD", count=4, first_on=days(1))
    assert [amount for _, amount in rows] == [D("2.500")] * 4


def test_even_split_feeds_plan_propose(invoice):
    rows = plan_installments_even(total="900.00", currency="USD", count=7, first_on=days(0))
    plan = plan_propose(invoice=invoice, installments=rows, reason="r")
    assert plan.total == D("900.00")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"count": 1}, "2 to 24"),
        ({"count": 25}, "2 to 24"),
        ({"total": "0.01"}, "too small"),
        ({"total": "0"}, "more than zero"),
        ({"currency": "ZZZ"}, "ISO 4217"),
        ({"every_days": 0}, "a day apart"),
    ],
)
def test_even_split_refuses_bad_input(kwargs, message):
    args = {"total": "100.00", "currency": "USD", "count": 3, "first_on": days(0), **kwargs}
    with pytest.raises(LedgerError, match=message):
        plan_installments_even(**args)


def test_even_split_running_past_the_calendar_is_a_ledger_error():
    import datetime as dt

    from plixo.commitments.services import plan_installments_even
    from plixo.ledger.models import LedgerError

    with pytest.raises(LedgerError, match="past the calendar"):
        plan_installments_even(
            total="300.00", currency="USD", count=3, first_on=dt.date(9999, 12, 30)
        )
