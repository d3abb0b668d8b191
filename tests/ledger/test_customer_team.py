"""Who follows a customer: the A/R Manager sets its collector (whose queue holds it) and its
owner from the customer page; other roles cannot, and only members of the organization can be
chosen."""

import pytest
from django.urls import reverse

from plixo.core.models import Role
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _url(customer, name="ledger:customer-team"):
    return reverse(name, kwargs={"customer_id": customer.public_id})


def test_the_manager_sets_collector_and_owner(personas):
    customer = CustomerFactory(organization=personas.org)
    operator, sales = personas.members[Role.AR_OPERATOR], personas.members[Role.SALES]
    client = personas.client_for(Role.AR_MANAGER)

    page = client.get(_url(customer, "ledger:customer-detail")).content.decode()
    assert "Change the account team" in page

    response = client.post(
        _url(customer), {"collector": str(operator.public_id), "owner": str(sales.public_id)}
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.collector, customer.owner) == (operator.user, sales.user)


def test_a_sales_member_cannot_be_the_collector_and_nobody_clears_it(personas):
    customer = CustomerFactory(
        organization=personas.org, collector=personas.members[Role.AR_OPERATOR].user
    )
    client = personas.client_for(Role.AR_MANAGER)

    client.post(_url(customer), {"collector": str(personas.members[Role.SALES].public_id)})
    customer.refresh_from_db()
    assert customer.collector == personas.members[Role.AR_OPERATOR].user  # refused, unchanged

    client.post(_url(customer), {"collector": "", "owner": ""})
    customer.refresh_from_db()
    assert customer.collector is None


def test_an_outsider_cannot_be_chosen_and_an_operator_may_not_change_the_team(personas):
    customer = CustomerFactory(organization=personas.org)
    manager = personas.client_for(Role.AR_MANAGER)

    manager.post(_url(customer), {"collector": str(personas.outsider.public_id)})
    customer.refresh_from_db()
    assert customer.collector is None

    operator = personas.client_for(Role.AR_OPERATOR)
    assert operator.post(_url(customer), {"collector": ""}).status_code == 403
    page = operator.get(_url(customer, "ledger:customer-detail")).content.decode()
    assert "Change the account team" not in page
