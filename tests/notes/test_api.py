"""/api/v1/notes: list a thread, add notes and replies, the caller's mentions, mark read."""

import pytest

from plixo.core.models import Role
from plixo.notes.models import Mention, Note
from plixo.notes.services import note_add
from tests.api.conftest import client_for_membership, make_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(personas):
    cache = {}

    def make(role):
        if role not in cache:
            cache[role] = client_for_membership(personas.members[role])
        return cache[role]

    return make


def test_create_list_and_answer_through_the_api(invoice, dispute, api, personas):
    created = api(Role.AR_MANAGER).post(
        "/api/v1/notes", {"dispute": str(dispute.public_id), "body": "@legal credit 10%?"}
    )
    assert created.status_code == 201, created.content
    note = created.json()
    assert note["invoice"]["number"] == "INV-N1"
    assert note["dispute"] == str(dispute.public_id) and note["parent"] is None
    assert note["mentions"] == [
        {
            "handle": "legal",
            "member": str(personas.members[Role.LEGAL].user.public_id),
            "read": False,
            "answered": False,
        }
    ]
    mentions = api(Role.LEGAL).get("/api/v1/notes/mentions").json()
    assert mentions["count"] == 1 and {"limit", "offset", "results"} <= set(mentions)
    assert mentions["results"][0]["note"]["body"] == "@legal credit 10%?"
    reply = api(Role.LEGAL).post(
        "/api/v1/notes", {"parent": note["id"], "body": "Approved up to 10%."}
    )
    assert reply.status_code == 201
    assert reply.json()["parent"] == note["id"] and reply.json()["dispute"] == str(
        dispute.public_id
    )
    assert api(Role.LEGAL).get("/api/v1/notes/mentions").json()["count"] == 0
    everything = api(Role.LEGAL).get("/api/v1/notes/mentions", {"status": "all"}).json()
    assert everything["results"][0]["answered_at"] is not None
    thread = api(Role.CONTROLLER).get("/api/v1/notes", {"invoice": str(invoice.public_id)}).json()
    assert [n["body"] for n in thread["results"]] == ["@legal credit 10%?", "Approved up to 10%."]
    by_dispute = api(Role.CONTROLLER).get("/api/v1/notes", {"dispute": str(dispute.public_id)})
    assert by_dispute.json()["count"] == 2


def test_a_refused_note_is_400_and_writes_nothing(invoice, api):
    response = api(Role.AR_MANAGER).post(
        "/api/v1/notes", {"invoice": str(invoice.public_id), "body": "@nobody look"}
    )
    assert response.status_code == 400
    assert "@nobody" in response.json()["detail"] and "@legal" in response.json()["detail"]
    response = api(Role.AR_MANAGER).post(
        "/api/v1/notes", {"invoice": str(invoice.public_id), "body": "nul \u0000 byte"}
    )
    assert response.status_code == 422
    response = api(Role.AR_MANAGER).post(
        "/api/v1/notes", {"invoice": str(invoice.public_id), "body": "x" * 2001}
    )
    assert response.status_code == 422
    response = api(Role.AR_MANAGER).post("/api/v1/notes", {"body": "where?"})
    assert response.status_code == 422
    assert Note.objects.count() == 0


def test_list_takes_at_most_one_thread_and_without_one_lists_every_visible_note(
    invoice, api, dispute
):
    from plixo.notes.services import note_add

    note_add(organization=invoice.organization, author=None, body="Called AP", invoice=invoice)
    everything = api(Role.LEGAL).get("/api/v1/notes")
    assert everything.status_code == 200
    assert [n["body"] for n in everything.json()["results"]] == ["Called AP"]
    both = {"invoice": str(invoice.public_id), "dispute": str(dispute.public_id)}
    assert api(Role.LEGAL).get("/api/v1/notes", both).status_code == 422


def test_scope_sales_and_other_organizations(invoice, unowned_invoice, api, personas):
    note_add(
        organization=personas.org,
        author=personas.members[Role.AR_MANAGER].user,
        body="internal",
        invoice=unowned_invoice,
    )
    sales = api(Role.SALES)
    response = sales.get("/api/v1/notes", {"invoice": str(unowned_invoice.public_id)})
    assert response.status_code == 422  # not visible: no such invoice for this key
    response = sales.post(
        "/api/v1/notes", {"invoice": str(unowned_invoice.public_id), "body": "hi"}
    )
    assert response.status_code == 422
    assert (
        sales.post("/api/v1/notes", {"invoice": str(invoice.public_id), "body": "hi"}).status_code
        == 201
    )
    outsider = client_for_membership(personas.outsider)
    response = outsider.get("/api/v1/notes", {"invoice": str(invoice.public_id)})
    assert response.status_code == 422


def test_mark_read_only_ones_own(invoice, api, personas):
    note = note_add(
        organization=personas.org,
        author=personas.members[Role.AR_MANAGER].user,
        body="@legal and @ar_operator",
        invoice=invoice,
    )
    mention = Mention.objects.get(note=note, handle="legal")
    url = f"/api/v1/notes/mentions/{mention.public_id}/read"
    refused = api(Role.AR_OPERATOR).post(url)
    assert refused.status_code == 400 and "@legal" in refused.json()["detail"]
    assert client_for_membership(personas.outsider).post(url).status_code == 404
    response = api(Role.LEGAL).post(url)
    assert response.status_code == 200 and response.json()["read_at"] is not None
    assert api(Role.LEGAL).get("/api/v1/notes/mentions").json()["count"] == 0
    assert api(Role.AR_OPERATOR).get("/api/v1/notes/mentions").json()["count"] == 1
    assert api(Role.LEGAL).post("/api/v1/notes/mentions/not-a-uuid/read").status_code == 404


def test_a_note_about_a_payment(personas, api):
    ledger = make_ledger(personas.org, tag="PAY")
    response = api(Role.BILLING_ADMIN).post(
        "/api/v1/notes",
        {
            "invoice": str(ledger.invoice.public_id),
            "body": "Refunded in Stripe.",
            "payment_reference": "PAY-PAY-1",
        },
    )
    assert response.status_code == 201
    assert response.json()["payment_reference"] == "PAY-PAY-1"
    event = ledger.invoice.timeline.get(kind="note")
    assert event.data["payment_reference"] == "PAY-PAY-1"
