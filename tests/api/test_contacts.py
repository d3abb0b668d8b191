"""/api/v1/contacts"""

import datetime as dt

from django.utils import timezone

from plixo.core.models import Role
from plixo.ledger.models import Contact, TimelineEvent
from tests.factories import ContactFactory, CustomerFactory

URL = "/api/v1/contacts"


def test_list_filters_by_customer_and_search(personas, controller_api, acme):
    other = CustomerFactory(organization=personas.org, name="Other")
    ContactFactory(customer=other, email="billing@other.example", name="Bea Billing")

    everyone = controller_api.get(URL).json()
    assert everyone["count"] == 2

    only_acme = controller_api.get(URL, {"customer": str(acme.customer.public_id)}).json()
    assert [c["email"] for c in only_acme["results"]] == ["ap-acme@payer.example"]
    assert only_acme["results"][0]["customer"] == {
        "id": str(acme.customer.public_id),
        "name": "ACME Customer",
    }

    found = controller_api.get(URL, {"search": "bea"}).json()["results"]
    assert [c["email"] for c in found] == ["billing@other.example"]


def test_filter_by_unknown_or_foreign_customer_is_422(controller_api, globex):
    for customer in (str(globex.customer.public_id), "0" * 32):
        response = controller_api.get(URL, {"customer": customer})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "customer"]
    assert controller_api.get(URL, {"customer": "nope"}).status_code == 422


def test_get_one(controller_api, acme):
    body = controller_api.get(f"{URL}/{acme.contact.public_id}").json()
    assert body["email"] == "ap-acme@payer.example"
    assert body["is_suppressed"] is False


def test_create_first_contact_becomes_primary(personas, controller_api):
    customer = CustomerFactory(organization=personas.org)

    response = controller_api.post(
        URL, {"customer": str(customer.public_id), "email": " AP@Payer.Example ", "name": "Al"}
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "ap@payer.example"
    assert body["is_primary"] is True
    assert Contact.objects.get(public_id=body["id"]).customer == customer


def test_create_rejects_bad_input(controller_api, acme, globex):
    customer = str(acme.customer.public_id)
    duplicate = controller_api.post(URL, {"customer": customer, "email": "ap-acme@payer.example"})
    assert duplicate.status_code == 400
    assert "already has a contact" in duplicate.json()["detail"]

    bad_email = controller_api.post(URL, {"customer": customer, "email": "not an email"})
    assert bad_email.status_code == 400
    assert "email" in bad_email.json()["detail"]

    foreign = controller_api.post(
        URL, {"customer": str(globex.customer.public_id), "email": "x@y.example"}
    )
    assert foreign.status_code == 422
    assert foreign.json()["detail"][0]["loc"] == ["body", "payload", "customer"]

    assert controller_api.post(URL, {"customer": customer}).status_code == 422
    assert Contact.objects.filter(customer=acme.customer).count() == 1


def test_update_primary_and_suppression(controller_api, acme):
    second = ContactFactory(customer=acme.customer, email="second@payer.example", is_primary=True)
    url = f"{URL}/{acme.contact.public_id}"
    until = (timezone.now() + dt.timedelta(days=400)).replace(microsecond=0)

    body = controller_api.patch(
        url,
        {"is_primary": True, "suppressed_until": until.isoformat(), "suppression_reason": "OOO"},
    ).json()

    assert body["is_primary"] is True
    assert body["is_suppressed"] is True
    assert body["suppressed_until"].startswith(until.date().isoformat())
    second.refresh_from_db()
    assert second.is_primary is False
    # Recorded like POST …/suppress: on the timeline of the customer's open invoices.
    assert TimelineEvent.objects.filter(kind="contact_suppressed").count() >= 1

    body = controller_api.patch(url, {"suppressed_until": None, "suppression_reason": ""}).json()
    assert body["is_suppressed"] is False
    assert TimelineEvent.objects.filter(kind="contact_unsuppressed").count() >= 1


def test_changing_a_suppression_by_patch_needs_the_suppress_capability(api_for, acme):
    url = f"{URL}/{acme.contact.public_id}"
    billing = api_for(Role.BILLING_ADMIN)  # may edit contacts, not suppress them
    response = billing.patch(url, {"suppressed_until": None, "suppression_reason": ""})
    assert response.status_code == 403
    response = billing.patch(url, {"suppression_reason": "Stop emailing"})
    assert response.status_code == 403
    acme.contact.refresh_from_db()
    assert acme.contact.suppression_reason == ""
    assert billing.patch(url, {"name": "Dana AP"}).status_code == 200


def test_update_rejects_duplicate_email_and_null_email(controller_api, acme):
    ContactFactory(customer=acme.customer, email="taken@payer.example")
    url = f"{URL}/{acme.contact.public_id}"
    assert controller_api.patch(url, {"email": "taken@payer.example"}).status_code == 400
    assert controller_api.patch(url, {"email": None}).status_code == 422


def test_csm_sees_contacts_of_own_customers_only(personas, api_for, acme):
    csm = personas.members[Role.CSM].user
    mine = CustomerFactory(organization=personas.org, owner=csm)
    ContactFactory(customer=mine, email="mine@payer.example")
    client = api_for(Role.CSM)

    assert [c["email"] for c in client.get(URL).json()["results"]] == ["mine@payer.example"]
    assert client.get(f"{URL}/{acme.contact.public_id}").status_code == 404
