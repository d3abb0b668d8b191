"""/api/v1/invoices and /api/v1/invoices/{id}/timeline"""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.ledger.models import Invoice, InvoiceStatus, TimelineEvent
from plixo.ledger.selectors import org_today
from plixo.ledger.services import invoice_void
from tests.factories import CustomerFactory, InvoiceFactory

URL = "/api/v1/invoices"


@pytest.fixture
def aged(personas):
    """One open invoice in each aging bucket, plus a paid and a void one, for one customer."""
    today = org_today(personas.org)
    customer = CustomerFactory(organization=personas.org, name="Aged Co")

    def invoice(number, days_overdue, **extra):
        due = today - dt.timedelta(days=days_overdue)
        return InvoiceFactory(
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            **extra,
        )

    return {
        "current": invoice("A-CUR", -5, amount=Decimal("100.00")),
        "1_30": invoice("A-01", 1, amount=Decimal("200.00")),
        "31_60": invoice("A-45", 45, amount=Decimal("300.00")),
        "61_90": invoice("A-90", 90, amount=Decimal("400.00")),
        "90_plus": invoice("A-91", 91, amount=Decimal("500.00"), po_number="PO-SPECIAL"),
        "paid": invoice("A-PAID", 10, status=InvoiceStatus.PAID, balance=Decimal("0")),
        "customer": customer,
    }


def numbers(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [invoice["number"] for invoice in response.json()["results"]]


def test_money_is_a_string_in_the_currencys_minor_units(personas, controller_api):
    customer = CustomerFactory(organization=personas.org)
    usd = InvoiceFactory(customer=customer, currency="USD", amount=Decimal("1250.5"))
    jpy = InvoiceFactory(customer=customer, currency="JPY", amount=Decimal("125000"))
    kwd = InvoiceFactory(customer=customer, currency="KWD", amount=Decimal("1.25"))

    def money(invoice):
        body = controller_api.get(f"{URL}/{invoice.public_id}").json()
        return body["amount"], body["balance"]

    assert money(usd) == ("1250.50", "1250.50")
    assert money(jpy) == ("125000", "125000")
    assert money(kwd) == ("1.250", "1.250")


def test_filter_by_status(controller_api, aged, acme):
    assert numbers(controller_api.get(URL, {"status": "paid"})) == ["A-PAID"]
    open_numbers = numbers(controller_api.get(URL, {"status": "open", "limit": 200}))
    assert "INV-ACME-1" in open_numbers  # partially paid counts as open
    assert "A-PAID" not in open_numbers
    assert numbers(controller_api.get(URL, {"status": "partially_paid"})) == ["INV-ACME-1"]


@pytest.mark.parametrize(
    ("bucket", "expected"),
    [
        ("current", ["A-CUR"]),
        ("1_30", ["A-01"]),
        ("31_60", ["A-45"]),
        ("61_90", ["A-90"]),
        ("90_plus", ["A-91"]),
        ("any", ["A-91", "A-90", "A-45", "A-01"]),
    ],
)
def test_filter_by_overdue_bucket(controller_api, aged, bucket, expected):
    params = {"overdue": bucket, "customer": str(aged["customer"].public_id)}
    assert numbers(controller_api.get(URL, params)) == expected


def test_filter_by_customer_search_and_sort(controller_api, aged, acme):
    by_customer = numbers(controller_api.get(URL, {"customer": str(acme.customer.public_id)}))
    assert by_customer == ["INV-ACME-1"]
    assert numbers(controller_api.get(URL, {"search": "po-special"})) == ["A-91"]
    assert numbers(
        controller_api.get(URL, {"search": "aged co", "sort": "-amount", "limit": 3})
    ) == [
        "A-PAID",
        "A-91",
        "A-90",
    ]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "overdue"},
        {"overdue": "2_weeks"},
        {"sort": "random"},
        {"customer": "not-a-uuid"},
        {"customer": "00000000-0000-0000-0000-000000000000"},
        {"limit": 1000},
    ],
)
def test_bad_filters_are_422(controller_api, params):
    response = controller_api.get(URL, params)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "query"


def test_get_one_and_bad_ids(controller_api, acme, globex):
    body = controller_api.get(f"{URL}/{acme.invoice.public_id}").json()
    assert body["number"] == "INV-ACME-1"
    assert body["status"] == "partially_paid"
    assert (body["amount"], body["balance"]) == ("1250.00", "1050.00")
    assert body["customer"]["id"] == str(acme.customer.public_id)
    dt.date.fromisoformat(body["due_date"])

    for bad in ("123", "not-a-uuid", str(globex.invoice.public_id), acme.invoice.pk):
        response = controller_api.get(f"{URL}/{bad}")
        assert response.status_code == 404, bad
        assert response.json()["request_id"] == response.headers["X-Request-ID"]


def test_create(personas, controller_api, acme):
    response = controller_api.post(
        URL,
        {
            "customer": str(acme.customer.public_id),
            "number": "INV-9001",
            "issue_date": "2026-01-10",
            "due_date": "2026-02-09",
            "amount": "999.9",
            "po_number": "PO-77",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["balance"], body["currency"]) == ("999.90", "999.90", "USD")
    assert body["status"] == "open"
    invoice = Invoice.objects.get(public_id=body["id"])
    assert invoice.organization == personas.org
    event = invoice.timeline.get()
    assert event.kind == TimelineEvent.Kind.CREATED
    assert event.actor == personas.controller.user


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"amount": 999.9}, 422, "string"),
        ({"amount": "-5"}, 422, "pattern"),
        ({"amount": "12.345"}, 400, "decimal places"),
        ({"amount": "0"}, 400, "greater than zero"),
        ({"currency": "XYZ"}, 400, "ISO 4217"),
        ({"due_date": "2025-12-01"}, 400, "before the issue date"),
        ({"due_date": "31/12/2026"}, 422, "date"),
        ({"number": "INV-ACME-1"}, 400, "already exists"),
        ({"customer": "00000000-0000-0000-0000-000000000000"}, 422, "No customer"),
    ],
)
def test_create_rejects_bad_input(controller_api, acme, change, status, message):
    payload = {
        "customer": str(acme.customer.public_id),
        "number": "INV-NEW",
        "issue_date": "2026-01-10",
        "due_date": "2026-02-09",
        "amount": "100.00",
        **change,
    }
    response = controller_api.post(URL, payload)
    assert response.status_code == status, response.content
    assert message in str(response.json()["detail"])
    assert not Invoice.objects.filter(number="INV-NEW").exists()


def test_create_for_a_customer_of_another_organization_is_422(controller_api, globex):
    response = controller_api.post(
        URL,
        {
            "customer": str(globex.customer.public_id),
            "number": "INV-X",
            "issue_date": "2026-01-10",
            "due_date": "2026-02-09",
            "amount": "1.00",
        },
    )
    assert response.status_code == 422
    assert not Invoice.objects.filter(number="INV-X").exists()


def test_update_changes_amount_and_keeps_what_was_paid(personas, controller_api, acme):
    url = f"{URL}/{acme.invoice.public_id}"

    body = controller_api.patch(url, {"amount": "1500.00", "description": "Revised"}).json()

    assert (body["amount"], body["balance"], body["description"]) == (
        "1500.00",
        "1300.00",
        "Revised",
    )
    event = acme.invoice.timeline.filter(kind=TimelineEvent.Kind.UPDATED).get()
    assert event.data["changes"]["description"]["to"] == "Revised"
    assert event.actor == personas.controller.user

    too_low = controller_api.patch(url, {"amount": "100.00"})
    assert too_low.status_code == 400
    assert "already been paid" in too_low.json()["detail"]


def test_update_of_a_closed_invoice_is_400(personas, controller_api):
    invoice = InvoiceFactory(customer=CustomerFactory(organization=personas.org))
    invoice_void(invoice=invoice, actor=None, reason="Issued twice")

    response = controller_api.patch(f"{URL}/{invoice.public_id}", {"po_number": "PO-1"})

    assert response.status_code == 400
    assert "can no longer be edited" in response.json()["detail"]


def test_update_rejects_null_and_unknown_types(controller_api, acme):
    url = f"{URL}/{acme.invoice.public_id}"
    assert controller_api.patch(url, {"amount": None}).status_code == 422
    assert controller_api.patch(url, {"issue_date": "yesterday"}).status_code == 422


def test_timeline_newest_first_and_paginated(controller_api, acme):
    url = f"{URL}/{acme.invoice.public_id}/timeline"

    page = controller_api.get(url).json()
    # The partial payment also brought the overdue invoice into its cadence, which drafted
    # the step that is due.
    assert page["count"] == 3
    kinds = [event["kind"] for event in page["results"]]
    assert kinds == ["email_drafted", "payment_recorded", "created"]
    assert page["results"][1]["label"] == "Payment recorded"
    assert page["results"][1]["data"]["reference"] == "PAY-ACME-1"

    second = controller_api.get(url, {"limit": 1, "offset": 2}).json()
    assert [event["kind"] for event in second["results"]] == ["created"]


def test_sales_see_invoices_of_their_own_customers_only(personas, api_for, acme):
    sales = personas.members[Role.SALES].user
    mine = InvoiceFactory(customer=CustomerFactory(organization=personas.org, owner=sales))
    client = api_for(Role.SALES)

    assert numbers(client.get(URL)) == [mine.number]
    assert client.get(f"{URL}/{acme.invoice.public_id}").status_code == 404
    assert client.get(f"{URL}/{acme.invoice.public_id}/timeline").status_code == 404


# A customer's open balance is cached in ten-thousandths in a 64-bit integer: about 922
# trillion per currency, less than the 10^15 one invoice may be. Past it the database refused
# the write (a 500 on both databases), found by the schema fuzzer.
BALANCE_LIMIT_MESSAGE = "past 1,000,000,000,000"


def _new_invoice(acme, number: str, amount: str) -> dict:
    return {
        "customer": str(acme.customer.public_id),
        "number": number,
        "issue_date": "2026-11-01",
        "due_date": "2026-12-01",
        "currency": "USD",
        "amount": amount,
    }


def test_an_invoice_of_a_trillion_or_more_is_refused(controller_api, acme):
    response = controller_api.post(URL, _new_invoice(acme, "INV-HUGE", "999999999999999"))

    assert response.status_code in (400, 422), response.content
    assert "too large an amount" in response.content.decode()
    assert not Invoice.objects.filter(number="INV-HUGE").exists()


def test_an_invoice_just_under_a_trillion_keeps_every_cent(controller_api, acme):
    response = controller_api.post(URL, _new_invoice(acme, "INV-BIG", "999999999999.99"))

    assert response.status_code == 201, response.content
    assert Invoice.objects.get(number="INV-BIG").balance == Decimal("999999999999.99")


def test_an_invoice_larger_than_a_customer_balance_can_hold_is_400(
    controller_api, acme, monkeypatch
):
    # The real limit (about 922 trillion) takes about a thousand of the largest invoices.
    monkeypatch.setattr("plixo.ledger.services.balances.OPEN_UNITS_MAX", 10**15)
    response = controller_api.post(URL, _new_invoice(acme, "INV-HUGE", "999999999999"))

    assert response.status_code == 400, response.content
    assert "past 100,000,000,000" in response.json()["detail"]
    assert not Invoice.objects.filter(number="INV-HUGE").exists()


def test_invoices_whose_sum_a_customer_balance_cannot_hold_are_400(
    controller_api, acme, monkeypatch
):
    monkeypatch.setattr("plixo.ledger.services.balances.OPEN_UNITS_MAX", 10**16)
    half = "600000000000.00"
    first = controller_api.post(URL, _new_invoice(acme, "INV-HALF-1", half))
    second = controller_api.post(URL, _new_invoice(acme, "INV-HALF-2", half))
    raised = controller_api.patch(f"{URL}/{acme.invoice.public_id}", {"amount": half})

    assert first.status_code == 201, first.content
    assert (second.status_code, raised.status_code) == (400, 400)
    assert BALANCE_LIMIT_MESSAGE in second.json()["detail"]
    assert BALANCE_LIMIT_MESSAGE in raised.json()["detail"]
    assert not Invoice.objects.filter(number="INV-HALF-2").exists()
    acme.invoice.refresh_from_db()
    assert acme.invoice.amount == Decimal("1250.00")
