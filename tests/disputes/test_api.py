"""/api/v1/disputes: list with filters and paging, get, create (JSON, evidence optional),
assign, route, review and resolve, with the web's rules and capabilities."""

import base64
from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.disputes.models import Dispute
from plixo.disputes.services import dispute_file
from plixo.ledger.models import InvoiceAdjustment, InvoiceStatus
from tests.api.conftest import client_for_membership
from tests.disputes import files

pytestmark = pytest.mark.django_db
BASE = "/api/v1/disputes"


@pytest.fixture
def api(personas):
    cache = {}

    def make(role):
        if role not in cache:
            cache[role] = client_for_membership(personas.members[role])
        return cache[role]

    return make


def file(invoice, **extra):
    args = {
        "invoice": invoice,
        "reason_code": "pricing",
        "amount": "100.00",
        "description": "Unit price differs.",
        "actor_label": "payer",
        "source": "portal",
    }
    return dispute_file(**{**args, **extra})


def test_create_with_evidence_then_get(open_invoice, api):
    body = {
        "invoice": str(open_invoice.public_id),
        "reason_code": "quantity",
        "amount": "300.00",
        "description": "Short shipped.",
        "evidence": [
            {"filename": "pod.pdf", "content_base64": base64.b64encode(files.PDF).decode()}
        ],
    }
    response = api(Role.AR_OPERATOR).post(BASE, body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["amount"] == "300.00" and data["currency"] == "USD"
    assert data["source"] == "api" and data["status"] == "open"
    assert data["attachments"][0]["name"] == "pod.pdf"
    assert data["sla"]["due_at"] and data["sla"]["business_seconds_left"] == 24 * 3600
    assert data["invoice"]["status"] == "disputed"
    got = api(Role.LEGAL).get(f"{BASE}/{data['id']}")
    assert got.status_code == 200 and got.json()["id"] == data["id"]


def test_create_without_amount_disputes_the_balance_and_refuses_bad_input(open_invoice, api):
    client = api(Role.AR_OPERATOR)
    body = {"invoice": str(open_invoice.public_id), "reason_code": "other", "description": "x"}
    assert client.post(BASE, body).json()["amount"] == "1250.00"
    assert client.post(BASE, {**body, "amount": "1.00"}).status_code == 201
    bad = client.post(
        BASE,
        {**body, "evidence": [{"filename": "x.pdf", "content_base64": "!!!notbase64"}]},
    )
    assert bad.status_code == 400
    html = base64.b64encode(files.HTML).decode()
    refused = client.post(
        BASE,
        {**body, "amount": "1.00", "evidence": [{"filename": "x.pdf", "content_base64": html}]},
    )
    assert refused.status_code == 400
    assert client.post(BASE, {**body, "reason_code": "nope"}).status_code == 422
    assert Dispute.objects.count() == 2


def test_create_needs_disputes_log(open_invoice, api):
    body = {"invoice": str(open_invoice.public_id), "reason_code": "other", "description": "x"}
    assert api(Role.LEGAL).post(BASE, body).status_code == 403
    assert api(Role.SALES).post(BASE, body).status_code == 403


def test_list_filters_and_pages(open_invoice, api, personas):
    first = file(open_invoice, amount="10.00")
    second = file(open_invoice, amount="20.00", reason_code="quantity")
    Dispute.objects.filter(pk=second.pk).update(assignee=personas.operator.user)
    client = api(Role.AR_OPERATOR)
    listed = client.get(BASE).json()
    assert [row["id"] for row in listed["results"]] == [str(first.public_id), str(second.public_id)]
    assert listed["count"] == 2
    assert client.get(BASE, {"assignee": "mine"}).json()["count"] == 1
    assert client.get(BASE, {"assignee": "unassigned"}).json()["count"] == 1
    email = personas.operator.user.email
    assert client.get(BASE, {"assignee": email}).json()["results"][0]["amount"] == "20.00"
    nobody = client.get(BASE, {"assignee": "nobody@x.example"})
    assert nobody.status_code == 422
    assert nobody.json()["detail"][0]["loc"] == ["query", "assignee"]
    assert client.get(BASE, {"reason": "quantity"}).json()["count"] == 1
    assert client.get(BASE, {"status": "resolved"}).json()["count"] == 0
    assert client.get(BASE, {"due": "breached"}).json()["count"] == 0
    page = client.get(BASE, {"limit": 1, "sort": "newest"}).json()
    assert page["results"][0]["amount"] == "20.00" and page["next_cursor"]
    nxt = client.get(BASE, {"limit": 1, "sort": "newest", "cursor": page["next_cursor"]}).json()
    assert nxt["results"][0]["amount"] == "10.00"
    assert client.get(BASE, {"offset": 1, "limit": 1}).json()["results"][0]["amount"] == "20.00"
    assert client.get(BASE, {"status": "bogus"}).status_code == 422


def test_assign_route_review_and_reject(open_invoice, api, personas):
    dispute = file(open_invoice)
    client = api(Role.AR_OPERATOR)
    url = f"{BASE}/{dispute.public_id}"
    legal = personas.members[Role.LEGAL].user
    assert client.post(f"{url}/assign", {"assignee": legal.email}).json()["assignee"] == legal.email
    assert client.post(f"{url}/assign", {"assignee": "nobody@x.example"}).status_code == 400
    assert client.post(f"{url}/route", {"team": "legal"}).json()["routed_to"] == "legal"
    assert client.post(f"{url}/route", {"team": "controller"}).status_code == 422
    assert client.post(f"{url}/review").json()["status"] == "under_review"
    resolved = client.post(f"{url}/resolve", {"outcome": "reject", "note": "Price is right."})
    assert resolved.status_code == 200
    data = resolved.json()
    assert data["status"] == "rejected" and data["resolved_at"]
    assert data["invoice"]["status"] == "open"
    assert client.post(f"{url}/resolve", {"outcome": "reject", "note": "Again"}).status_code == 400


def test_resolve_with_credit_and_with_approval(open_invoice, api, personas):
    dispute = file(open_invoice)
    operator = personas.operator
    operator.approval_limit = Decimal("50")
    operator.save(update_fields=["approval_limit"])
    response = api(Role.AR_OPERATOR).post(
        f"{BASE}/{dispute.public_id}/resolve", {"outcome": "credit", "note": "Contract price"}
    )
    data = response.json()
    assert response.status_code == 200
    assert data["status"] == "open" and data["pending_approval"]["status"] == "pending"
    assert "exceeds your $50.00 limit" in data["pending_approval"]["guardrail"]
    assert not InvoiceAdjustment.objects.exists()

    other = file(open_invoice, amount="40.00")
    done = api(Role.AR_OPERATOR).post(
        f"{BASE}/{other.public_id}/resolve",
        {"outcome": "credit", "amount": "30.00", "note": "Partial credit"},
    )
    assert done.json()["status"] == "resolved_credit"
    assert done.json()["resolution_amount"] == "30.00"
    open_invoice.refresh_from_db()
    assert open_invoice.balance == Decimal("1220.00")
    assert open_invoice.status == InvoiceStatus.DISPUTED  # the first dispute is still open


def test_write_off_needs_its_capability(open_invoice, api):
    dispute = file(open_invoice)
    url = f"{BASE}/{dispute.public_id}/resolve"
    body = {"outcome": "write_off", "note": "Small balance"}
    assert api(Role.AR_OPERATOR).post(url, body).status_code == 403
    assert api(Role.CONTROLLER).post(url, body).json()["status"] == "resolved_write_off"


def test_read_only_roles_and_outsiders(open_invoice, api, personas):
    dispute = file(open_invoice)
    for role in (Role.SALES, Role.BILLING_ADMIN):
        client = api(role)
        assert client.post(f"{BASE}/{dispute.public_id}/review").status_code == 403
    assert api(Role.SALES).get(f"{BASE}/{dispute.public_id}").status_code == 404  # not his account
    assert api(Role.CSM).get(f"{BASE}/{dispute.public_id}").status_code == 200
    outsider = client_for_membership(personas.outsider)
    assert outsider.get(f"{BASE}/{dispute.public_id}").status_code == 404
    assert outsider.get(BASE).json()["count"] == 0
