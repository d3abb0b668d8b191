"""The invoice list: filters, search, sort, pagination, status counts and account scoping."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.core.models import Role
from plixo.ledger.models import InvoiceStatus
from plixo.ledger.selectors import org_today
from tests.factories import CustomerFactory, InvoiceFactory

pytestmark = pytest.mark.django_db

URL = "/invoices/"


@pytest.fixture
def book(personas):
    """A small ledger: invoices in every aging bucket, some closed, one owned by Sales."""
    org = personas.org
    today = org_today(org)
    acme = CustomerFactory(organization=org, name="Acme Logistics")
    bolt = CustomerFactory(
        organization=org, name="Bolt Hardware", owner=personas.members[Role.SALES].user
    )

    def invoice(number, customer, days_overdue, **extra):
        due = today - dt.timedelta(days=days_overdue)
        return InvoiceFactory(
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            **extra,
        )

    return {
        "today": today,
        "acme": acme,
        "bolt": bolt,
        "current": invoice("INV-CUR", acme, -5, amount=Decimal("100.00")),
        "late_10": invoice("INV-010", acme, 10, amount=Decimal("2500.50")),
        "late_45": invoice("INV-045", bolt, 45, description="Hosting for Bolt"),
        "late_75": invoice(
            "INV-075",
            acme,
            75,
            status=InvoiceStatus.DISPUTED,
            po_number="PO-SPECIAL",
        ),
        "late_120": invoice("INV-120", bolt, 120, currency="EUR", amount=Decimal("990.00")),
        "paid": invoice("INV-PAID", acme, 60, status=InvoiceStatus.PAID, balance=Decimal("0")),
        "void": invoice("INV-VOID", acme, 20, status=InvoiceStatus.VOID, balance=Decimal("0")),
    }


def _numbers(response) -> list[str]:
    return re.findall(
        r'class="cell-link" href="/invoices/[^"]+/">([^<]+)</a>', response.content.decode()
    )


def test_list_shows_invoices_with_money_customer_and_days_overdue(personas, book):
    response = personas.client_for(Role.CONTROLLER).get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert len(_numbers(response)) == 7
    assert "Acme Logistics" in body and "Bolt Hardware" in body
    assert "$2,500.50" in body
    assert "€990.00" in body
    assert '<span class="overdue">10</span>' in body
    assert '<span class="overdue overdue-severe">120</span>' in body
    assert '<span class="badge badge-disputed">Disputed</span>' in body
    assert personas.outsider.organization.name not in body


def test_status_counts_are_shown_as_chips(personas, book):
    body = personas.client_for(Role.CONTROLLER).get(URL).content.decode()

    def chip(label):
        match = re.search(rf'>{label} <span class="chip-count">(\d+)</span>', body)
        return int(match.group(1))

    assert chip("All") == 7
    assert chip("All open") == 5
    assert chip("Disputed") == 1
    assert chip("Paid") == 1
    assert chip("Void") == 1
    assert chip("Written off") == 0


def _chips(body: str) -> dict[str, dict]:
    """Each status chip by label: whether it is active and the query string it links to."""
    chips = {}
    for css, query, label in re.findall(
        r'<a class="chip([^"]*)" href="\?([^"]*)"[^>]*>([^<]+) <span', body
    ):
        chips[label] = {"active": "is-active" in css, "query": query.replace("&amp;", "&")}
    return chips


@pytest.mark.parametrize(
    ("query", "active"),
    [
        ({}, "All"),
        ({"status": "open"}, "All open"),
        ({"status": "disputed"}, "Disputed"),
        ({"status": "open", "overdue": "1_30"}, "All open"),
        ({"q": "INV"}, "All"),
        # An age filter only shows open invoices, so "All" would be a false claim.
        ({"overdue": "any"}, None),
        ({"overdue": "bogus"}, None),
    ],
)
def test_only_the_chip_of_the_current_status_filter_is_active(personas, book, query, active):
    body = personas.client_for(Role.CONTROLLER).get(URL, query).content.decode()

    chips = _chips(body)

    assert len(chips) == 7
    shown_active = [label for label, chip in chips.items() if chip["active"]]
    assert shown_active == ([active] if active else [])


def test_overdue_filter_is_visible_and_chips_respect_it(personas, book):
    body = personas.client_for(Role.CONTROLLER).get(URL, {"overdue": "31_60"}).content.decode()

    assert re.search(r'<select name="overdue"[^>]*class="is-set"', body)
    assert '<option value="31_60" selected>' in body
    assert f'href="{URL}">Clear filters</a>' in body
    chips = _chips(body)
    # "All" starts over; an open status keeps the age filter; a closed status drops it, since
    # no paid invoice is overdue.
    assert "overdue" not in chips["All"]["query"]
    assert "overdue=31_60" in chips["Disputed"]["query"]
    assert "overdue=31_60" in chips["All open"]["query"]
    assert "overdue" not in chips["Paid"]["query"]


def test_no_clear_link_without_filters(personas, book):
    body = personas.client_for(Role.CONTROLLER).get(URL).content.decode()

    assert "Clear filters" not in body
    assert 'class="is-set"' not in body


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "open"}, {"INV-CUR", "INV-010", "INV-045", "INV-075", "INV-120"}),
        ({"status": "paid"}, {"INV-PAID"}),
        ({"status": "disputed"}, {"INV-075"}),
        ({"overdue": "any"}, {"INV-010", "INV-045", "INV-075", "INV-120"}),
        ({"overdue": "current"}, {"INV-CUR"}),
        ({"overdue": "1_30"}, {"INV-010"}),
        ({"overdue": "31_60"}, {"INV-045"}),
        ({"overdue": "61_90"}, {"INV-075"}),
        ({"overdue": "90_plus"}, {"INV-120"}),
        ({"q": "bolt"}, {"INV-045", "INV-120"}),
        ({"q": "PO-SPECIAL"}, {"INV-075"}),
        ({"q": "hosting"}, {"INV-045"}),
        ({"q": "inv-01"}, {"INV-010"}),
        ({"status": "open", "q": "acme", "overdue": "any"}, {"INV-010", "INV-075"}),
    ],
)
def test_filters_and_search(personas, book, query, expected):
    response = personas.client_for(Role.CONTROLLER).get(URL, query)

    assert response.status_code == 200
    assert set(_numbers(response)) == expected


def test_customer_filter_shows_that_customers_invoices_only(personas, book):
    response = personas.client_for(Role.CONTROLLER).get(
        URL, {"customer": str(book["bolt"].public_id)}
    )

    assert set(_numbers(response)) == {"INV-045", "INV-120"}
    assert "For <a href" in response.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"customer": "not-a-uuid"},
        {"customer": "00000000-0000-4000-8000-000000000000"},
        {"status": "bogus"},
        {"overdue": "forever"},
    ],
)
def test_bad_filter_values_are_reported_not_ignored(personas, book, query):
    response = personas.client_for(Role.CONTROLLER).get(URL, query)

    assert response.status_code == 200
    assert _numbers(response) == []
    assert 'class="flash flash-error"' in response.content.decode()


def test_another_organizations_customer_cannot_be_used_as_filter(personas, book):
    foreign = CustomerFactory(organization=personas.other_org)
    InvoiceFactory(customer=foreign, number="GLOBEX-1")

    response = personas.client_for(Role.CONTROLLER).get(URL, {"customer": str(foreign.public_id)})

    assert _numbers(response) == []
    assert "No such customer." in response.content.decode()


@pytest.mark.parametrize(
    ("sort", "expected_first"),
    [
        ("number", "INV-010"),
        ("-number", "INV-VOID"),
        ("amount", "INV-CUR"),
        ("-amount", "INV-010"),
        ("due", "INV-120"),
        ("-due", "INV-CUR"),
        ("customer", None),
    ],
)
def test_sorting(personas, book, sort, expected_first):
    response = personas.client_for(Role.CONTROLLER).get(URL, {"sort": sort})

    numbers = _numbers(response)
    if expected_first:
        assert numbers[0] == expected_first
    else:
        customers = re.findall(
            r'href="/customers/[^"]+/">([^<]+)</a></td>', response.content.decode()
        )
        assert customers == sorted(customers)
    body = response.content.decode()
    assert 'aria-sort="ascending"' in body or 'aria-sort="descending"' in body


def test_sort_header_links_toggle_the_direction_and_keep_filters(personas, book):
    body = personas.client_for(Role.CONTROLLER).get(URL, {"sort": "amount", "status": "open"})
    html = body.content.decode()

    assert 'href="?sort=-amount&amp;status=open"' in html or (
        'href="?status=open&amp;sort=-amount"' in html
    )


def test_unknown_sort_falls_back_to_due_date(personas, book):
    response = personas.client_for(Role.CONTROLLER).get(URL, {"sort": "drop table"})

    assert response.status_code == 200
    assert _numbers(response)[0] == "INV-120"


def _link(body: str, rel: str) -> str:
    match = re.search(rf'href="\?([^"]+)" rel="{rel}"', body)
    assert match, f"no {rel} link"
    return "?" + match.group(1).replace("&amp;", "&")


def test_pagination_at_fifty_per_page_by_cursor(personas):
    customer = CustomerFactory(organization=personas.org)
    for i in range(103):
        InvoiceFactory(customer=customer, number=f"P-{i:03d}")
    client = personas.client_for(Role.CONTROLLER)

    first = client.get(URL, {"sort": "number"})
    body = first.content.decode()
    assert len(_numbers(first)) == 50
    assert 'rel="prev"' not in body

    assert "1–50 of 103 invoices" in body
    second = client.get(URL + _link(body, "next"))
    third = client.get(URL + _link(second.content.decode(), "next"))
    assert "51–100 of 103 invoices" in second.content.decode()
    assert "101–103 of 103 invoices" in third.content.decode()
    assert _numbers(second)[0] == "P-050"
    assert _numbers(third) == ["P-100", "P-101", "P-102"]
    assert 'rel="next"' not in third.content.decode()
    assert "sort=number" in _link(body, "next")

    back = client.get(URL + _link(third.content.decode(), "prev"))
    assert _numbers(back) == _numbers(second)
    assert "51–100 of 103 invoices" in back.content.decode()


def test_cursor_pages_hold_when_rows_share_the_sort_value(personas):
    """Fifty-odd invoices due the same day: the number breaks the tie, so no row is skipped or
    shown twice across pages, in either direction."""
    customer = CustomerFactory(organization=personas.org)
    for i in range(120):
        InvoiceFactory(customer=customer, number=f"T-{i:03d}", due_date=dt.date(2026, 12, 1))
    client = personas.client_for(Role.CONTROLLER)
    seen, query = [], {"sort": "-due"}
    response = client.get(URL, query)
    while True:
        seen += _numbers(response)
        body = response.content.decode()
        if 'rel="next"' not in body:
            break
        response = client.get(URL + _link(body, "next"))
    assert seen == [f"T-{i:03d}" for i in range(119, -1, -1)]


def test_a_tampered_cursor_shows_the_first_page_with_a_word(personas):
    customer = CustomerFactory(organization=personas.org)
    for i in range(3):
        InvoiceFactory(customer=customer, number=f"C-{i}")
    client = personas.client_for(Role.CONTROLLER)

    response = client.get(URL, {"cursor": "not-a-cursor"})
    assert response.status_code == 200
    assert "not valid" in response.content.decode()
    assert len(_numbers(response)) == 3


def test_sales_sees_only_invoices_of_the_accounts_they_own(personas, book):
    for role in (Role.SALES, Role.CSM):
        response = personas.client_for(role).get(URL)
        expected = {"INV-045", "INV-120"} if role == Role.SALES else set()
        assert set(_numbers(response)) == expected, role
    body = personas.client_for(Role.SALES).get(URL).content.decode()
    assert re.search(r'>All <span class="chip-count">2</span>', body)


def test_query_count_stays_small_and_flat(personas, book, django_assert_max_num_queries):
    customer = CustomerFactory(organization=personas.org)
    for i in range(60):
        InvoiceFactory(customer=customer, number=f"Q-{i:03d}")
    client = personas.client_for(Role.CONTROLLER)
    client.get(URL)  # warm the session

    # session, user, membership, maintenance, the open currencies, every chip's count (one
    # round trip), the page, the payments banner
    with django_assert_max_num_queries(9):  # with the mentions count in the top bar
        response = client.get(URL, {"status": "open", "sort": "-balance"})

    assert len(_numbers(response)) == 50


def test_list_links_to_invoice_and_customer_pages(personas, book):
    body = personas.client_for(Role.CONTROLLER).get(URL).content.decode()

    assert (
        reverse("ledger:invoice-detail", kwargs={"invoice_id": book["late_10"].public_id}) in body
    )
    assert reverse("ledger:customer-detail", kwargs={"customer_id": book["acme"].public_id}) in body


def test_empty_list_explains_itself(personas):
    client = personas.client_for(Role.CONTROLLER)

    assert "No invoices yet" in client.get(URL).content.decode()
    assert "No invoices match these filters" in client.get(URL, {"q": "zzz"}).content.decode()
