"""Invoice search: text indexes on both databases (FTS5 trigram on SQLite, pg_trgm on
PostgreSQL) kept in step with every write, narrow searches read from them and counted, broad
ones listed in order without a count, and input that could be read as syntax matched as text."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.core.models import Role
from plixo.ledger import selectors
from plixo.ledger.selectors import invoice_list, invoice_search
from plixo.ledger.services import customer_update, invoice_create, invoice_update
from tests.api.conftest import client_for_membership
from tests.factories import CustomerFactory

URL = reverse("ledger:invoice-list")


def _invoice(org, customer, number, **fields):
    return invoice_create(
        organization=org,
        customer=customer,
        number=number,
        issue_date=dt.date(2026, 11, 1),
        due_date=dt.date(2026, 12, 1),
        currency="USD",
        amount=Decimal("100"),
        **fields,
    )


def _found(membership, term) -> set[str]:
    search = invoice_search(membership=membership, term=term)
    return set(invoice_list(membership=membership, search=search).values_list("number", flat=True))


@pytest.fixture
def ledger(personas):
    org = personas.org
    globex = CustomerFactory(organization=org, name="Globex Ltd", external_id="CUST-GLX")
    initech = CustomerFactory(organization=org, name="Initech", external_id="CUST-INI")
    _invoice(org, globex, "INV-001043", po_number="PO-7781", description="Consulting, March")
    _invoice(org, initech, "INV-001047", description="Licence 50% discount_applied")
    _invoice(org, initech, "INV-002000", description='Hardware "rack" units')
    # Another organization's invoice with the same words is never found.
    other = CustomerFactory(organization=personas.other_org, name="Globex Ltd")
    _invoice(personas.other_org, other, "INV-001043")
    return personas


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("001043", {"INV-001043"}),  # a number's tail
        ("inv-0010", {"INV-001043", "INV-001047"}),  # case-insensitive, several
        ("po-778", {"INV-001043"}),
        ("consult", {"INV-001043"}),  # description words, by prefix
        ("licence discount", {"INV-001047"}),
        ("globex", {"INV-001043"}),  # the customer's name
        ("cust-ini", {"INV-001047", "INV-002000"}),  # the customer's external id
        ("50%", {"INV-001047"}),  # % and _ are text, not wildcards
        ("inv_00", set()),
        ('"rack"', {"INV-002000"}),  # quotes are text, not FTS syntax
        ("rack OR consult", set()),
        ("zzz", set()),
    ],
)
def test_search_matches_text_not_syntax(ledger, term, expected):
    assert _found(ledger.controller, term) == expected


def test_the_indexes_follow_every_write(ledger):
    org = ledger.org
    invoice = org.invoices.get(number="INV-002000")
    invoice_update(invoice=invoice, po_number="PO-NEW-9", actor=None)
    assert _found(ledger.controller, "PO-NEW-9") == {"INV-002000"}

    customer = org.customers.get(external_id="CUST-GLX")
    customer_update(customer=customer, name="Umbrella Corp")
    assert _found(ledger.controller, "umbrella") == {"INV-001043"}
    assert _found(ledger.controller, "globex") == set()


@pytest.mark.raw_invoice_writes  # the ledger never deletes an invoice; the index must cope
def test_a_deleted_invoice_leaves_the_index(ledger):
    ledger.org.invoices.get(number="INV-002000").delete()
    assert _found(ledger.controller, "rack") == set()


def test_a_broad_search_is_listed_in_order_but_not_counted(ledger, monkeypatch):
    monkeypatch.setattr(selectors, "SEARCH_CAP", 1)
    client = ledger.client_for(Role.CONTROLLER)

    body = client.get(URL, {"q": "INV-00"}).content.decode()
    assert "matches invoices all through the ledger" in body
    assert "Many invoices match" in body
    assert body.index("INV-001043") < body.index("INV-001047") < body.index("INV-002000")
    assert 'class="chip-count"' not in body

    api = client_for_membership(ledger.controller)
    page = api.get("/api/v1/invoices", {"search": "INV-00"}).json()
    assert page["count"] is None and page["count_is_exact"] is False
    assert [i["number"] for i in page["results"]] == ["INV-001043", "INV-001047", "INV-002000"]


def test_a_narrow_search_is_counted_by_status(ledger):
    body = ledger.client_for(Role.CONTROLLER).get(URL, {"q": "initech"}).content.decode()
    assert '>All <span class="chip-count">2</span>' in body
    assert "2 invoices" in body

    api = client_for_membership(ledger.controller)
    page = api.get("/api/v1/invoices", {"search": "initech"}).json()
    assert page["count"] == 2 and page["count_is_exact"] is True


def test_searches_shorter_than_three_characters_are_refused(ledger):
    body = ledger.client_for(Role.CONTROLLER).get(URL, {"q": "ab"}).content.decode()
    assert "Type at least 3 characters to search." in body

    api = client_for_membership(ledger.controller)
    response = api.get("/api/v1/invoices", {"search": "ab"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "search"]


def test_sales_find_only_their_own_accounts(ledger):
    sales = ledger.members[Role.SALES]
    org = ledger.org
    org.customers.filter(external_id="CUST-INI").update(owner=sales.user)
    assert _found(sales, "inv-00") == {"INV-001047", "INV-002000"}
    assert _found(sales, "globex") == set()


@pytest.mark.django_db
def test_missing_search_triggers_come_back_after_migrate():
    """SQLite drops a table's triggers when a migration rebuilds the table; the post-migrate
    hook puts them back, so the index keeps following the invoices."""
    from django.db import connection

    from plixo.ledger.search_index import TRIGGERS, ensure_triggers

    if connection.vendor != "sqlite":
        assert ensure_triggers() == 0
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER ledger_invoice_search_insert")
    assert ensure_triggers() == len(TRIGGERS)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ledger_%'"
        )
        assert cursor.fetchone()[0] == len(TRIGGERS)
