"""/api/v1/customers"""

import pytest

from plixo.core.models import Role
from plixo.ledger.models import Customer
from tests.factories import CustomerFactory, InvoiceFactory

URL = "/api/v1/customers"


def test_list_paginates_with_a_maximum(personas, controller_api):
    for n in range(5):
        CustomerFactory(organization=personas.org, name=f"Customer {n}")
    CustomerFactory(organization=personas.other_org, name="Customer of Globex")

    page = controller_api.get(URL, {"limit": 2, "offset": 2}).json()

    assert page["count"] == 5
    assert (page["limit"], page["offset"]) == (2, 2)
    assert [c["name"] for c in page["results"]] == ["Customer 2", "Customer 3"]
    assert controller_api.get(URL, {"offset": 4}).json()["results"][0]["name"] == "Customer 4"
    assert controller_api.get(URL, {"offset": 10}).json()["results"] == []
    for bad in ({"limit": 201}, {"limit": 0}, {"offset": -1}, {"limit": "many"}):
        response = controller_api.get(URL, bad)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"][0] == "query"


def test_list_search_and_open_invoice_count(personas, controller_api):
    acme_corp = CustomerFactory(organization=personas.org, name="Acme Corp", external_id="E-1")
    CustomerFactory(organization=personas.org, name="Initech", external_id="E-2")
    InvoiceFactory(customer=acme_corp)
    InvoiceFactory(customer=acme_corp)

    results = controller_api.get(URL, {"search": "acme"}).json()["results"]
    assert [(c["name"], c["open_invoices"]) for c in results] == [("Acme Corp", 2)]
    results = controller_api.get(URL, {"search": "E-2"}).json()["results"]
    assert [c["name"] for c in results] == ["Initech"]


def test_sales_see_only_the_customers_they_own(personas, api_for):
    sales = personas.members[Role.SALES].user
    mine = CustomerFactory(organization=personas.org, owner=sales, name="Mine")
    theirs = CustomerFactory(organization=personas.org, name="Not mine")
    client = api_for(Role.SALES)

    assert [c["name"] for c in client.get(URL).json()["results"]] == ["Mine"]
    assert client.get(f"{URL}/{mine.public_id}").json()["owner_email"] == sales.email
    assert client.get(f"{URL}/{theirs.public_id}").status_code == 404


def test_get_one_with_open_balances_as_strings(personas, controller_api, acme):
    body = controller_api.get(f"{URL}/{acme.customer.public_id}").json()

    assert body["id"] == str(acme.customer.public_id)
    assert body["external_id"] == "EXT-ACME"
    assert body["open_balances"] == [{"currency": "USD", "balance": "1050.00", "count": 1}]
    assert "pk" not in body and acme.customer.pk not in body.values()


def test_create_uses_the_organizations_defaults(personas, controller_api):
    owner = personas.members[Role.CSM].user
    response = controller_api.post(
        URL,
        {
            "external_id": "C-100",
            "name": " Wayne Enterprises ",
            "owner_email": owner.email,
            "country": "us",
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(public_id=body["id"])
    assert customer.organization == personas.org
    assert customer.name == "Wayne Enterprises"
    assert customer.owner == owner
    assert customer.country == "US"
    assert (body["time_zone"], body["currency"]) == ("America/New_York", "USD")
    assert body["open_balances"] == []


@pytest.mark.parametrize(
    ("payload", "status", "message"),
    [
        ({"external_id": "EXT-ACME", "name": "Dup"}, 400, "already exists"),
        ({"external_id": "C-1", "name": "X", "time_zone": "Mars/Olympus"}, 400, "time zone"),
        ({"external_id": "C-1", "name": "X", "currency": "ZZZ"}, 400, "currency"),
        ({"external_id": "C-1", "name": "X", "owner_email": "no@one.example"}, 422, "member"),
        ({"external_id": "C-1", "name": "X", "risk_score": 101}, 422, "less than or equal"),
        ({"external_id": "C-1"}, 422, "Field required"),
        ({"external_id": "", "name": "X"}, 422, "at least 1"),
    ],
)
def test_create_rejects_bad_input(controller_api, acme, payload, status, message):
    response = controller_api.post(URL, payload)

    assert response.status_code == status, response.content
    assert message in str(response.json()["detail"])
    assert Customer.objects.count() == 1  # the fixture's only


def test_owner_must_be_a_member_of_this_organization(personas, controller_api):
    response = controller_api.post(
        URL,
        {"external_id": "C-1", "name": "X", "owner_email": personas.outsider.user.email},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "payload", "owner_email"]


def test_update_changes_only_the_fields_sent(personas, controller_api, acme):
    url = f"{URL}/{acme.customer.public_id}"
    owner = personas.members[Role.SALES].user

    body = controller_api.patch(url, {"segment": "enterprise", "owner_email": owner.email}).json()
    assert (body["segment"], body["owner_email"], body["name"]) == (
        "enterprise",
        owner.email,
        "ACME Customer",
    )

    body = controller_api.patch(url, {"owner_email": None}).json()
    assert body["owner_email"] is None
    assert body["segment"] == "enterprise"


def test_the_collector_is_set_and_cleared_by_email(personas, controller_api, acme):
    url = f"{URL}/{acme.customer.public_id}"
    operator = personas.members[Role.AR_OPERATOR].user

    body = controller_api.patch(url, {"collector_email": operator.email}).json()
    assert body["collector_email"] == operator.email
    assert controller_api.get(URL).json()["results"][0]["collector_email"] == operator.email

    refused = controller_api.patch(url, {"collector_email": personas.outsider.user.email})
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "payload", "collector_email"]

    assert controller_api.patch(url, {"collector_email": None}).json()["collector_email"] is None


def test_update_rejects_bad_input(personas, controller_api, acme):
    other = CustomerFactory(organization=personas.org, external_id="TAKEN")
    url = f"{URL}/{acme.customer.public_id}"

    assert controller_api.patch(url, {"external_id": "TAKEN"}).status_code == 400
    assert controller_api.patch(url, {"name": None}).status_code == 422
    assert controller_api.patch(url, {"risk_score": -1}).status_code == 422
    assert controller_api.patch(f"{URL}/{other.public_id}x", {}).status_code == 404
    acme.customer.refresh_from_db()
    assert acme.customer.external_id == "EXT-ACME"
