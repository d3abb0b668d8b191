"""The daily A/R snapshot agrees with the exact computation (`balances.py`, which rebuilds a
past day from today's balances and the money rows dated after it) on every day of random
ledgers: payments recorded late with an earlier received date, refunds, write-offs, credits
and voids, in three currencies. And the reports read it, saying when it was computed."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plixo.core.models import Role
from plixo.core.money import quantize
from plixo.ledger.models import Allocation, Invoice, InvoiceAdjustment
from plixo.ledger.selectors import org_today
from plixo.ledger.services import (
    AllocationRequest,
    invoice_create,
    invoice_void,
    invoice_write_off,
    payment_record,
    refund_record,
)
from plixo.ledger.services.credits import invoice_credit
from plixo.reports.models import ReceivablesDay, ReceivablesSnapshot
from plixo.reports.selectors import ar_by_currency, dashboard_figures, dso_cei_report
from plixo.reports.selectors.snapshots import credit_sales_by_day, daily_receivables
from plixo.reports.services import receivables_snapshot_refresh, receivables_snapshots_refresh_all
from tests.factories import CustomerFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.reports.conftest import at_noon, days

_orgs = itertools.count()
CURRENCIES = ("USD", "EUR", "JPY")
HISTORY = 50  # days

invoice_strategy = st.fixed_dictionaries(
    {
        "currency": st.sampled_from(CURRENCIES),
        "units": st.integers(min_value=1, max_value=10_000_000),
        "issued_ago": st.integers(min_value=0, max_value=HISTORY),
        "terms": st.integers(min_value=0, max_value=40),
        "paid_pct": st.integers(min_value=0, max_value=100),
        "paid_ago": st.integers(min_value=0, max_value=HISTORY + 5),  # even before the issue
        "refund_pct": st.integers(min_value=0, max_value=100),
        "refund_ago": st.integers(min_value=0, max_value=HISTORY),
        "then": st.sampled_from(["nothing", "write_off", "credit", "void"]),
        "adjusted_ago": st.integers(min_value=0, max_value=HISTORY),
    }
)


def _amount(units: int, currency: str) -> Decimal:
    return Decimal(units) if currency == "JPY" else Decimal(units) / 100


def _controller(prefix: str):
    n = next(_orgs)
    org = OrganizationFactory(slug=f"{prefix}-{n}", base_currency="USD")
    membership = MembershipFactory(
        organization=org, role=Role.CONTROLLER, user=UserFactory(email=f"c{n}@{prefix}.example")
    )
    return n, org, membership


def _backdate(adjustment_filter, org, day: dt.date) -> None:
    """An adjustment made on an earlier day (services stamp it now)."""
    InvoiceAdjustment.objects.filter(**adjustment_filter).update(created_at=at_noon(org, day))


def _build(org, n: int, invoices: list[dict]) -> None:
    today = org_today(org)
    customer = CustomerFactory(organization=org)
    for i, spec in enumerate(invoices):
        code = spec["currency"]
        amount = _amount(spec["units"], code)
        issue = today - days(spec["issued_ago"])
        invoice = invoice_create(
            organization=org,
            customer=customer,
            number=f"S-{n}-{i}",
            issue_date=issue,
            due_date=issue + days(spec["terms"]),
            currency=code,
            amount=amount,
        )
        if spec["then"] == "void":
            invoice_void(invoice=invoice, actor=None, reason="Issued in error")
            _backdate({"invoice": invoice}, org, today - days(spec["adjusted_ago"]))
            continue
        part = quantize(amount * spec["paid_pct"] / 100, code)
        if part > 0:
            payment = payment_record(
                organization=org,
                reference=f"SP-{n}-{i}",
                amount=part,
                currency=code,
                received_at=at_noon(org, today - days(spec["paid_ago"])),
                customer=customer,
                allocations=[AllocationRequest(invoice, part)],
            )
            back = quantize(part * spec["refund_pct"] / 100, code)
            if back > 0:
                refund_record(
                    payment=payment,
                    reference=f"SR-{n}-{i}",
                    amount=back,
                    refunded_at=at_noon(org, today - days(spec["refund_ago"])),
                )
        invoice.refresh_from_db()
        if spec["then"] in ("write_off", "credit") and invoice.is_open and invoice.balance > 0:
            if spec["then"] == "write_off":
                invoice_write_off(invoice=invoice, actor=None, reason="Snapshot test")
            else:
                invoice_credit(
                    invoice=invoice,
                    actor=None,
                    reason="Snapshot test",
                    amount=quantize(invoice.balance / 2, code) or invoice.balance,
                )
            _backdate({"invoice": invoice}, org, today - days(spec["adjusted_ago"]))


def _assert_agrees(org, membership, first: dt.date, last: dt.date) -> None:
    computed = daily_receivables(organization=org, first=first, last=last)
    sales = credit_sales_by_day(membership=membership, start=first, end=last)
    day = first
    while day <= last:
        exact = ar_by_currency(membership=membership, as_of=day)
        current = ar_by_currency(membership=membership, as_of=day, where={"due_date__gte": day})
        for code in CURRENCIES:
            line = computed.get((day, code), [Decimal(0)] * 3)
            assert line[0] == exact.get(code, Decimal(0)), (day, code, "open")
            assert line[1] == current.get(code, Decimal(0)), (day, code, "current")
            assert line[2] == sales.get((day, code), Decimal(0)), (day, code, "sales")
        day += days(1)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    invoices=st.lists(invoice_strategy, min_size=1, max_size=8),
    window_start=st.integers(min_value=1, max_value=HISTORY + 5),
)
def test_the_snapshot_agrees_with_the_exact_computation_on_every_day(db, invoices, window_start):
    n, org, membership = _controller("snap")
    _build(org, n, invoices)
    today = org_today(org)

    # The whole history, and a trailing window (which reads only the rows dated after it).
    _assert_agrees(org, membership, today - days(HISTORY + 5), today)
    _assert_agrees(org, membership, today - days(window_start), today)


def test_a_range_that_ends_before_it_starts_is_refused(db):
    _, org, _ = _controller("snap-bad")
    today = org_today(org)
    with pytest.raises(ValueError, match="ends"):
        daily_receivables(organization=org, first=today, last=today - days(1))


def test_dso_and_cei_from_the_snapshot_equal_the_exact_figures_and_say_when(ledger, personas):
    controller = personas.controller
    exact = dso_cei_report(membership=controller, as_of=ledger.today, months=6)
    assert exact["snapshot"] is None  # no snapshot yet: the ledger, exactly

    receivables_snapshot_refresh(organization=ledger.org)
    read = dso_cei_report(membership=controller, as_of=ledger.today, months=6)

    snapshot = ReceivablesSnapshot.objects.get(organization=ledger.org)
    assert read["snapshot"] == {
        "computed_at": snapshot.refreshed_at,
        "through": ledger.today - days(1),
    }
    assert read["period"] == exact["period"]
    assert read["trend"] == exact["trend"]
    assert read["conversion"] == exact["conversion"]


def test_sales_and_csms_do_not_read_the_organization_wide_snapshot(ledger, personas):
    receivables_snapshot_refresh(organization=ledger.org)
    sales = personas.members[Role.SALES]
    report = dso_cei_report(membership=sales, as_of=ledger.today, months=3)
    assert report["snapshot"] is None
    # Alder's invoices only: A/R at the end is A-1's 600 and A-2's 500.
    assert report["period"]["by_currency"]["USD"]["end_ar"] == Decimal("1100.00")


def test_the_dashboard_says_when_its_past_figures_were_computed(ledger, personas):
    receivables_snapshot_refresh(organization=ledger.org)
    figures = dashboard_figures(membership=personas.controller)
    assert figures["dso"]["snapshot"]["through"] == ledger.today - days(1)


def test_the_refresh_picks_up_a_payment_recorded_late_with_an_earlier_date(ledger, personas):
    # Given a snapshot computed yesterday-ish, with a full rebuild not yet due
    org, today = ledger.org, ledger.today
    receivables_snapshot_refresh(organization=org, now=timezone.now() - dt.timedelta(hours=1))
    before = ReceivablesDay.objects.get(organization=org, day=today - days(8), currency="USD")
    assert before.open_balance == Decimal("1800")  # A-1 1000 (paid on T−5), A-2 500, B-2 300

    # When a payment received 8 days ago is recorded today, and the daily job refreshes
    payment_record(
        organization=org,
        reference="LATE-1",
        amount=Decimal("100"),
        currency="USD",
        received_at=at_noon(org, today - days(8)),
        customer=ledger.customers["birch"],
        allocations=[AllocationRequest(ledger.invoices["B-2"], Decimal("100"))],
    )
    ReceivablesSnapshot.objects.filter(organization=org).update(
        refreshed_at=timezone.now() - dt.timedelta(days=1)
    )
    receivables_snapshots_refresh_all()

    # Then the window is rewritten: the day of the payment and every day after it
    snapshot = ReceivablesSnapshot.objects.get(organization=org)
    assert snapshot.rebuilt_at < snapshot.refreshed_at  # a refresh, not a rebuild
    assert snapshot.refreshed_from <= today - days(8)
    for back in (8, 5, 1):
        row = ReceivablesDay.objects.get(organization=org, day=today - days(back), currency="USD")
        exact = ar_by_currency(membership=personas.controller, as_of=today - days(back))
        assert row.open_balance == exact["USD"]
        assert row.computed_at == snapshot.refreshed_at
    assert ReceivablesDay.objects.get(
        organization=org, day=today - days(8), currency="USD"
    ).open_balance == Decimal("1700")


def test_the_refresh_reaches_back_beyond_its_window_for_an_old_payment(ledger, personas):
    org, today = ledger.org, ledger.today
    # Given a ledger written days ago and a snapshot refreshed since
    long_ago = timezone.now() - dt.timedelta(days=2)
    Invoice.objects.filter(organization=org).update(created_at=long_ago)
    Allocation.objects.filter(organization=org).update(created_at=long_ago)
    receivables_snapshot_refresh(organization=org)
    # When a payment received 60 days ago is recorded now
    payment_record(
        organization=org,
        reference="OLD-1",
        amount=Decimal("50"),
        currency="USD",
        received_at=at_noon(org, today - days(60)),
        customer=ledger.customers["alder"],
        allocations=[AllocationRequest(ledger.invoices["A-1"], Decimal("50"))],
    )
    receivables_snapshot_refresh(
        organization=org, window_days=3, now=timezone.now() + dt.timedelta(hours=2)
    )

    # Then the refresh reaches back to its day, beyond its 3-day window
    snapshot = ReceivablesSnapshot.objects.get(organization=org)
    assert snapshot.refreshed_from == today - days(60)
    row = ReceivablesDay.objects.get(organization=org, day=today - days(60), currency="USD")
    assert (
        row.open_balance
        == ar_by_currency(membership=personas.controller, as_of=today - days(60))["USD"]
    )


def test_the_daily_job_refreshes_each_organization_once_a_day(ledger):
    assert receivables_snapshots_refresh_all() > 0
    assert receivables_snapshots_refresh_all() == 0  # already done today
    assert ReceivablesSnapshot.objects.filter(organization=ledger.org).exists()


def test_a_window_of_no_days_is_refused(ledger):
    with pytest.raises(ValueError, match="at least one day"):
        receivables_snapshot_refresh(organization=ledger.org, window_days=0)
