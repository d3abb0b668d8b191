"""Staff side of payer links: the invoice page's Pay link card, Regenerate, and the API."""

import pytest
from django.test import Client

from plixo.core.models import Role
from plixo.portal.models import PortalLink
from plixo.portal.selectors import token_hash
from tests.api.conftest import client_for_membership
from tests.portal.conftest import open_portal

pytestmark = pytest.mark.django_db


def _detail(invoice) -> str:
    return f"/invoices/{invoice.public_id}/"


def test_regenerate_shows_the_link_once_and_revokes_the_old_ones(personas, billed):
    old = open_portal(billed.invoice)
    staff = personas.client_for(Role.AR_OPERATOR)
    page = staff.get(_detail(billed.invoice)).content.decode()
    assert "Pay link" in page and "Regenerate pay link" in page and "Opened" in page

    response = staff.post(f"/invoices/{billed.invoice.public_id}/portal-link/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    url = next(part for part in body.split('"') if "/p/" in part and part.startswith("http"))
    token = url.rsplit("/p/", 1)[1]
    link = PortalLink.objects.get(invoice=billed.invoice, revoked_at=None)
    assert link.token_hash == token_hash(token) and link.created_by == personas.operator.user
    assert old.get("/portal/").status_code == 403  # the earlier session has ended
    # The invoice page shows the link's state, never the token again.
    page = staff.get(_detail(billed.invoice)).content.decode()
    assert token not in page and "Not opened yet" in page
    assert billed.invoice.timeline.filter(kind="portal_link_issued").count() == 2
    assert Client().get(url.split("testserver", 1)[1]).status_code == 200


def test_roles_without_the_capability_see_no_button(personas, billed):
    # Legal reads every account but may not issue links.
    page = personas.client_for(Role.LEGAL).get(_detail(billed.invoice)).content.decode()
    assert (
        "Pay link" in page and "Regenerate pay link" not in page and "Create pay link" not in page
    )


def test_the_api_issues_an_absolute_link_and_revokes_the_earlier_ones(personas, billed):
    api = client_for_membership(personas.controller)
    first = api.post(f"/api/v1/invoices/{billed.invoice.public_id}/portal-link")
    second = api.post(f"/api/v1/invoices/{billed.invoice.public_id}/portal-link")
    assert first.status_code == second.status_code == 201
    url = second.json()["url"]
    assert url.startswith("http://testserver/p/")
    assert Client().get(first.json()["url"].removeprefix("http://testserver")).status_code == 410
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    assert PortalLink.objects.filter(invoice=billed.invoice, revoked_at=None).count() == 1


def test_the_api_refuses_a_void_invoice_with_a_message(personas, billed):
    from plixo.ledger.services import invoice_void

    invoice_void(invoice=billed.invoice, actor=None, reason="Issued twice")
    response = client_for_membership(personas.controller).post(
        f"/api/v1/invoices/{billed.invoice.public_id}/portal-link"
    )
    assert response.status_code == 400
    assert "void" in response.json()["detail"]


@pytest.mark.parametrize(
    ("source", "credited"),
    [("renewal", "the payer's renewal request"), ("demo", "the demo set-up"), ("", "Plixo")],
)
def test_the_pay_link_card_says_who_issued_a_link_and_never_claims_it_was_sent(
    personas, billed, source, credited
):
    from plixo.portal.services import portal_link_issue

    portal_link_issue(invoice=billed.invoice, source=source)

    page = personas.client_for(Role.AR_OPERATOR).get(_detail(billed.invoice)).content.decode()

    assert "not sent by Plixo" in page and "Sent to" not in page
    assert f"by {credited}." in page.replace("&#x27;", "'")


def test_a_new_link_can_be_copied_in_one_click(personas, billed):
    body = (
        personas.client_for(Role.AR_OPERATOR)
        .post(f"/invoices/{billed.invoice.public_id}/portal-link/")
        .content.decode()
    )

    assert 'data-copy="#pay-link"' in body and ">Copy</button>" in body
