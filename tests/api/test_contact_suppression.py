"""POST /api/v1/contacts/{id}/suppress and /unsuppress"""

import datetime as dt
from typing import get_args

import pytest
from django.utils import timezone

from plixo.api.schemas_comms import SuppressionKind
from plixo.comms.services import SUPPRESSION_KINDS
from plixo.core.models import Role
from plixo.ledger.models import TimelineEvent

URL = "/api/v1/contacts"


def suppression_of(contact) -> tuple:
    contact.refresh_from_db()
    return (contact.suppression_kind, contact.suppression_reason, contact.suppressed_until)


def test_kinds_match_the_services_table():
    assert set(get_args(SuppressionKind)) == set(SUPPRESSION_KINDS)


def test_suppress_until_a_date_then_lift_it(api_for, acme):
    operator = api_for(Role.AR_OPERATOR)
    until = (timezone.now() + dt.timedelta(days=14)).replace(microsecond=0)
    url = f"{URL}/{acme.contact.public_id}"

    response = operator.post(
        f"{url}/suppress",
        {"kind": "vacation", "note": "Back on the 20th", "until": until.isoformat()},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == str(acme.contact.public_id)
    assert body["is_suppressed"] is True
    assert body["suppression_reason"] == "Vacation: Back on the 20th"
    assert dt.datetime.fromisoformat(body["suppressed_until"]) == until
    assert suppression_of(acme.contact) == ("vacation", "Vacation: Back on the 20th", until)
    assert TimelineEvent.objects.filter(invoice=acme.invoice, kind="contact_suppressed").exists()

    lifted = operator.post(f"{url}/unsuppress")

    assert lifted.status_code == 200, lifted.content
    assert lifted.json()["is_suppressed"] is False
    assert lifted.json()["suppressed_until"] is None
    assert suppression_of(acme.contact) == ("", "", None)
    assert TimelineEvent.objects.filter(invoice=acme.invoice, kind="contact_unsuppressed").exists()


def test_suppress_without_an_end_date(controller_api, acme):
    response = controller_api.post(
        f"{URL}/{acme.contact.public_id}/suppress", {"kind": "relationship"}
    )

    assert response.status_code == 200, response.content
    assert response.json()["is_suppressed"] is True
    assert suppression_of(acme.contact) == ("relationship", "Relationship-sensitive", None)


def test_a_naive_until_is_422_and_the_contact_is_unchanged(controller_api, acme):
    before = suppression_of(acme.contact)
    naive = (dt.datetime.now() + dt.timedelta(days=3)).replace(microsecond=0).isoformat()

    response = controller_api.post(
        f"{URL}/{acme.contact.public_id}/suppress", {"kind": "vacation", "until": naive}
    )

    assert response.status_code == 422, response.content
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "payload", "until"]
    assert error["type"] == "timezone_aware"
    assert suppression_of(acme.contact) == before
    assert not TimelineEvent.objects.filter(kind="contact_suppressed").exists()


@pytest.mark.parametrize(
    ("delta", "message"),
    [
        (dt.timedelta(hours=-1), "must be in the future"),
        (dt.timedelta(days=3 * 365 + 2), "within three years"),
    ],
)
def test_until_in_the_past_or_too_far_is_400(controller_api, acme, delta, message):
    until = (timezone.now() + delta).isoformat()

    response = controller_api.post(
        f"{URL}/{acme.contact.public_id}/suppress", {"kind": "vacation", "until": until}
    )

    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert suppression_of(acme.contact) == ("", "", None)


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"kind": "holiday"},
        {"kind": "vacation", "note": "two\nlines"},
        {"kind": "vacation", "note": "bell\x07"},
        {"kind": "vacation", "note": "x" * 151},
        {"kind": "vacation", "until": "next week"},
    ],
)
def test_invalid_input_is_422(controller_api, acme, payload):
    response = controller_api.post(f"{URL}/{acme.contact.public_id}/suppress", payload)

    assert response.status_code == 422, response.content
    assert suppression_of(acme.contact) == ("", "", None)


def test_roles_without_contacts_suppress_get_403(api_for, acme):
    url = f"{URL}/{acme.contact.public_id}"
    for role in (Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL):
        client = api_for(role)
        assert client.post(f"{url}/suppress", {"kind": "vacation"}).status_code == 403
        assert client.post(f"{url}/unsuppress").status_code == 403
    assert suppression_of(acme.contact) == ("", "", None)


def test_another_organizations_contact_is_404(controller_api, acme, globex):
    url = f"{URL}/{globex.contact.public_id}"

    assert controller_api.post(f"{url}/suppress", {"kind": "bounced"}).status_code == 404
    assert controller_api.post(f"{url}/unsuppress").status_code == 404
    assert suppression_of(globex.contact) == ("", "", None)
