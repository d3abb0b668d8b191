"""The aging reconciles with the ledger on random data: its base-currency total is the sum of
the ledger's open balances, each currency converted at its rate, and on an earlier day it is
what each invoice owed then, rebuilt invoice by invoice from its money rows."""

import datetime as dt
import itertools
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plixo.core.models import Role
from plixo.core.money import quantize
from plixo.ledger.models import OPEN_STATUSES, Invoice
from plixo.ledger.selectors import org_today
from plixo.ledger.services import (
    AllocationRequest,
    invoice_create,
    invoice_write_off,
    payment_record,
)
from plixo.reports.models import ExchangeRate
from plixo.reports.selectors import aging_report
from tests.factories import CustomerFactory, MembershipFactory, OrganizationFactory, UserFactory
from tests.reports.conftest import at_noon

_orgs = itertools.count()
CURRENCIES = ("USD", "EUR", "JPY")

invoice_strategy = st.tuples(
    st.sampled_from(CURRENCIES),
    st.integers(min_value=1, max_value=10_000_000),  # minor units
    st.integers(min_value=0, max_value=200),  # issued this many days ago
    st.integers(min_value=0, max_value=60),  # due this many days after issue
    st.integers(min_value=0, max_value=100),  # percent paid
    st.integers(min_value=0, max_value=40),  # paid this many days ago
    st.booleans(),  # the rest written off today
)


def _amount(units: int, currency: str) -> Decimal:
    return Decimal(units) if currency == "JPY" else Decimal(units) / 100


@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    invoices=st.lists(invoice_strategy, min_size=1, max_size=8),
    eur=st.decimals(min_value=Decimal("0.5"), max_value=Decimal("2"), places=6),
    jpy=st.decimals(min_value=Decimal("0.001"), max_value=Decimal("0.02"), places=8),
    back=st.integers(min_value=1, max_value=60),
)
def test_aging_reconciles_with_the_ledger(db, invoices, eur, jpy, back):
    n = next(_orgs)
    org = OrganizationFactory(slug=f"recon-{n}", base_currency="USD")
    membership = MembershipFactory(
        organization=org, role=Role.CONTROLLER, user=UserFactory(email=f"c{n}@recon.example")
    )
    today = org_today(org)
    customer = CustomerFactory(organization=org)
    for code, rate in (("EUR", eur), ("JPY", jpy)):
        ExchangeRate.objects.create(
            organization=org,
            on=today - dt.timedelta(days=300),
            currency=code,
            base_currency="USD",
            rate=rate,
        )
    for i, (code, units, issued, terms, paid_pct, paid_ago, write_off) in enumerate(invoices):
        amount = _amount(units, code)
        issue = today - dt.timedelta(days=issued)
        invoice = invoice_create(
            organization=org,
            customer=customer,
            number=f"R-{n}-{i}",
            issue_date=issue,
            due_date=issue + dt.timedelta(days=terms),
            currency=code,
            amount=amount,
        )
        part = quantize(amount * paid_pct / 100, code)
        if part > 0:
            payment_record(
                organization=org,
                reference=f"RP-{n}-{i}",
                amount=part,
                currency=code,
                received_at=at_noon(org, today - dt.timedelta(days=min(paid_ago, issued))),
                customer=customer,
                allocations=[AllocationRequest(invoice, part)],
            )
        invoice.refresh_from_db()
        if write_off and invoice.is_open and invoice.balance > 0:
            invoice_write_off(invoice=invoice, actor=None, reason="Reconciliation test")

    # Today: the ledger's open balances, converted currency by currency.
    report = aging_report(membership=membership, as_of=today)
    rates = {"USD": Decimal(1), "EUR": eur, "JPY": jpy}
    open_rows = Invoice.objects.filter(organization=org, status__in=OPEN_STATUSES)
    ledger_by_currency = {
        code: sum((i.balance for i in open_rows if i.currency == code), Decimal(0))
        for code in CURRENCIES
    }
    expected = quantize(sum(ledger_by_currency[c] * rates[c] for c in CURRENCIES), "USD")
    assert report["total"]["base"]["total"] == expected
    for code, amount in ledger_by_currency.items():
        shown = report["total"]["by_currency"].get(code, {"total": Decimal(0)})["total"]
        assert shown == quantize(amount, code)
    assert report["conversion"]["missing"] == []

    # An earlier day: each invoice's balance then, from its own rows.
    day = today - dt.timedelta(days=back)
    cut = at_noon(org, day + dt.timedelta(days=1)).replace(hour=0)
    then = {code: Decimal(0) for code in CURRENCIES}
    for invoice in Invoice.objects.filter(organization=org, issue_date__lte=day):
        owed = invoice.amount
        owed -= sum(
            (
                a.amount
                for a in invoice.allocations.select_related("payment")
                if a.payment.received_at < cut
            ),
            Decimal(0),
        )
        owed -= sum((a.amount for a in invoice.adjustments.all() if a.created_at < cut), Decimal(0))
        then[invoice.currency] += owed
    earlier = aging_report(membership=membership, as_of=day)
    assert earlier["total"]["base"]["total"] == quantize(
        sum(then[c] * rates[c] for c in CURRENCIES), "USD"
    )
