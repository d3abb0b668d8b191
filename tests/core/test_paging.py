"""Keyset pagination and capped counts: every row once, in order, in both directions, for
every invoice sort; cursors that were not made by the list are refused."""

import datetime as dt
import random
from decimal import Decimal

import pytest

from plixo.core.paging import BadCursor, Count, capped_count, capped_counts, keyset_page
from plixo.ledger.models import Invoice
from plixo.ledger.selectors import INVOICE_SORTS, invoice_list, invoice_ordering
from tests.api.conftest import client_for_membership
from tests.factories import CustomerFactory, InvoiceFactory


@pytest.fixture
def ledger(personas):
    rng = random.Random(7)
    customers = [
        CustomerFactory(organization=personas.org, name=name)
        for name in ("Acme", "acme", "Bolt", "Acme")  # equal names: the id breaks the tie
    ]
    for i in range(37):
        InvoiceFactory(
            customer=rng.choice(customers),
            number=f"K-{i:03d}",
            issue_date=dt.date(2026, 10, 1) + dt.timedelta(days=rng.randrange(3)),
            due_date=dt.date(2026, 11, 1) + dt.timedelta(days=rng.randrange(3)),
            amount=Decimal(rng.choice(["10.00", "10.00", "99.99", "1250.00"])),
            currency="USD",
        )
    return personas


def _walk(queryset, ordering, limit):
    rows, cursor, pages = [], None, 0
    while True:
        page = keyset_page(queryset, ordering=ordering, cursor=cursor, limit=limit)
        rows += page.rows
        pages += 1
        if not page.next_cursor:
            return rows, page, pages
        cursor = page.next_cursor


@pytest.mark.parametrize("sort", sorted(INVOICE_SORTS))
def test_every_sort_pages_through_every_row_once_in_order(ledger, sort):
    queryset = invoice_list(membership=ledger.controller, sort=sort)
    expected = list(queryset)
    rows, last, pages = _walk(queryset, invoice_ordering(sort), limit=5)
    assert [r.number for r in rows] == [r.number for r in expected]
    assert pages == 8

    # and back again from the last page
    back, cursor = list(last.rows), last.previous_cursor
    while cursor:
        page = keyset_page(queryset, ordering=invoice_ordering(sort), cursor=cursor, limit=5)
        back = page.rows + back
        cursor = page.previous_cursor
    assert [r.number for r in back] == [r.number for r in expected]


def test_a_cursor_from_another_sort_or_edited_is_refused(ledger):
    queryset = invoice_list(membership=ledger.controller, sort="number")
    page = keyset_page(queryset, ordering=invoice_ordering("number"), cursor=None, limit=5)
    with pytest.raises(BadCursor, match="another sort"):
        keyset_page(queryset, ordering=invoice_ordering("due"), cursor=page.next_cursor, limit=5)
    for bad in ("x", page.next_cursor[:-4], "eyJvIjpbIm51bWJlciJdLCJ2IjpbMV0sImIiOmZhbHNlfQ"):
        with pytest.raises(BadCursor):
            keyset_page(
                queryset.order_by("due_date"),
                ordering=("due_date", "number"),
                cursor=bad,
                limit=5,
            )


def test_counts_stop_at_the_cap(ledger):
    queryset = Invoice.objects.filter(organization=ledger.org)
    assert capped_count(queryset, cap=10) == Count(10, False)
    assert str(capped_count(queryset, cap=10)) == "10+"
    assert capped_count(queryset, cap=100) == Count(37, True)
    assert capped_counts({"all": queryset, "none": queryset.none()}, cap=30) == {
        "all": Count(30, False),
        "none": Count(0, True),
    }


def test_api_invoices_page_by_cursor(ledger):
    api = client_for_membership(ledger.controller)
    body = api.get("/api/v1/invoices", {"limit": 20, "sort": "-amount"}).json()
    assert body["count"] == 37 and body["count_is_exact"] is True
    assert body["next_cursor"] and body["previous_cursor"] is None
    rest = api.get(
        "/api/v1/invoices", {"limit": 20, "sort": "-amount", "cursor": body["next_cursor"]}
    )
    numbers = [i["number"] for i in body["results"] + rest.json()["results"]]
    expected = list(
        Invoice.objects.filter(organization=ledger.org)
        .order_by("-amount", "-number")
        .values_list("number", flat=True)
    )
    assert numbers == expected
    assert rest.json()["next_cursor"] is None

    wrong = api.get("/api/v1/invoices", {"sort": "due", "cursor": body["next_cursor"]})
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["query", "cursor"]
    both = api.get("/api/v1/invoices", {"offset": 5, "cursor": body["next_cursor"]})
    assert both.status_code == 422
