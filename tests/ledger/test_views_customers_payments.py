"""Customer list and detail (contacts, aging, open invoices, payments) and the payment list."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from plixo.core.models import Role
from plixo.ledger import services
from plixo.ledger.models import InvoiceStatus
from plixo.ledger.selectors import org_today
from tests.factories import (
    ContactFactory,
    CustomerFactory,
    InvoiceFactory,
    PaymentFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme(personas):
    org = personas.org
    today = org_today(org)
    customer = CustomerFactory(
        organization=org,
        name="Acme Logistics",
        external_id="C-1000",
        segment="enterprise",
        risk_score=82,
        owner=personas.members[Role.CSM].user,
    )
    ContactFactory(customer=customer, name="Pat Payables", email="ap@acme.test", is_primary=True)
    ContactFactory(
        customer=customer,
        name="Chris CFO",
        email="cfo@acme.test",
        suppression_reason="On vacation",
        suppressed_until=timezone.now() + dt.timedelta(days=10),
    )

    def invoice(number, days_overdue, amount):
        due = today - dt.timedelta(days=days_overdue)
        return InvoiceFactory(
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            amount=Decimal(amount),
        )

    invoice("A-CUR", -3, "100.00")
    invoice("A-015", 15, "200.00")
    invoice("A-020", 20, "300.00")
    late = invoice("A-100", 100, "1000.00")
    InvoiceFactory(
        customer=customer, number="A-PAID", status=InvoiceStatus.PAID, balance=Decimal("0")
    )
    services.payment_record(
        organization=org,
        reference="WIRE-77",
        amount="400.00",
        currency="USD",
        method="wire",
        allocations=[services.AllocationRequest(invoice=late, amount=Decimal("250.00"))],
    )
    return customer


def _customer_url(customer):
    return reverse("ledger:customer-detail", kwargs={"customer_id": customer.public_id})


def test_customer_list_shows_open_counts_and_balances(personas, acme):
    CustomerFactory(organization=personas.org, name="Quiet Corp")
    CustomerFactory(organization=personas.other_org, name="Globex Subsidiary")

    response = personas.client_for(Role.CONTROLLER).get(reverse("ledger:customer-list"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Logistics" in body and "Quiet Corp" in body
    assert "Globex Subsidiary" not in body
    row = re.search(r"Acme Logistics</a>.*?</tr>", body, re.S).group(0)
    assert ">4</a>" in row  # open invoices
    assert "$1,350.00" in row  # 100 + 200 + 300 + (1000 - 250)


def _balance_cell(body: str, name: str) -> str:
    row = re.search(rf"{re.escape(name)}</a>.*?</tr>", body, re.S).group(0)
    return re.search(r'<td class="num strong">(.*?)</td>\s*</tr>', row, re.S).group(1)


def test_customer_list_shows_the_open_balance_per_currency(personas, acme):
    """Balances in different currencies are never added together: one figure per currency,
    the customer's own currency first, and closed invoices left out."""
    mixed = CustomerFactory(organization=personas.org, name="Mixed Books", currency="USD")
    InvoiceFactory(customer=mixed, currency="EUR", amount=Decimal("300.00"))
    InvoiceFactory(customer=mixed, currency="USD", amount=Decimal("1200.00"))
    InvoiceFactory(customer=mixed, currency="USD", amount=Decimal("50.00"))
    InvoiceFactory(
        customer=mixed,
        currency="GBP",
        amount=Decimal("80.00"),
        status=InvoiceStatus.PAID,
        balance=Decimal("0"),
    )
    CustomerFactory(organization=personas.org, name="Quiet Corp")

    body = personas.client_for(Role.CONTROLLER).get(reverse("ledger:customer-list")).content
    body = body.decode()

    cell = _balance_cell(body, "Mixed Books")
    assert re.findall(r"[$€£][\d,.]+", cell) == ["$1,250.00", "€300.00"]
    assert "·" in cell
    assert re.findall(r"[$€£][\d,.]+", _balance_cell(body, "Acme Logistics")) == ["$1,350.00"]
    assert "—" in _balance_cell(body, "Quiet Corp")


def test_customer_list_query_count_does_not_grow_with_customers(
    personas, django_assert_max_num_queries
):
    for i in range(30):
        customer = CustomerFactory(organization=personas.org, name=f"Customer {i:02d}")
        InvoiceFactory(customer=customer, currency="USD")
        InvoiceFactory(customer=customer, currency="EUR")
    client = personas.client_for(Role.CONTROLLER)
    client.get(reverse("ledger:customer-list"))  # warm the session and caches

    # session, user, memberships, maintenance flag, the currencies open (the filter's choices),
    # COUNT, the page, its balances, and the payments-degraded banner's one read (shown to those
    # who can act on it)
    with django_assert_max_num_queries(10):  # with the mentions count in the top bar
        response = client.get(reverse("ledger:customer-list"))

    assert response.content.decode().count("€") >= 30


def test_customer_search(personas, acme):
    CustomerFactory(organization=personas.org, name="Quiet Corp", external_id="Q-1")
    client = personas.client_for(Role.CONTROLLER)

    by_name = client.get(reverse("ledger:customer-list"), {"q": "quiet"}).content.decode()
    by_id = client.get(reverse("ledger:customer-list"), {"q": "C-1000"}).content.decode()
    nothing = client.get(reverse("ledger:customer-list"), {"q": "zzz"}).content.decode()

    assert "Quiet Corp" in by_name and "Acme Logistics" not in by_name
    assert "Acme Logistics" in by_id and "Quiet Corp" not in by_id
    assert "No customer matches" in nothing


def test_customer_detail_shows_contacts_aging_invoices_and_payments(personas, acme):
    response = personas.client_for(Role.CONTROLLER).get(_customer_url(acme))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Acme Logistics" in body and "C-1000" in body and "enterprise" in body
    assert "Pat Payables" in body and "Primary" in body
    assert "Chris CFO" in body and "Suppressed" in body and "On vacation" in body
    aging = re.search(r'id="aging-title".*?</table>', body, re.S).group(0)
    rows = dict(re.findall(r">([^<]+)</a></td>\s*<td class=\"num\">(.*?)</td>", aging, re.S))
    assert rows["Current"].strip() == "1"
    assert rows["1–30 days"].strip() == "2"
    assert "0" in rows["31–60 days"]
    assert rows["90+ days"].strip() == "1"
    assert "$750.00" in aging  # 1000 − 250 in the 90+ bucket
    assert "$1,350.00" in body  # open balance
    assert (
        "A-015" in body
        and "A-PAID" not in body.split("Open invoices", 1)[1].split("Recent payments")[0]
    )
    assert "WIRE-77" in body and "$150.00" in body  # unapplied part of the payment
    assert f"/invoices/?customer={acme.public_id}" in body


def test_customer_detail_is_scoped(personas, acme):
    other = CustomerFactory(organization=personas.other_org)
    controller = personas.client_for(Role.CONTROLLER)
    assert controller.get(_customer_url(other)).status_code == 404

    assert personas.client_for(Role.CSM).get(_customer_url(acme)).status_code == 200
    assert personas.client_for(Role.SALES).get(_customer_url(acme)).status_code == 404
    sales_list = personas.client_for(Role.SALES).get(reverse("ledger:customer-list"))
    assert "Acme Logistics" not in sales_list.content.decode()


def test_payment_list_shows_applied_and_unapplied(personas, acme):
    PaymentFactory(organization=personas.other_org, reference="GLOBEX-PAY")

    response = personas.client_for(Role.CONTROLLER).get(reverse("ledger:payment-list"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "WIRE-77" in body and "GLOBEX-PAY" not in body
    row = re.search(r"WIRE-77</span>.*?</tr>", body, re.S).group(0)
    assert "Acme Logistics" in row
    assert "Wire" in row and "Entered by hand" in row
    assert re.findall(r"\$[\d,.]+", row) == ["$400.00", "$250.00", "$150.00"]


def test_payment_list_search_and_unapplied_filter(personas, acme):
    full = PaymentFactory(
        organization=personas.org,
        reference="ACH-FULL",
        amount=Decimal("50.00"),
        allocated_amount=Decimal("50.00"),
    )
    client = personas.client_for(Role.CONTROLLER)
    url = reverse("ledger:payment-list")

    unapplied = client.get(url, {"unapplied": "on"}).content.decode()
    searched = client.get(url, {"q": "ach-"}).content.decode()
    by_customer = client.get(url, {"q": "acme"}).content.decode()

    assert "WIRE-77" in unapplied and full.reference not in unapplied
    assert full.reference in searched and "WIRE-77" not in searched
    assert "WIRE-77" in by_customer and full.reference not in by_customer


def test_payment_list_paginates(personas):
    for i in range(51):
        PaymentFactory(organization=personas.org, reference=f"P-{i:03d}")
    client = personas.client_for(Role.CONTROLLER)

    first = client.get(reverse("ledger:payment-list")).content.decode()
    following = re.search(r'href="\?([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(reverse("ledger:payment-list") + "?" + following).content.decode()

    assert first.count('<span class="mono">P-') == 50
    assert second.count('<span class="mono">P-') == 1
    assert "51 payments" in first


def test_payments_of_accounts_not_owned_are_hidden_from_sales(personas, acme):
    body = personas.client_for(Role.SALES).get(reverse("ledger:payment-list")).content.decode()

    assert "WIRE-77" not in body
    assert "No payments recorded yet" in body


def _references(body: str) -> set[str]:
    return set(re.findall(r'<td><span class="mono">([^<]+)</span>', body))


def test_payment_search_follows_renamed_references_and_customer_ids(personas, acme):
    payment = PaymentFactory(organization=personas.org, reference="LOCKBOX-0042")
    client = personas.client_for(Role.CONTROLLER)
    url = reverse("ledger:payment-list")

    assert _references(client.get(url, {"q": "box-004"}).content.decode()) == {"LOCKBOX-0042"}
    payment.reference = "RTP-9001"
    payment.save()
    assert _references(client.get(url, {"q": "box-004"}).content.decode()) == set()
    assert _references(client.get(url, {"q": "p-900"}).content.decode()) == {"RTP-9001"}
    # By the customer's external id (and never another organization's payment).
    PaymentFactory(organization=personas.other_org, reference="C-1000-GLOBEX")
    assert _references(client.get(url, {"q": "c-1000"}).content.decode()) == {"WIRE-77"}


def test_a_broad_payment_search_walks_the_list(personas, acme, monkeypatch):
    monkeypatch.setattr("plixo.ledger.selectors.SEARCH_CAP", 2)
    for i in range(4):
        PaymentFactory(organization=personas.org, reference=f"BULK-{i}")
    body = personas.client_for(Role.CONTROLLER).get(reverse("ledger:payment-list"), {"q": "bulk"})

    assert _references(body.content.decode()) == {f"BULK-{i}" for i in range(4)}
    assert "listed newest first, but not counted" in body.content.decode()


def test_a_short_payment_search_is_refused_and_the_filter_kept(personas, acme):
    PaymentFactory(
        organization=personas.org,
        reference="ACH-FULL",
        amount=Decimal("50.00"),
        allocated_amount=Decimal("50.00"),
    )
    response = personas.client_for(Role.CONTROLLER).get(
        reverse("ledger:payment-list"), {"q": "ac", "unapplied": "on"}
    )

    body = response.content.decode()
    assert "Type at least 3 characters to search." in body
    assert _references(body) == {"WIRE-77"}


def test_a_refunded_payment_has_nothing_left_to_apply(personas, acme):
    PaymentFactory(
        organization=personas.org,
        reference="REFUNDED",
        amount=Decimal("80.00"),
        allocated_amount=Decimal("30.00"),
        refunded_amount=Decimal("50.00"),
    )
    body = personas.client_for(Role.CONTROLLER).get(
        reverse("ledger:payment-list"), {"unapplied": "on"}
    )

    assert _references(body.content.decode()) == {"WIRE-77"}


def test_customer_list_pages_by_cursor(personas):
    for i in range(53):
        CustomerFactory(organization=personas.org, name=f"Paged {i:03d}")
    client = personas.client_for(Role.CONTROLLER)
    url = reverse("ledger:customer-list")

    first = client.get(url).content.decode()
    following = re.search(r'href="\?([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    second = client.get(url + "?" + following).content.decode()
    back = re.search(r'href="\?([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")

    def names(body):
        return re.findall(r">(Paged \d{3})</a>", body)

    assert names(first) == [f"Paged {i:03d}" for i in range(50)]
    assert names(second) == [f"Paged {i:03d}" for i in range(50, 53)]
    assert "51–53 of 53 customers" in second
    assert names(client.get(url + "?" + back).content.decode()) == names(first)
    tampered = client.get(url, {"cursor": "not-a-cursor"}).content.decode()
    assert names(tampered) == names(first) and "not valid" in tampered
