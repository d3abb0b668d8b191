"""Keeping ranks current: the SQL writer agrees with the documented weights, the ledger's hook
rewrites an invoice's rank in the changing transaction, and the periodic catch-up writes only
what the hook did not see."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from plixo.comms.models import Cadence, CadenceEnrollment
from plixo.ledger.models import Customer
from plixo.ledger.services import AllocationRequest, payment_record
from plixo.ledger.services.accounts import customer_update
from plixo.reports.models import ExchangeRate
from plixo.workspace.models import QueueEntry, QueueRefreshState
from plixo.workspace.services import (
    _latest_rates,
    invoice_rank,
    queue_entries_catch_up,
    queue_entries_refresh,
)
from tests.factories import CustomerFactory
from tests.workspace.conftest import make_invoice


def _expected(invoice, rates):
    segmented = CadenceEnrollment.objects.filter(
        invoice=invoice, cadence__is_default=False
    ).exists()
    return invoice_rank(
        due_date=invoice.due_date,
        balance=invoice.balance,
        currency=invoice.currency,
        risk=invoice.customer.risk_score,
        segmented=segmented,
        rates=rates,
    )


def test_ranks_written_in_sql_match_the_weights(org, operator, account):
    ExchangeRate.objects.create(
        organization=org, on=dt.date(2024, 1, 1), currency="EUR", base_currency="USD", rate="1.5"
    )
    ExchangeRate.objects.create(
        organization=org, on=dt.date(2024, 6, 1), currency="EUR", base_currency="USD", rate="1.1"
    )
    risky = CustomerFactory(
        organization=org, collector=operator.user, risk_score=83, segment="Enterprise"
    )
    invoices = [
        make_invoice(account, days_overdue=75, amount="48000.00"),
        make_invoice(account, days_overdue=-12, amount="0.50"),
        make_invoice(risky, days_overdue=3, amount="1234.56", currency="EUR"),
        make_invoice(risky, days_overdue=400, amount="999999.99", currency="JPY"),  # no rate
    ]
    cadence = Cadence.objects.create(organization=org, name="Key accounts", is_default=False)
    CadenceEnrollment.objects.update_or_create(
        invoice=invoices[2], defaults={"organization": org, "cadence": cadence}
    )

    assert queue_entries_refresh(organization=org) == 4

    rates = _latest_rates(org)
    assert rates["EUR"] == Decimal("1.1")
    for invoice in invoices:
        entry = QueueEntry.objects.get(invoice=invoice)
        assert entry.rank == _expected(invoice, rates), invoice.number
        assert entry.collector_id == operator.user_id
    assert QueueEntry.objects.get(invoice=invoices[2]).segment == "Segment: Enterprise"
    assert QueueEntry.objects.get(invoice=invoices[0]).segment == ""


def test_a_payment_rewrites_the_rank_and_a_paid_invoice_leaves(org, operator, account):
    first = make_invoice(account, days_overdue=30, amount="10000.00")
    second = make_invoice(account, days_overdue=30, amount="500.00")
    queue_entries_refresh(organization=org)
    before = QueueEntry.objects.get(invoice=first).rank

    payment_record(
        organization=org,
        reference="WIRE-9",
        amount="9900.00",
        currency="USD",
        allocations=[AllocationRequest(invoice=first, amount=Decimal("9900.00"))],
    )
    first.refresh_from_db()
    entry = QueueEntry.objects.get(invoice=first)
    assert entry.rank == _expected(first, _latest_rates(org)) < before  # $100 left: 2,000 less

    payment_record(
        organization=org,
        reference="WIRE-10",
        amount="500.00",
        currency="USD",
        allocations=[AllocationRequest(invoice=second, amount=Decimal("500.00"))],
    )
    assert not QueueEntry.objects.filter(invoice=second).exists()


def test_the_catch_up_writes_new_invoices_and_changed_customers_only(
    org, operator, manager, account
):
    old = make_invoice(account, days_overdue=10)
    start = timezone.now()
    assert queue_entries_catch_up(organization=org, now=start) == 1  # the first run: all
    state = QueueRefreshState.objects.get(organization=org)
    assert state.full_at == start

    # Nothing changed: nothing written.
    assert queue_entries_catch_up(organization=org, now=timezone.now()) == 0

    # An import created an invoice (no hook), and the account changed collector.
    new = make_invoice(account, days_overdue=2)
    QueueEntry.objects.filter(invoice=new).delete()
    other = CustomerFactory(organization=org, collector=operator.user)
    untouched = make_invoice(other, days_overdue=5)
    queue_entries_refresh(organization=org, invoice_ids=[untouched.pk], now=start)
    Customer.objects.filter(pk=other.pk).update(updated_at=start - dt.timedelta(hours=1))
    customer_update(customer=account, collector=manager.user)

    assert not QueueEntry.objects.filter(invoice=new).exists()
    written = queue_entries_catch_up(organization=org, now=timezone.now())

    # The new invoice (no entry) and the account's invoices (collector changed); the other
    # customer's invoice is left alone.
    assert written == 3
    assert set(
        QueueEntry.objects.filter(collector=manager.user).values_list("invoice", flat=True)
    ) == {old.pk, new.pk}
    assert QueueEntry.objects.get(invoice=untouched).refreshed_at == start


def test_the_catch_up_rewrites_everything_once_a_day(org, account):
    make_invoice(account, days_overdue=10)
    start = timezone.now()
    queue_entries_catch_up(organization=org, now=start)
    assert queue_entries_catch_up(organization=org, now=start + dt.timedelta(hours=23)) == 0
    assert queue_entries_catch_up(organization=org, now=start + dt.timedelta(hours=24)) == 1


def test_the_ledger_hook_is_one_statement(org, account, django_assert_num_queries):
    from plixo.ledger.models import InvoiceStatus
    from plixo.workspace.services import queue_entry_write

    invoice = make_invoice(account, days_overdue=10)
    with django_assert_num_queries(1):
        queue_entry_write(invoice=invoice)
    assert QueueEntry.objects.filter(invoice=invoice).exists()
    invoice.status = InvoiceStatus.PAID
    with django_assert_num_queries(1):
        queue_entry_write(invoice=invoice)
    assert not QueueEntry.objects.filter(invoice=invoice).exists()


def test_sqlite_without_math_functions_gets_log10_from_python(monkeypatch):
    """The rank SQL needs LOG10; a SQLite built without its math functions gets Python's."""
    import sqlite3
    from types import SimpleNamespace

    from plixo.workspace import apps

    class WithoutMath(sqlite3.Connection):
        def execute(self, sql, *args):
            if sql == "SELECT LOG10(10)":
                raise sqlite3.OperationalError("no such function: LOG10")
            return super().execute(sql, *args)

    raw = sqlite3.connect(":memory:", factory=WithoutMath)
    monkeypatch.setattr(apps, "_log10", lambda value: -1.0)
    apps._sqlite_math(None, SimpleNamespace(vendor="sqlite", connection=raw))
    assert raw.execute("SELECT LOG10(1000)").fetchone() == (-1.0,)
    monkeypatch.undo()
    assert apps._log10(1000) == 3.0 and apps._log10(0) is None
