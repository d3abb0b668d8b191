"""The same rule on the web and the API: a write-off above the limit becomes a request, the
inbox shows it, one click approves it."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from plixo.approvals.models import ApprovalRequest
from plixo.approvals.services import approval_approve, approval_route_set, role_limit_set
from plixo.core.models import Role
from plixo.ledger.models import InvoiceStatus
from tests.api.conftest import client_for_membership
from tests.approvals.conftest import make_invoice

Status = ApprovalRequest.Status


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def write_off_url(invoice) -> str:
    return reverse("ledger:invoice-write-off", kwargs={"invoice_id": invoice.public_id})


# --- web -----------------------------------------------------------------------------------------


def test_web_write_off_above_the_limit_asks_for_approval(personas, manager, invoice):
    client = personas.client_for(Role.AR_MANAGER)

    response = client.post(
        write_off_url(invoice), {"writeoff-reason": "Customer insolvent", "writeoff-amount": ""}
    )

    assert response.status_code == 302
    [message] = _messages(response)
    assert message.startswith(
        "Write-off of $1,704.77 exceeds your $1,000.00 limit — Controller approval required."
    )
    assert "Nothing was written off" in message
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1704.77")
    approval = ApprovalRequest.objects.get(invoice=invoice)
    assert (approval.status, approval.requested_by) == (Status.PENDING, manager.user)


def test_web_write_off_within_the_limit_is_unchanged(personas, manager, invoice):
    client = personas.client_for(Role.AR_MANAGER)
    response = client.post(
        write_off_url(invoice), {"writeoff-reason": "Bank fee", "writeoff-amount": "1000.00"}
    )
    assert response.status_code == 302
    assert _messages(response) == [f"$1,000.00 of {invoice.number} written off."]
    assert not ApprovalRequest.objects.exists()


def test_the_inbox_shows_the_request_and_one_click_approves_it(personas, manager, invoice):
    personas.client_for(Role.AR_MANAGER).post(
        write_off_url(invoice), {"writeoff-reason": "Customer insolvent"}
    )
    approval = ApprovalRequest.objects.get()
    controller = personas.client_for(Role.CONTROLLER)

    page = controller.get(reverse("approvals:inbox"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "exceeds your $1,000.00 limit" in html
    assert "Customer insolvent" in html
    approve_url = reverse("approvals:approve", kwargs={"approval_id": approval.public_id})
    reject_url = reverse("approvals:reject", kwargs={"approval_id": approval.public_id})
    assert approve_url in html and reject_url in html
    assert 'name="viewport"' in html  # the page is laid out for phones, as every page

    response = controller.post(approve_url, {"comment": ""})
    assert response.status_code == 302
    assert "approved and carried out" in _messages(response)[0]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF

    again = controller.post(approve_url, {"comment": ""})
    assert "already approved" in _messages(again)[-1]


def test_the_requester_sees_their_request_but_no_decision_buttons(personas, manager, invoice):
    client = personas.client_for(Role.AR_MANAGER)
    client.post(write_off_url(invoice), {"writeoff-reason": "Customer insolvent"})
    approval = ApprovalRequest.objects.get()
    html = client.get(reverse("approvals:inbox")).content.decode()
    assert "exceeds your $1,000.00 limit" in html
    assert reverse("approvals:approve", kwargs={"approval_id": approval.public_id}) not in html
    assert reverse("approvals:cancel", kwargs={"approval_id": approval.public_id}) in html
    # The manager's role cannot decide at all.
    response = client.post(reverse("approvals:approve", kwargs={"approval_id": approval.public_id}))
    assert response.status_code == 403


def test_self_approval_is_refused_on_the_web(personas, legal, invoice):
    legal.approval_limit = Decimal("100.00")
    legal.save()
    client = personas.client_for(Role.LEGAL)
    client.post(write_off_url(invoice), {"writeoff-reason": "Settled in court"})
    approval = ApprovalRequest.objects.get()
    response = client.post(
        reverse("approvals:approve", kwargs={"approval_id": approval.public_id}), {}
    )
    assert "own request" in _messages(response)[-1]
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_the_inbox_shows_the_median_turnaround(personas, manager, controller):
    for n in range(3):
        invoice = make_invoice(personas.org, number=f"INV-T-{n}")
        personas.client_for(Role.AR_MANAGER).post(
            write_off_url(invoice), {"writeoff-reason": "Small balance"}
        )
    for approval in ApprovalRequest.objects.all():
        approval_approve(approval=approval, actor=controller.user)
    html = personas.client_for(Role.CONTROLLER).get(reverse("approvals:inbox")).content.decode()
    assert "Median turnaround" in html
    assert "1 min" in html


def test_the_controller_sets_role_limits_and_routes_on_the_limits_page(personas, controller):
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(
        reverse("approvals:role-limit-set"),
        {"role": Role.AR_MANAGER, "amount": "2500.00", "reason": "New policy"},
    )
    assert response.status_code == 302
    response = client.post(
        reverse("approvals:route-set"),
        {"kind": "plan", "amount_above": "50000", "route_to": Role.LEGAL, "reason": "Big plans"},
    )
    assert response.status_code == 302
    page = client.get(reverse("approvals:limits")).content.decode()
    assert "$2,500.00" in page and "$50,000.00" in page
    refused = client.post(
        reverse("approvals:role-limit-set"),
        {"role": Role.AR_MANAGER, "amount": "2500.00", "reason": ""},
    )
    assert refused.status_code == 400
    assert personas.client_for(Role.AR_MANAGER).get(reverse("approvals:limits")).status_code == 403


# --- API -----------------------------------------------------------------------------------------


@pytest.fixture
def manager_api(personas, manager):
    return client_for_membership(manager)


def test_api_write_off_above_the_limit_answers_202_with_the_request(personas, manager_api, invoice):
    response = manager_api.post(
        f"/api/v1/invoices/{invoice.public_id}/write-off", {"reason": "Customer insolvent"}
    )
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "pending"
    assert body["amount"] == "1704.77"
    assert body["guardrail"] == (
        "Write-off of $1,704.77 exceeds your $1,000.00 limit — Controller approval required"
    )
    assert body["routed_to"] == "controller"
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1704.77")


def test_api_write_off_within_the_limit_answers_200(personas, manager_api, invoice):
    response = manager_api.post(
        f"/api/v1/invoices/{invoice.public_id}/write-off",
        {"reason": "Bank fee", "amount": "1000.00"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["balance"] == "704.77"


def test_api_write_off_needs_a_reason(personas, manager_api, invoice):
    response = manager_api.post(f"/api/v1/invoices/{invoice.public_id}/write-off", {"reason": ""})
    assert response.status_code == 422


def test_api_inbox_filters_and_decisions(personas, manager_api, legal, controller, invoice):
    approval_route_set(
        organization=personas.org,
        kind="write_off",
        amount_above="1500.00",
        route_to=Role.LEGAL,
        actor=controller.user,
        reason="Large write-offs to Legal",
    )
    small = make_invoice(personas.org, amount="1200.00", number="INV-SMALL")
    manager_api.post(f"/api/v1/invoices/{invoice.public_id}/write-off", {"reason": "Insolvent"})
    manager_api.post(f"/api/v1/invoices/{small.public_id}/write-off", {"reason": "Tiny"})
    legal_api = client_for_membership(legal)
    controller_api = client_for_membership(controller)

    everything = controller_api.get("/api/v1/approvals", {"status": "pending"}).json()
    assert everything["count"] == 2
    legal_sees = legal_api.get("/api/v1/approvals", {"kind": "write_off"}).json()
    assert [r["amount"] for r in legal_sees["results"]] == ["1704.77"]
    assert controller_api.get("/api/v1/approvals", {"kind": "plan"}).json()["count"] == 0
    assert controller_api.get("/api/v1/approvals", {"status": "nope"}).status_code == 422
    mine = manager_api.get("/api/v1/approvals").json()
    assert mine["count"] == 2
    page = controller_api.get("/api/v1/approvals", {"limit": 1}).json()
    assert page["next_cursor"]
    rest = controller_api.get("/api/v1/approvals", {"limit": 1, "cursor": page["next_cursor"]})
    assert rest.json()["results"][0]["id"] != page["results"][0]["id"]

    big_id = legal_sees["results"][0]["id"]
    rejected = legal_api.post(f"/api/v1/approvals/{big_id}/reject", {"comment": ""})
    assert rejected.status_code == 400
    approved = legal_api.post(f"/api/v1/approvals/{big_id}/approve", {"comment": "Court order"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == legal.user.email
    assert approved.json()["turnaround_seconds"] is not None
    assert legal_api.post(f"/api/v1/approvals/{big_id}/approve", {}).status_code == 400
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF

    small_id = next(
        r["id"] for r in everything["results"] if r["amount"] == "1200.00"
    )  # routed to the Controller: Legal may not decide it
    assert legal_api.post(f"/api/v1/approvals/{small_id}/approve", {}).status_code == 403
    done = controller_api.post(f"/api/v1/approvals/{small_id}/reject", {"comment": "Chase it"})
    assert done.json()["status"] == "rejected"
    small.refresh_from_db()
    assert small.balance == Decimal("1200.00")


def test_api_self_approval_is_refused(personas, legal, invoice, controller):
    role_limit_set(
        organization=personas.org,
        role=Role.LEGAL,
        amount="0",
        actor=controller.user,
        reason="Legal asks like everyone",
    )
    legal.approval_limit = Decimal("0")
    legal.save()
    legal_api = client_for_membership(legal)
    created = legal_api.post(
        f"/api/v1/invoices/{invoice.public_id}/write-off", {"reason": "Settled"}
    ).json()
    response = legal_api.post(f"/api/v1/approvals/{created['id']}/approve", {})
    assert response.status_code == 403
    assert "own request" in response.json()["detail"]


def test_the_invoice_page_warns_before_and_shows_the_pending_request(personas, manager, invoice):
    client = personas.client_for(Role.AR_MANAGER)
    url = reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})
    html = client.get(url).content.decode()
    assert "Whole balance: Write-off of $1,704.77 exceeds your $1,000.00 limit" in html

    client.post(write_off_url(invoice), {"writeoff-reason": "Customer insolvent"})
    html = client.get(url).content.decode()
    assert "waiting for Controller approval" in html
    # The Controller, who has no limit, is not warned.
    controller_html = personas.client_for(Role.CONTROLLER).get(url).content.decode()
    assert "Whole balance:" not in controller_html
