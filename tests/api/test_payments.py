"""/api/v1/payments"""

from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.ledger.models import InvoiceStatus, Payment, PaymentSource, TimelineEvent
from plixo.ledger.services import AllocationRequest, payment_record
from tests.factories import CustomerFactory, InvoiceFactory

URL = "/api/v1/payments"


@pytest.fixture
def two_invoices(personas):
    customer = CustomerFactory(organization=personas.org, name="Payer Inc")
    first = InvoiceFactory(customer=customer, number="P-1", amount=Decimal("100.00"))
    second = InvoiceFactory(customer=customer, number="P-2", amount=Decimal("250.00"))
    return customer, first, second


def test_create_with_allocations(personas, api_for, two_invoices):
    customer, first, second = two_invoices
    client = api_for(Role.AR_OPERATOR)

    response = client.post(
        URL,
        {
            "reference": "WIRE-1",
            "amount": "300.00",
            "currency": "USD",
            "method": "wire",
            "received_at": "2026-03-01T10:00:00Z",
            "allocations": [
                {"invoice": str(first.public_id), "amount": "100.00"},
                {"invoice": str(second.public_id), "amount": "150"},
            ],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["allocated_amount"], body["unapplied_amount"]) == (
        "300.00",
        "250.00",
        "50.00",
    )
    assert body["source"] == "api" and body["method"] == "wire"
    assert body["received_at"].startswith("2026-03-01T10:00:00")
    assert body["customer"] == {"id": str(customer.public_id), "name": "Payer Inc"}
    assert body["allocations"] == [
        {"invoice": str(first.public_id), "invoice_number": "P-1", "amount": "100.00"},
        {"invoice": str(second.public_id), "invoice_number": "P-2", "amount": "150.00"},
    ]
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, first.balance) == (InvoiceStatus.PAID, Decimal("0"))
    assert (second.status, second.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("100"))
    event = second.timeline.get(kind=TimelineEvent.Kind.PAYMENT_RECORDED)
    assert event.actor == personas.operator.user
    assert Payment.objects.get(public_id=body["id"]).source == PaymentSource.API


def test_create_without_allocations_stays_unapplied(controller_api):
    response = controller_api.post(URL, {"reference": "CHK-1", "amount": "10", "currency": "eur"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["currency"], body["unapplied_amount"], body["allocations"]) == ("EUR", "10.00", [])
    assert body["method"] == "other" and body["customer"] is None


def _allocate(amount: str, *more: str) -> dict:
    return {"allocations": [{"amount": a} for a in (amount, *more)]}


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        (_allocate("60.00", "50.00"), 400, "exceed the payment"),
        ({"amount": "500.00", **_allocate("150.00")}, 400, "more than its balance"),
        ({"currency": "EUR"}, 400, "is in USD"),
        ({"reference": "TAKEN"}, 400, "already exists"),
        ({"amount": 100}, 422, "string"),
        ({"method": "bitcoin"}, 422, "method"),
        (_allocate("0"), 400, "more than zero"),
        (_allocate("1.001"), 400, "decimal places"),
    ],
)
def test_create_rejects_bad_input_and_changes_nothing(
    personas, controller_api, two_invoices, change, status, message
):
    _, first, _ = two_invoices
    payment_record(organization=personas.org, reference="TAKEN", amount="1.00", currency="USD")
    payload = {"reference": "NEW-1", "amount": "100.00", "currency": "USD", **_allocate("100.00")}
    payload.update(change)
    for allocation in payload["allocations"]:
        allocation["invoice"] = str(first.public_id)

    response = controller_api.post(URL, payload)

    assert response.status_code == status, response.content
    assert message in str(response.json()["detail"])
    assert not Payment.objects.filter(reference="NEW-1").exists()
    first.refresh_from_db()
    assert first.balance == Decimal("100.00") and first.status == InvoiceStatus.OPEN


def test_allocation_to_another_organizations_invoice_is_422(controller_api, globex):
    response = controller_api.post(
        URL,
        {
            "reference": "X-1",
            "amount": "10.00",
            "currency": "USD",
            "allocations": [{"invoice": str(globex.invoice.public_id), "amount": "10.00"}],
        },
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "allocations", 0, "invoice"]
    assert not Payment.objects.filter(reference="X-1").exists()


def test_list_and_get(controller_api, acme):
    page = controller_api.get(URL).json()
    assert page["count"] == 1
    assert page["results"][0]["reference"] == "PAY-ACME-1"

    body = controller_api.get(f"{URL}/{acme.payment.public_id}").json()
    assert body["allocations"] == [
        {"invoice": str(acme.invoice.public_id), "invoice_number": "INV-ACME-1", "amount": "200.00"}
    ]
    by_customer = controller_api.get(URL, {"customer": str(acme.customer.public_id)}).json()
    assert by_customer["count"] == 1
    assert controller_api.get(URL, {"customer": "f" * 32}).status_code == 422


def test_list_paginates(personas, controller_api):
    for n in range(3):
        payment_record(organization=personas.org, reference=f"R-{n}", amount="1.00", currency="USD")
    page = controller_api.get(URL, {"limit": 2}).json()
    assert (page["count"], len(page["results"])) == (3, 2)
    assert controller_api.get(URL, {"limit": 500}).status_code == 422


def test_csm_sees_own_payments_and_only_visible_allocations(personas, api_for):
    csm = personas.members[Role.CSM].user
    mine = CustomerFactory(organization=personas.org, owner=csm)
    theirs = CustomerFactory(organization=personas.org)
    my_invoice = InvoiceFactory(customer=mine, number="MINE-1")
    their_invoice = InvoiceFactory(customer=theirs, number="THEIRS-1")
    payment = payment_record(
        organization=personas.org,
        reference="SPLIT",
        amount="200.00",
        currency="USD",
        customer=mine,
        allocations=[
            AllocationRequest(invoice=my_invoice, amount=Decimal("100")),
            AllocationRequest(invoice=their_invoice, amount=Decimal("100")),
        ],
    )
    other = payment_record(
        organization=personas.org,
        reference="OTHER",
        amount="5.00",
        currency="USD",
        customer=theirs,
    )
    client = api_for(Role.CSM)

    page = client.get(URL).json()
    assert [p["reference"] for p in page["results"]] == ["SPLIT"]
    body = client.get(f"{URL}/{payment.public_id}").json()
    assert [a["invoice_number"] for a in body["allocations"]] == ["MINE-1"]
    assert client.get(f"{URL}/{other.public_id}").status_code == 404
