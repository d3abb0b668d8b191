"""Suppressing a contact from the customer page, and lifting it."""

import datetime as dt
import re

import pytest
from django.urls import reverse

from plixo.comms.services import SUPPRESSION_KINDS, contact_suppress
from plixo.core.models import Role
from plixo.ledger.models import TimelineEvent
from tests.comms.conftest import NOON_NY, invoice_due
from tests.factories import ContactFactory, CustomerFactory

ALLOWED = [Role.CONTROLLER, Role.AR_MANAGER, Role.AR_OPERATOR]
REFUSED = [Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL]


def suppress_url(contact):
    return reverse("comms:contact-suppress", kwargs={"contact_id": contact.public_id})


def unsuppress_url(contact):
    return reverse("comms:contact-unsuppress", kwargs={"contact_id": contact.public_id})


def customer_url(customer):
    return reverse("ledger:customer-detail", kwargs={"customer_id": customer.public_id})


@pytest.fixture
def paris_org(personas):
    personas.org.time_zone = "Europe/Paris"
    personas.org.save(update_fields=["time_zone"])
    return personas.org


@pytest.mark.parametrize("role", ALLOWED)
def test_suppress_until_a_date_is_local_midnight_of_the_organization(
    personas, paris_org, customer, contact, clock, role
):
    invoice = invoice_due(customer, NOON_NY.date())
    response = personas.client_for(role).post(
        suppress_url(contact),
        {"kind": "vacation", "note": "Back after Easter", "until": "2026-04-13"},
    )
    assert response.status_code == 302
    assert response["Location"] == customer_url(customer)
    contact.refresh_from_db()
    assert contact.suppression_kind == "vacation"
    assert contact.suppression_reason == "Vacation: Back after Easter"
    # Midnight in Paris on April 13th (summer time, UTC+2) is 22:00 UTC the day before.
    assert contact.suppressed_until == dt.datetime(2026, 4, 12, 22, 0, tzinfo=dt.UTC)
    event = TimelineEvent.objects.get(invoice=invoice, kind="contact_suppressed")
    assert event.data["contact"] == "ap@initech.example"
    assert event.actor == personas.members[role].user


def test_suppress_without_a_date_lasts_until_lifted(personas, customer, contact, clock):
    client = personas.client_for(Role.AR_OPERATOR)
    client.post(suppress_url(contact), {"kind": "relationship", "note": ""})
    contact.refresh_from_db()
    assert contact.suppressed_until is None
    assert contact.is_suppressed
    assert contact.suppression_reason == "Relationship-sensitive"


@pytest.mark.parametrize(
    ("until", "error"),
    [
        ("2026-03-03", "The reactivation date must be after today."),
        ("2026-03-01", "The reactivation date must be after today."),
        ("2029-03-10", "The reactivation date must be within three years."),
        ("2026-02-30", "Enter a real calendar date as YYYY-MM-DD, like 2026-12-12."),
        ("2026-12-12T10:00", "Enter a real calendar date as YYYY-MM-DD, like 2026-12-12."),
        ("next week", "Enter a real calendar date as YYYY-MM-DD, like 2026-12-12."),
    ],
)
def test_a_bad_reactivation_date_is_a_form_error(personas, contact, clock, until, error):
    response = personas.client_for(Role.AR_OPERATOR).post(
        suppress_url(contact), {"kind": "vacation", "until": until}
    )
    assert response.status_code == 200
    assert error in response.content.decode()
    contact.refresh_from_db()
    assert not contact.is_suppressed


def test_a_date_within_three_years_is_accepted(personas, contact, clock):
    personas.client_for(Role.AR_OPERATOR).post(
        suppress_url(contact), {"kind": "vacation", "until": "2029-03-01"}
    )
    contact.refresh_from_db()
    assert contact.is_suppressed


def test_an_unknown_reason_is_a_form_error(personas, contact, clock):
    response = personas.client_for(Role.AR_OPERATOR).post(
        suppress_url(contact), {"kind": "annoyed"}
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    contact.refresh_from_db()
    assert not contact.is_suppressed


def test_a_note_with_control_characters_is_refused_by_the_service(personas, contact, clock):
    response = personas.client_for(Role.AR_OPERATOR).post(
        suppress_url(contact), {"kind": "other", "note": "bell\x07here"}
    )
    assert response.status_code == 200
    assert "The note contains a control character." in response.content.decode()
    contact.refresh_from_db()
    assert not contact.is_suppressed


def test_unsuppress_lifts_it(personas, customer, contact, clock):
    invoice = invoice_due(customer, NOON_NY.date())
    contact_suppress(contact=contact, kind="bounced", reason="550 mailbox unknown")
    response = personas.client_for(Role.AR_MANAGER).post(unsuppress_url(contact))
    assert response["Location"] == customer_url(customer)
    contact.refresh_from_db()
    assert not contact.is_suppressed
    assert TimelineEvent.objects.filter(invoice=invoice, kind="contact_unsuppressed").count() == 1


@pytest.mark.parametrize("role", REFUSED)
def test_roles_without_the_capability_get_403(personas, contact, role):
    client = personas.client_for(role)
    assert client.post(suppress_url(contact), {"kind": "vacation"}).status_code == 403
    assert client.post(unsuppress_url(contact)).status_code == 403


def test_suppression_views_are_post_only_and_scoped(personas, contact):
    client = personas.client_for(Role.AR_OPERATOR)
    assert client.get(suppress_url(contact)).status_code == 405
    assert client.get(unsuppress_url(contact)).status_code == 405
    foreign = ContactFactory(customer=CustomerFactory(organization=personas.other_org))
    assert client.post(suppress_url(foreign), {"kind": "vacation"}).status_code == 404
    assert client.post(unsuppress_url(foreign)).status_code == 404
    foreign.refresh_from_db()
    assert not foreign.is_suppressed


# --- the customer page -------------------------------------------------------------------------


def test_customer_page_offers_the_form_with_every_reason(personas, customer, contact):
    body = personas.client_for(Role.AR_OPERATOR).get(customer_url(customer)).content.decode()
    assert suppress_url(contact) in body
    # The reasons on the page are exactly the service's.
    options = re.findall(r'<option value="([a-z_]+)">([^<]+)</option>', body)
    assert dict(options) == SUPPRESSION_KINDS


def test_customer_page_shows_the_suppression_and_unsuppress(personas, customer, contact, clock):
    contact_suppress(
        contact=contact,
        kind="vacation",
        until=dt.datetime(2026, 12, 12, 5, 0, tzinfo=dt.UTC),
    )
    body = personas.client_for(Role.CONTROLLER).get(customer_url(customer)).content.decode()
    assert "Suppressed" in body and "Vacation until Dec 12, 2026" in body
    assert unsuppress_url(contact) in body
    assert suppress_url(contact) not in body


def test_customer_page_shows_no_controls_to_viewers(personas, customer, contact):
    contact_suppress(contact=contact, kind="bounced", reason="550 mailbox unknown")
    sales = personas.members[Role.SALES].user
    customer.owner = sales
    customer.save(update_fields=["owner"])
    body = personas.client_for(Role.SALES).get(customer_url(customer)).content.decode()
    assert "Bounced: 550 mailbox unknown" in body
    assert unsuppress_url(contact) not in body and suppress_url(contact) not in body
