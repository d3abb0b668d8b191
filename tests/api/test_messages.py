"""/api/v1/messages: drafts, held and sent emails; approve and send."""

import datetime as dt
from typing import get_args

import pytest
import time_machine
from django.core import mail

from plixo.api.schemas_comms import MessageStatusFilter
from plixo.comms.models import Message
from plixo.comms.services import cadence_tick, message_cancel, sending_settings_for
from plixo.core.models import Role
from tests.api.conftest import make_ledger
from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

URL = "/api/v1/messages"

# Tuesday 2026-03-03 15:00 UTC = 10:00 in New York, inside the 08:00–18:00 window.
TUESDAY_10_NY = dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)
# The same day at 03:00 in New York: outside the window.
TUESDAY_3_NY = dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [m["id"] for m in response.json()["results"]]


def test_status_choices_match_the_comms_table():
    assert set(get_args(MessageStatusFilter)) == {"held", *Message.Status.values}


@pytest.fixture
def drafted(personas):
    """An invoice of a New York customer four days overdue, drafted by the real tick."""

    def make(when: dt.datetime, live: bool = True) -> Message:
        customer = CustomerFactory(
            organization=personas.org, name="Initech", time_zone="America/New_York", country="US"
        )
        ContactFactory(customer=customer, email="ap@initech.example", is_primary=True)
        due = when.date() - dt.timedelta(days=4)
        invoice = InvoiceFactory(
            customer=customer, issue_date=due - dt.timedelta(days=30), due_date=due
        )
        sending = sending_settings_for(personas.org)
        sending.test_address = "ar-test@acme.example"
        sending.save()
        personas.org.is_live = live
        personas.org.save(update_fields=["is_live"])
        cadence_tick(now=when)
        return Message.objects.get(invoice=invoice, status=Message.Status.DRAFT)

    return make


def test_list_newest_first_with_the_message_fields(controller_api, acme, globex):
    body = controller_api.get(URL).json()

    expected = Message.objects.filter(organization=acme.invoice.organization).order_by(
        "-created_at", "-id"
    )
    assert body["count"] == expected.count() >= 1
    assert [m["id"] for m in body["results"]] == [str(m.public_id) for m in expected]
    assert str(globex.message.public_id) not in [m["id"] for m in body["results"]]

    one = next(m for m in body["results"] if m["id"] == str(acme.message.public_id))
    assert one["invoice"] == str(acme.invoice.public_id)
    assert one["invoice_number"] == acme.invoice.number
    assert one["contact"] == str(acme.contact.public_id)
    assert one["cadence"] == str(acme.cadence.public_id)
    assert one["step_offset_days"] == acme.message.step.offset_days
    assert one["status"] == "draft"
    assert one["subject"] == acme.message.subject  # the template, merge fields and all
    assert one["rendered_subject"] is None and one["rendered_body"] is None
    assert one["approved_by"] is None and one["sent_at"] is None
    assert one["intended_email"] == acme.contact.email


def test_filters_by_invoice_and_status(personas, controller_api, acme):
    other = make_ledger(personas.org, tag="OTHER")
    message_cancel(message=other.message, actor=None, reason="Not needed")

    mine = ids(controller_api.get(URL, {"invoice": str(acme.invoice.public_id)}))
    assert mine and set(mine) == {
        str(m.public_id) for m in Message.objects.filter(invoice=acme.invoice)
    }

    cancelled = ids(controller_api.get(URL, {"status": "cancelled"}))
    assert cancelled == [str(other.message.public_id)]
    drafts = ids(controller_api.get(URL, {"status": "draft"}))
    assert str(acme.message.public_id) in drafts
    assert str(other.message.public_id) not in drafts
    assert ids(controller_api.get(URL, {"status": "sent"})) == []


def test_unknown_or_foreign_invoice_filter_is_422(controller_api, globex):
    for invoice in (str(globex.invoice.public_id), "0" * 32):
        response = controller_api.get(URL, {"invoice": invoice})
        assert response.status_code == 422
        assert response.json()["detail"][0]["loc"] == ["query", "invoice"]
    assert controller_api.get(URL, {"status": "lost"}).status_code == 422


def test_sales_see_only_their_own_accounts_messages(personas, api_for):
    sales = personas.members[Role.SALES].user
    own = make_ledger(personas.org, owner=sales, tag="OWN")
    theirs = make_ledger(personas.org, tag="THEIRS")
    client = api_for(Role.SALES)

    listed = ids(client.get(URL))
    assert listed and set(listed) == {
        str(m.public_id) for m in Message.objects.filter(invoice=own.invoice)
    }
    assert client.get(f"{URL}/{own.message.public_id}").status_code == 200
    assert client.get(f"{URL}/{theirs.message.public_id}").status_code == 404
    # Naming another account's invoice as a filter finds nothing either.
    assert client.get(URL, {"invoice": str(theirs.invoice.public_id)}).status_code == 422


def test_another_organizations_message_is_404(controller_api, acme, globex):
    url = f"{URL}/{globex.message.public_id}"
    assert controller_api.get(url).status_code == 404
    assert controller_api.post(f"{url}/approve").status_code == 404
    assert controller_api.post(f"{url}/send").status_code == 404
    globex.message.refresh_from_db()
    assert globex.message.status == Message.Status.DRAFT


def test_roles_without_messages_send_get_403(api_for, acme):
    url = f"{URL}/{acme.message.public_id}"
    for role in (Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL):
        client = api_for(role)
        assert client.post(f"{url}/approve").status_code == 403
        assert client.post(f"{url}/send").status_code == 403
    acme.message.refresh_from_db()
    assert acme.message.status == Message.Status.DRAFT


def test_approve_then_send_delivers_the_email(personas, api_for, drafted):
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        message = drafted(TUESDAY_10_NY)
        operator = api_for(Role.AR_OPERATOR)
        url = f"{URL}/{message.public_id}"

        approved = operator.post(f"{url}/approve")
        assert approved.status_code == 200, approved.content
        assert approved.json()["status"] == "queued"
        assert approved.json()["approved_by"] == personas.operator.user.email
        assert approved.json()["hold_reason"] == ""
        assert mail.outbox == []

        sent = operator.post(f"{url}/send")

    assert sent.status_code == 200, sent.content
    body = sent.json()
    assert body["status"] == "sent"
    assert body["sent_at"] is not None
    assert body["to_email"] == "ap@initech.example"
    assert body["is_test"] is False
    assert body["rendered_subject"] and "{" not in body["rendered_subject"]
    assert body["rendered_body"] and "{" not in body["rendered_body"]
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["ap@initech.example"]
    assert email.subject == body["rendered_subject"]

    # Sending again sends nothing more: a sent email cannot be approved or sent twice.
    again = operator.post(f"{url}/send")
    assert again.status_code == 400
    assert "sent" in again.json()["detail"]
    assert len(mail.outbox) == 1


def test_send_in_test_mode_goes_to_the_test_address(api_for, drafted):
    with time_machine.travel(TUESDAY_10_NY, tick=False):
        message = drafted(TUESDAY_10_NY, live=False)
        response = api_for(Role.AR_MANAGER).post(f"{URL}/{message.public_id}/send")

    body = response.json()
    assert response.status_code == 200, response.content
    assert (body["status"], body["to_email"], body["is_test"]) == (
        "sent",
        "ar-test@acme.example",
        True,
    )
    assert body["intended_email"] == "ap@initech.example"
    assert mail.outbox[0].to == ["ar-test@acme.example"]


def test_send_outside_the_window_is_held_with_the_reason_and_time(controller_api, drafted):
    with time_machine.travel(TUESDAY_3_NY, tick=False):
        message = drafted(TUESDAY_3_NY)
        response = controller_api.post(f"{URL}/{message.public_id}/send")
        held = ids(controller_api.get(URL, {"status": "held"}))

    body = response.json()
    assert response.status_code == 200, response.content
    assert body["status"] == "queued"
    assert body["hold_reason"]
    # It goes when the payer's window opens: 08:00 in New York is 13:00 UTC.
    assert dt.datetime.fromisoformat(body["send_after"]) == dt.datetime(
        2026, 3, 3, 13, 0, tzinfo=dt.UTC
    )
    assert body["sent_at"] is None
    assert mail.outbox == []
    assert held == [body["id"]]


def test_approving_a_cancelled_message_is_400(controller_api, acme):
    message_cancel(message=acme.message, actor=None)

    response = controller_api.post(f"{URL}/{acme.message.public_id}/approve")

    assert response.status_code == 400
    assert "cancelled" in response.json()["detail"]
    acme.message.refresh_from_db()
    assert acme.message.status == Message.Status.CANCELLED
