"""The per-customer open balance cache: moved by every ledger path, in whole units, and what
the customer lists read and sort by (within one currency)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from plixo.core.models import Role
from plixo.ledger.models import CustomerBalance
from plixo.ledger.services import (
    AllocationRequest,
    invoice_create,
    invoice_dispute_close,
    invoice_dispute_open,
    invoice_update,
    invoice_void,
    invoice_write_off,
    payment_record,
    refund_record,
)
from plixo.ledger.services.balances import (
    customer_balances_differences,
    customer_balances_rebuild,
)
from tests.api.conftest import client_for_membership
from tests.factories import CustomerFactory

TODAY = dt.date(2026, 11, 30)


def _cached(customer) -> dict[str, tuple[int, Decimal]]:
    return {
        row.currency: (row.open_count, row.open_balance)
        for row in CustomerBalance.objects.filter(customer=customer)
        if row.open_count or row.open_units
    }


def _invoice(org, customer, number, amount, currency="USD"):
    return invoice_create(
        organization=org,
        customer=customer,
        number=number,
        issue_date=TODAY,
        due_date=TODAY + dt.timedelta(days=30),
        currency=currency,
        amount=amount,
    )


def _pay(org, invoice, amount, reference):
    return payment_record(
        organization=org,
        reference=reference,
        amount=Decimal(amount),
        currency=invoice.currency,
        method="ach",
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal(amount))],
        actor=None,
    )


def test_every_ledger_path_moves_the_cache(personas):
    org = personas.org
    customer = CustomerFactory(organization=org)
    a = _invoice(org, customer, "A-1", "100.10")
    b = _invoice(org, customer, "A-2", "50.05")
    c = _invoice(org, customer, "A-3", "1000", currency="JPY")
    assert _cached(customer) == {"USD": (2, Decimal("150.15")), "JPY": (1, Decimal("1000"))}

    payment = _pay(org, a, "40.10", "P-1")  # partly paid: still open
    assert _cached(customer)["USD"] == (2, Decimal("110.05"))
    _pay(org, b, "50.05", "P-2")  # paid: leaves the open count
    assert _cached(customer)["USD"] == (1, Decimal("60.00"))
    refund_record(payment=payment, reference="R-1", amount=Decimal("10"), actor=None)
    assert _cached(customer)["USD"] == (1, Decimal("70.00"))

    invoice_update(invoice=c, currency="EUR", amount=Decimal("12.34"), actor=None)
    assert _cached(customer) == {"USD": (1, Decimal("70.00")), "EUR": (1, Decimal("12.34"))}
    invoice_dispute_open(invoice=a, actor=None)  # disputed is still owed
    assert _cached(customer)["USD"] == (1, Decimal("70.00"))
    invoice_dispute_close(invoice=a, actor=None)
    invoice_write_off(invoice=a, actor=None, reason="Bank fee", amount=Decimal("0.50"))
    assert _cached(customer)["USD"] == (1, Decimal("69.50"))
    invoice_write_off(invoice=a, actor=None, reason="Settled")
    invoice_void(invoice=c, actor=None, reason="Issued in error")
    assert _cached(customer) == {}
    assert customer_balances_differences(organization=org) == []


def test_differences_name_what_is_out_of_step_and_rebuild_repairs(personas):
    org = personas.org
    customer = CustomerFactory(organization=org)
    _invoice(org, customer, "B-1", "10")
    CustomerBalance.objects.filter(customer=customer).update(open_units=1)

    problems = customer_balances_differences(organization=org)
    assert [(p["customer_id"], p["currency"]) for p in problems] == [(customer.pk, "USD")]
    assert problems[0]["invoices"] == (1, Decimal("10"))

    customer_balances_rebuild(organization=org)
    assert customer_balances_differences(organization=org) == []
    assert _cached(customer) == {"USD": (1, Decimal("10"))}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    amounts=st.lists(
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999.99"), places=2),
        min_size=1,
        max_size=6,
    ),
    paid=st.lists(st.integers(min_value=0, max_value=100), min_size=6, max_size=6),
)
def test_cache_matches_invoices_after_any_payments(personas, amounts, paid):
    """Whole-unit arithmetic: however many cents move, the cache is exact to the cent."""
    org = personas.org
    customer = CustomerFactory(organization=org)
    for i, amount in enumerate(amounts):
        invoice = _invoice(org, customer, f"H-{customer.pk}-{i}", amount)
        part = (amount * paid[i] / 100).quantize(Decimal("0.01"))
        if part > 0:
            _pay(org, invoice, part, f"HP-{customer.pk}-{i}")
    assert customer_balances_differences(organization=org) == []


def test_customer_list_sorts_by_balance_within_one_currency(personas):
    org = personas.org
    small = CustomerFactory(organization=org, name="Small Co")
    big = CustomerFactory(organization=org, name="Big Co")
    yen = CustomerFactory(organization=org, name="Yen KK", currency="JPY")
    _invoice(org, small, "S-1", "100")
    _invoice(org, big, "B-1", "900")
    _invoice(org, yen, "Y-1", "5000000", currency="JPY")
    client = personas.client_for(Role.CONTROLLER)

    page = client.get(reverse("ledger:customer-list"), {"sort": "-balance", "currency": "USD"})
    text = page.content.decode()
    assert text.index("Big Co") < text.index("Small Co")
    assert "Yen KK" not in text  # nothing open in USD: never ranked against dollars
    assert "Sorted by open balance in USD" in text

    yen_page = client.get(reverse("ledger:customer-list"), {"currency": "JPY"}).content.decode()
    assert "Yen KK" in yen_page and "Big Co" not in yen_page

    bad = client.get(reverse("ledger:customer-list"), {"currency": "XXX"})
    assert bad.status_code == 200
    assert "Select a valid choice" in bad.content.decode()


def test_api_customer_list_balances_and_sort(personas):
    org = personas.org
    small = CustomerFactory(organization=org, name="Small Co")
    big = CustomerFactory(organization=org, name="Big Co")
    _invoice(org, small, "S-1", "100")
    _invoice(org, big, "B-1", "900")
    _invoice(org, big, "B-2", "5", currency="EUR")
    client = client_for_membership(personas.controller)

    body = client.get("/api/v1/customers", {"sort": "-balance", "currency": "usd"}).json()
    assert [c["name"] for c in body["results"]] == ["Big Co", "Small Co"]
    first = body["results"][0]
    assert first["open_invoices"] == 2
    assert {b["currency"]: b["balance"] for b in first["open_balances"]} == {
        "EUR": "5.00",
        "USD": "900.00",
    }
    assert client.get("/api/v1/customers", {"sort": "amount"}).status_code == 422


@pytest.mark.raw_invoice_writes
def test_the_consistency_check_catches_a_raw_write(personas):
    """The suite-wide check is real: a balance moved behind the ledger's back is found."""
    from plixo.ledger.models import Invoice

    org = personas.org
    invoice = _invoice(org, CustomerFactory(organization=org), "R-1", "10")
    Invoice.objects.filter(pk=invoice.pk).update(balance=Decimal("4"))
    assert customer_balances_differences(organization=org)


def test_balance_sorted_customers_page_by_cursor_through_ties(personas):
    """The balance order pages by cursor: every customer once, in order, ties broken by id, and
    a customer's other currencies never make it appear twice."""
    org = personas.org
    amounts = ["300", "100", "300", "200", "100", "300", "50"]
    for n, amount in enumerate(amounts):
        customer = CustomerFactory(organization=org, name=f"Tied {n}")
        _invoice(org, customer, f"T-{n}", amount)
        _invoice(org, customer, f"TE-{n}", "7", currency="EUR")
    client = client_for_membership(personas.controller)

    seen, cursor = [], None
    while True:
        params = {"sort": "-balance", "currency": "USD", "limit": 2}
        body = client.get("/api/v1/customers", params | ({"cursor": cursor} if cursor else {}))
        body = body.json()
        seen += [(c["name"], c["open_balances"]) for c in body["results"]]
        cursor = body["next_cursor"]
        if not cursor:
            break

    names = [name for name, _ in seen]
    assert len(names) == len(set(names)) == len(amounts)
    usd = [
        Decimal(next(b["balance"] for b in balances if b["currency"] == "USD"))
        for _, balances in seen
    ]
    assert usd == sorted(usd, reverse=True)
    assert body["count"] == len(amounts) and body["count_is_exact"]
