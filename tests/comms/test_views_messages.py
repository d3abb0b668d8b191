"""The Drafts and Outbox pages, a message's own page, and the actions on a message."""

import datetime as dt
import uuid

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from plixo.commitments.services import promise_create
from plixo.comms.models import EmailEvent, Message
from plixo.comms.services import cadence_tick, message_approve, message_send_now
from plixo.core.models import Role
from plixo.core.templatetags.plixo import describe_event
from plixo.ledger.models import TimelineEvent
from plixo.portal.models import PortalLink
from tests.comms.conftest import NOON_NY, invoice_due
from tests.factories import ContactFactory, CustomerFactory, TimelineEventFactory

# Wednesday 2026-03-04 03:00 UTC = Tuesday 22:00 in New York: outside 08:00–18:00.
NIGHT_NY = dt.datetime(2026, 3, 4, 3, 0, tzinfo=dt.UTC)

SENDERS = [Role.CONTROLLER, Role.AR_MANAGER, Role.AR_OPERATOR]
NOT_SENDERS = [Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL]


def make_message(invoice, contact, *, subject="Invoice {invoice_number} is due", **extra):
    purpose = f"manual:{uuid.uuid4()}"
    return Message.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        contact=contact,
        kind=Message.Kind.MANUAL,
        purpose=purpose,
        idempotency_key=f"{invoice.organization_id}:{invoice.pk}:{purpose}",
        subject=subject,
        body=extra.pop("body", "Hello {contact_name}, {amount_due} is open. Pay: {pay_link}"),
        **extra,
    )


@pytest.fixture
def draft(customer, contact, clock):
    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4), number="INV-7001")
    return make_message(invoice, contact)


def events_of(message, kind):
    return TimelineEvent.objects.filter(
        invoice_id=message.invoice_id, kind=kind, data__message=str(message.public_id)
    )


def flashes(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


# --- the drafts page ---------------------------------------------------------------------------


@pytest.mark.parametrize("role", SENDERS)
def test_drafts_page_lists_drafts_for_roles_that_send(personas, draft, role):
    response = personas.client_for(role).get(reverse("comms:draft-list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "INV-7001" in body
    assert "Invoice INV-7001 is due" in body  # the subject with its merge field filled


@pytest.mark.parametrize("role", NOT_SENDERS)
def test_drafts_page_is_403_for_roles_that_cannot_send(personas, draft, role):
    assert personas.client_for(role).get(reverse("comms:draft-list")).status_code == 403


def test_drafts_page_rows_come_from_the_cadence_with_their_step(personas, customer, contact, clock):
    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4), number="INV-7002")
    cadence_tick()
    message = Message.objects.get(invoice=invoice)
    response = personas.client_for(Role.AR_OPERATOR).get(reverse("comms:draft-list"))
    body = response.content.decode()
    assert f"{message.cadence.name} · 3 days after due" in body
    assert message.get_tone_display() in body


def test_drafts_page_keyboard_markup_has_stable_selectors(personas, draft):
    body = personas.client_for(Role.AR_OPERATOR).get(reverse("comms:draft-list")).content.decode()
    assert "data-keyboard-list" in body
    assert f'data-row data-message-id="{draft.public_id}"' in body
    send = reverse("comms:message-send", kwargs={"message_id": draft.public_id})
    approve = reverse("comms:message-approve", kwargs={"message_id": draft.public_id})
    assert f'action="{send}" data-action="send"' in body
    assert f'action="{approve}" data-action="approve"' in body
    assert 'data-action="open"' in body
    assert "data-shortcuts-help" in body


def test_drafts_page_flags_a_draft_that_would_land_in_quiet_hours(personas, customer, contact):
    with time_machine.travel(NIGHT_NY, tick=False):
        invoice = invoice_due(customer, NIGHT_NY.date() - dt.timedelta(days=4))
        make_message(invoice, contact)
        response = personas.client_for(Role.AR_OPERATOR).get(reverse("comms:draft-list"))
    body = response.content.decode()
    # One short line, the zone said once, and the button says when it would really go.
    assert "Waits until 08:00 New York time tomorrow (send window 08:00–18:00)." in body
    assert "quiet hours" not in body
    assert "Send at 08:00 tomorrow (payer&#x27;s time)" in body


def test_drafts_page_has_no_window_flag_inside_the_window(personas, draft, live_org):
    body = personas.client_for(Role.AR_OPERATOR).get(reverse("comms:draft-list")).content.decode()
    assert "Waits until" not in body
    assert ">Send now</button>" in body
    assert "Test mode" not in body.split('id="main"')[1]


def test_drafts_page_flags_suppressed_missing_contact_and_test_mode(
    personas, customer, contact, sending, clock
):
    contact.suppression_kind = "vacation"
    contact.suppression_reason = "Vacation: back in April"
    contact.save()
    make_message(invoice_due(customer, NOON_NY.date()), contact)
    make_message(invoice_due(customer, NOON_NY.date()), None)
    body = personas.client_for(Role.AR_OPERATOR).get(reverse("comms:draft-list")).content.decode()
    assert "Contact suppressed: Vacation: back in April" in body
    assert "No contact: add one to the customer before it can go." in body
    assert "Test mode: these emails go to ar-test@acme.example" in body
    first = Message.objects.filter(contact=contact).first()
    preview = (
        personas.client_for(Role.AR_OPERATOR)
        .get(reverse("comms:draft-list"), {"m": str(first.public_id)})
        .content.decode()
    )
    assert "Test mode: goes to ar-test@acme.example, meant for ap@initech.example." in preview


def test_drafts_page_chips_filter_queued_and_held(personas, draft, customer, contact):
    held = make_message(
        invoice_due(customer, NOON_NY.date()),
        contact,
        subject="Held one",
        status=Message.Status.QUEUED,
        hold_reason="quiet hours: sends 08:00–18:00 America/New_York",
        send_after=NOON_NY + dt.timedelta(hours=20),
    )
    client = personas.client_for(Role.AR_OPERATOR)
    drafts = client.get(reverse("comms:draft-list")).content.decode()
    assert "Held one" not in drafts and "INV-7001" in drafts
    held_page = client.get(reverse("comms:draft-list"), {"status": "held"}).content.decode()
    assert "Held one" in held_page and "INV-7001" not in held_page
    assert f'data-message-id="{held.public_id}"' in held_page
    # A held email can be sent now but not approved again.
    assert reverse("comms:message-approve", kwargs={"message_id": held.public_id}) not in held_page


def test_drafts_page_query_count_does_not_grow_with_rows(personas, customer, contact, clock):
    client = personas.client_for(Role.AR_OPERATOR)
    for _ in range(3):
        make_message(invoice_due(customer, NOON_NY.date()), contact)
    client.get(reverse("comms:draft-list"))  # sending settings are created on first need
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("comms:draft-list")).status_code == 200
    other = CustomerFactory(organization=personas.org, time_zone="Europe/Paris", country="FR")
    other_contact = ContactFactory(customer=other)
    for _ in range(12):
        make_message(invoice_due(other, NOON_NY.date()), other_contact)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse("comms:draft-list")).status_code == 200
    assert len(many) == len(few)


def test_drafts_page_pages_by_keyset(personas, customer, contact, clock):
    for n in range(53):
        make_message(invoice_due(customer, NOON_NY.date(), number=f"INV-P{n:03d}"), contact)
        clock.shift(dt.timedelta(seconds=1))
    client = personas.client_for(Role.AR_OPERATOR)
    first = client.get(reverse("comms:draft-list"))
    assert len(first.context["page"]) == 50
    assert "INV-P052" in first.content.decode() and "INV-P002" not in first.content.decode()
    cursor = first.context["page"].next_cursor
    second = client.get(reverse("comms:draft-list"), {"after": cursor})
    numbers = [m.invoice.number for m in second.context["page"]]
    assert numbers == ["INV-P002", "INV-P001", "INV-P000"]
    back = client.get(reverse("comms:draft-list"), {"before": second.context["page"].prev_cursor})
    assert [m.invoice.number for m in back.context["page"]][0] == "INV-P052"
    # A mangled cursor is the first page, not an error.
    assert client.get(reverse("comms:draft-list"), {"after": "%%%"}).status_code == 200


def test_preview_fills_merge_fields_and_creates_no_pay_link(personas, draft):
    client = personas.client_for(Role.AR_OPERATOR)
    page = client.get(reverse("comms:draft-list"), {"m": str(draft.public_id)})
    panel = client.get(
        reverse("comms:draft-list"),
        {"m": str(draft.public_id), "panel": "1"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/drafts/?status=draft",
    )
    assert PortalLink.objects.count() == 0
    for response in (page, panel):
        body = response.content.decode()
        assert "Hello Peter Gibbons, $1,250.00 is open." in body
        assert "a fresh single-use link is created when it is sent" in body
        assert "/p/" not in body
        assert reverse("comms:message-edit", kwargs={"message_id": draft.public_id}) in body
    panel_body = panel.content.decode()
    assert "<html" not in panel_body  # only the inspector
    assert 'name="next" value="/drafts/?status=draft"' in panel_body


def test_preview_of_another_organizations_message_shows_nothing(personas, draft):
    other_customer = CustomerFactory(organization=personas.other_org)
    foreign = make_message(
        invoice_due(other_customer, NOON_NY.date(), number="INV-GLOBEX"),
        ContactFactory(customer=other_customer),
    )
    response = personas.client_for(Role.AR_OPERATOR).get(
        reverse("comms:draft-list"), {"m": str(foreign.public_id)}
    )
    assert response.status_code == 200
    assert "INV-GLOBEX" not in response.content.decode()


# --- actions -----------------------------------------------------------------------------------


def test_approve_queues_the_draft_and_writes_the_timeline(personas, draft):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("comms:message-approve", kwargs={"message_id": draft.public_id})
    response = client.post(url, {"next": "/drafts/?status=draft"}, follow=True)
    assert response.redirect_chain[-1][0] == "/drafts/?status=draft"
    draft.refresh_from_db()
    assert draft.status == Message.Status.QUEUED
    assert draft.approved_by == personas.operator.user
    assert events_of(draft, "email_approved").count() == 1
    assert any("Approved" in text for text in flashes(response))


def test_send_now_sends_and_says_to_whom(personas, draft, live_org):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("comms:message-send", kwargs={"message_id": draft.public_id})
    response = client.post(url, follow=True)
    draft.refresh_from_db()
    assert draft.status == Message.Status.SENT
    assert len(mail.outbox) == 1
    assert "Invoice INV-7001: Sent to ap@initech.example." in flashes(response)
    assert events_of(draft, "email_sent").count() == 1
    # Back on the message page, which shows the text exactly as sent.
    assert response.redirect_chain[-1][0].endswith(f"/messages/{draft.public_id}/")
    assert draft.rendered_body.split("Pay:")[0] in response.content.decode()


def test_send_now_in_test_mode_says_it_went_to_the_test_address(personas, draft, sending):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("comms:message-send", kwargs={"message_id": draft.public_id})
    response = client.post(url, follow=True)
    assert mail.outbox[0].to == ["ar-test@acme.example"]
    assert (
        "Invoice INV-7001: Sent to the test address ar-test@acme.example "
        "(test mode; meant for ap@initech.example)." in flashes(response)
    )


def test_send_now_at_night_is_held_until_the_window_opens(personas, customer, contact, live_org):
    live_org.time_zone = "Europe/Paris"
    live_org.save(update_fields=["time_zone"])
    with time_machine.travel(NIGHT_NY, tick=False):
        invoice = invoice_due(customer, NIGHT_NY.date() - dt.timedelta(days=4), number="INV-7003")
        message = make_message(invoice, contact)
        client = personas.client_for(Role.AR_OPERATOR)
        url = reverse("comms:message-send", kwargs={"message_id": message.public_id})
        response = client.post(url, {"next": "/drafts/"}, follow=True)
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert message.hold_reason == "quiet hours: sends 08:00–18:00 America/New_York"
    assert message.send_after == dt.datetime(2026, 3, 4, 13, 0, tzinfo=dt.UTC)
    assert mail.outbox == []
    texts = flashes(response)
    assert (
        "Invoice INV-7003: Not sent yet: held until 08:00 New York time tomorrow "
        "(send window 08:00–18:00). That is 14:00 Europe/Paris on Wed Mar 4." in texts
    ), texts
    assert events_of(message, "email_held").count() == 1


def test_cancel_with_a_reason(personas, draft):
    client = personas.client_for(Role.AR_MANAGER)
    url = reverse("comms:message-cancel", kwargs={"message_id": draft.public_id})
    client.post(url, {"reason": "Customer called, paying Friday"})
    draft.refresh_from_db()
    assert draft.status == Message.Status.CANCELLED
    assert draft.status_reason == "Customer called, paying Friday"
    event = events_of(draft, "email_cancelled").get()
    assert event.data["reason"] == "Customer called, paying Friday"


def test_cancelling_a_sent_email_is_a_flash_error_not_a_server_error(personas, draft):
    Message.objects.filter(pk=draft.pk).update(status=Message.Status.SENT)
    url = reverse("comms:message-cancel", kwargs={"message_id": draft.public_id})
    response = personas.client_for(Role.AR_OPERATOR).post(url, follow=True)
    assert response.status_code == 200
    assert "A message that is sent cannot become cancelled." in flashes(response)
    draft.refresh_from_db()
    assert draft.status == Message.Status.SENT


def test_retry_requeues_a_failed_email(personas, draft):
    Message.objects.filter(pk=draft.pk).update(
        status=Message.Status.FAILED, status_reason="SMTPDataError: 554 refused"
    )
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("comms:message-retry", kwargs={"message_id": draft.public_id})
    response = client.post(url, follow=True)
    draft.refresh_from_db()
    assert draft.status == Message.Status.QUEUED
    assert events_of(draft, "email_requeued").count() == 1
    assert any("Queued again" in text for text in flashes(response))


def test_retry_of_a_draft_is_refused_with_a_flash(personas, draft):
    url = reverse("comms:message-retry", kwargs={"message_id": draft.public_id})
    response = personas.client_for(Role.AR_OPERATOR).post(url, follow=True)
    assert response.status_code == 200
    assert "Only failed emails, or those whose delivery is unknown, are retried." in flashes(
        response
    )
    draft.refresh_from_db()
    assert draft.status == Message.Status.DRAFT


def test_approve_without_a_contact_is_a_flash_error(personas, customer, clock):
    message = make_message(invoice_due(customer, NOON_NY.date()), None)
    url = reverse("comms:message-approve", kwargs={"message_id": message.public_id})
    response = personas.client_for(Role.AR_OPERATOR).post(url, follow=True)
    assert response.status_code == 200
    assert any("no contact with an email address" in text for text in flashes(response))
    message.refresh_from_db()
    assert message.status == Message.Status.DRAFT


@pytest.mark.parametrize(
    "name", ["message-approve", "message-send", "message-cancel", "message-retry"]
)
def test_actions_are_post_only_and_scoped(personas, draft, name):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse(f"comms:{name}", kwargs={"message_id": draft.public_id})
    assert client.get(url).status_code == 405
    other_customer = CustomerFactory(organization=personas.other_org)
    foreign = make_message(invoice_due(other_customer, NOON_NY.date()), None)
    foreign_url = reverse(f"comms:{name}", kwargs={"message_id": foreign.public_id})
    assert client.post(foreign_url).status_code == 404
    assert personas.client_for(Role.SALES).post(url).status_code == 403
    foreign.refresh_from_db()
    assert foreign.status == Message.Status.DRAFT


def test_next_pointing_elsewhere_is_ignored(personas, draft):
    url = reverse("comms:message-approve", kwargs={"message_id": draft.public_id})
    response = personas.client_for(Role.AR_OPERATOR).post(url, {"next": "https://evil.example/"})
    assert response["Location"] == reverse(
        "comms:message-detail", kwargs={"message_id": draft.public_id}
    )


def test_edit_names_an_unknown_merge_field(personas, draft):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("comms:message-edit", kwargs={"message_id": draft.public_id})
    assert client.get(url).status_code == 200
    response = client.post(
        url, {"subject": "Reminder", "body": "You owe {amout_due}.", "tone": "firm"}
    )
    assert response.status_code == 200
    assert "{amout_due}" in response.content.decode()
    draft.refresh_from_db()
    assert draft.subject == "Invoice {invoice_number} is due"


def test_edit_saves_and_returns(personas, draft):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("comms:message-edit", kwargs={"message_id": draft.public_id})
    response = client.post(
        url,
        {
            "subject": "Invoice {invoice_number}: a reminder",
            "body": "Please pay {amount_due}: {pay_link}",
            "tone": "firm",
            "next": "/drafts/",
        },
    )
    assert response["Location"] == "/drafts/"
    draft.refresh_from_db()
    assert (draft.subject, draft.tone) == ("Invoice {invoice_number}: a reminder", "firm")


def test_edit_of_a_sent_email_goes_to_its_page(personas, draft, live_org):
    message_send_now(message=draft, actor=personas.operator.user)
    url = reverse("comms:message-edit", kwargs={"message_id": draft.public_id})
    response = personas.client_for(Role.AR_OPERATOR).get(url)
    assert response.status_code == 302
    assert personas.client_for(Role.SALES).get(url).status_code == 403


# --- the outbox --------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role.values))
def test_outbox_answers_every_role(personas, role):
    assert personas.client_for(role).get(reverse("comms:outbox")).status_code == 200


def test_outbox_shows_sales_only_their_own_accounts(personas, contact, clock, customer):
    sales = personas.members[Role.SALES].user
    own = CustomerFactory(organization=personas.org, owner=sales, name="Own Account Ltd")
    theirs = customer  # owned by nobody
    make_message(
        invoice_due(own, NOON_NY.date(), number="INV-OWN-1"),
        ContactFactory(customer=own),
        status=Message.Status.QUEUED,
    )
    make_message(
        invoice_due(theirs, NOON_NY.date(), number="INV-NOT-MINE"),
        contact,
        status=Message.Status.QUEUED,
    )
    body = personas.client_for(Role.SALES).get(reverse("comms:outbox")).content.decode()
    assert "INV-OWN-1" in body and "INV-NOT-MINE" not in body
    manager = personas.client_for(Role.AR_MANAGER).get(reverse("comms:outbox")).content.decode()
    assert "INV-OWN-1" in manager and "INV-NOT-MINE" in manager
    foreign = Message.objects.get(invoice__number="INV-NOT-MINE")
    detail = reverse("comms:message-detail", kwargs={"message_id": foreign.public_id})
    assert personas.client_for(Role.SALES).get(detail).status_code == 404


def test_outbox_queued_tab_shows_the_hold_and_the_payers_time(personas, customer, contact, clock):
    personas.org.time_zone = "Europe/Paris"
    personas.org.save(update_fields=["time_zone"])
    make_message(
        invoice_due(customer, NOON_NY.date(), number="INV-HELD"),
        contact,
        status=Message.Status.QUEUED,
        hold_reason="weekend",
        # New York is on summer time from March 8th; Paris not before the 29th.
        send_after=dt.datetime(2026, 3, 9, 12, 0, tzinfo=dt.UTC),
    )
    body = personas.client_for(Role.CSM).get(reverse("comms:outbox")).content.decode()
    assert "INV-HELD" not in body  # not the CSM's account
    body = personas.client_for(Role.LEGAL).get(reverse("comms:outbox")).content.decode()
    assert "INV-HELD" in body
    assert "Invoice INV-HELD is due" in body  # the subject filled in, not the template
    assert "Mar 9, 13:00" in body  # the organization's zone
    # The stored hold in one line, in the payer's time.
    assert "Held until 08:00 New York time on Mon Mar 9 (weekend)." in body
    # Counts on the tabs that stay small; none on Sent or Cancelled.
    assert 'Queued &amp; held <span class="chip-count">1</span>' in body
    assert 'Failed / delivery unknown <span class="chip-count">0</span>' in body
    assert 'Sent <span class="chip-count">' not in body


def test_outbox_sent_tab_shows_test_sends(personas, draft, sending):
    message_send_now(message=draft, actor=personas.operator.user)
    draft.refresh_from_db()
    body = (
        personas.client_for(Role.BILLING_ADMIN)
        .get(reverse("comms:outbox"), {"tab": "sent"})
        .content.decode()
    )
    assert "ar-test@acme.example" in body
    assert "meant for ap@initech.example" in body
    assert ">Test<" in body


def test_outbox_failed_tab_offers_retry_only_to_senders(personas, draft):
    Message.objects.filter(pk=draft.pk).update(
        status=Message.Status.UNKNOWN, status_reason="The worker stopped."
    )
    retry = reverse("comms:message-retry", kwargs={"message_id": draft.public_id})
    operator = personas.client_for(Role.AR_OPERATOR).get(reverse("comms:outbox"), {"tab": "failed"})
    assert retry in operator.content.decode()
    assert "The worker stopped." in operator.content.decode()
    sales = personas.client_for(Role.LEGAL).get(reverse("comms:outbox"), {"tab": "failed"})
    assert "The worker stopped." in sales.content.decode()
    assert retry not in sales.content.decode()


def test_outbox_cancelled_tab_shows_the_reason(personas, draft):
    Message.objects.filter(pk=draft.pk).update(
        status=Message.Status.CANCELLED, status_reason="Invoice is paid"
    )
    body = (
        personas.client_for(Role.AR_OPERATOR)
        .get(reverse("comms:outbox"), {"tab": "cancelled"})
        .content.decode()
    )
    assert "Invoice is paid" in body and "INV-7001" in body


def test_outbox_query_count_does_not_grow_with_rows(personas, customer, contact, clock):
    client = personas.client_for(Role.SALES)
    sales = personas.members[Role.SALES].user
    own = CustomerFactory(organization=personas.org, owner=sales)
    own_contact = ContactFactory(customer=own)
    make_message(invoice_due(own, NOON_NY.date()), own_contact, status=Message.Status.QUEUED)
    client.get(reverse("comms:outbox"))
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("comms:outbox"))
    for _ in range(10):
        make_message(invoice_due(own, NOON_NY.date()), own_contact, status=Message.Status.QUEUED)
    with CaptureQueriesContext(connection) as many:
        client.get(reverse("comms:outbox"))
    assert len(many) == len(few)


# --- a message's page --------------------------------------------------------------------------


def test_message_page_shows_the_email_as_sent_its_timeline_and_provider_events(
    personas, draft, live_org
):
    message_send_now(message=draft, actor=personas.operator.user)
    draft.refresh_from_db()
    EmailEvent.objects.create(
        provider="postmark",
        event_id="evt-1",
        kind=EmailEvent.Kind.SOFT_BOUNCE,
        recipient="ap@initech.example",
        organization=personas.org,
        message=draft,
        description="Mailbox full",
        occurred_at=timezone.now(),
    )
    url = reverse("comms:message-detail", kwargs={"message_id": draft.public_id})
    response = personas.client_for(Role.SALES).get(url)
    assert response.status_code == 404  # not the sales rep's account
    response = personas.client_for(Role.LEGAL).get(url)
    body = response.content.decode()
    assert draft.rendered_subject in body
    assert "/p/" not in draft.rendered_body and "Hello Peter Gibbons" in body
    assert "single-use pay link" in body  # the token is in the email only, never on the page
    assert "Email sent" in body and "To ap@initech.example." in body
    assert "Email approved" in body
    assert "Soft bounce" in body and "Mailbox full" in body
    assert reverse("comms:message-send", kwargs={"message_id": draft.public_id}) not in body


def test_message_page_of_a_draft_shows_the_preview_and_actions(personas, draft):
    url = reverse("comms:message-detail", kwargs={"message_id": draft.public_id})
    body = personas.client_for(Role.AR_OPERATOR).get(url).content.decode()
    assert "Hello Peter Gibbons, $1,250.00 is open." in body
    assert "a fresh single-use link is created when it is sent" in body
    assert reverse("comms:message-approve", kwargs={"message_id": draft.public_id}) in body
    assert PortalLink.objects.count() == 0
    viewer = personas.client_for(Role.LEGAL).get(url).content.decode()
    assert reverse("comms:message-approve", kwargs={"message_id": draft.public_id}) not in viewer


def test_invoice_page_lists_its_emails(personas, draft):
    message_approve(message=draft, actor=personas.operator.user)
    url = reverse("ledger:invoice-detail", kwargs={"invoice_id": draft.invoice.public_id})
    body = personas.client_for(Role.BILLING_ADMIN).get(url).content.decode()
    assert 'id="emails-title"' in body
    assert reverse("comms:message-detail", kwargs={"message_id": draft.public_id}) in body
    assert "One-off email" in body and "Queued" in body
    assert "{invoice_number}" not in body


# --- how the new timeline entries read ---------------------------------------------------------


def _entry(invoice, kind, data):
    return describe_event(
        TimelineEventFactory.build(invoice=invoice, kind=kind, data=data), invoice
    )


def test_timeline_entries_of_the_comms_app_read_as_sentences(draft):
    invoice = draft.invoice
    drafted = _entry(
        invoice,
        "email_drafted",
        {
            "subject": "Invoice INV-7001 is due",
            "cadence": "Friendly",
            "step": "+3",
            "awaiting_approval": True,
            "to": "ap@initech.example",
        },
    )
    assert drafted.title == "Reminder drafted"
    assert drafted.summary == "Reminder drafted: Invoice INV-7001 is due. Awaiting approval."
    assert ("Cadence", "Friendly · 3 days after due") in drafted.details
    warned = _entry(invoice, "email_drafted", {"subject": "S", "warning": "No contact on file."})
    assert ("Warning", "No contact on file.") in warned.details
    sent = _entry(
        invoice,
        "email_sent",
        {"to": "ar-test@acme.example", "test_mode": True, "intended_for": "ap@initech.example"},
    )
    assert sent.summary == "To ar-test@acme.example (test mode, meant for ap@initech.example)."
    cancelled = _entry(invoice, "email_cancelled", {"count": 3, "reason": "Invoice is paid"})
    assert cancelled.summary == "3 unsent emails cancelled: invoice is paid."
    by_hand = _entry(invoice, "email_cancelled", {"count": 1, "reason": "Cancelled by hand"})
    assert by_hand.summary == "Email cancelled by hand."
    one = _entry(invoice, "email_cancelled", {"count": 1, "reason": "Payment received"})
    assert one.summary == "Email cancelled: payment received."
    stopped = _entry(invoice, "cadence_stopped", {"reason": "Invoice is paid"})
    assert (stopped.title, stopped.summary) == ("Cadence stopped", "Invoice is paid.")
    bounced = _entry(invoice, "email_bounced", {"recipient": "ap@initech.example"})
    assert bounced.summary.startswith("ap@initech.example bounced")
    followup = _entry(
        invoice,
        "email_drafted",
        {"subject": "S", "cadence": "Firm", "step": "followup:promise_missed:7"},
    )
    assert ("Cadence", "Firm · follow-up after a missed promise") in followup.details


def test_a_recorded_subject_template_reads_with_the_invoices_own_fields(draft):
    invoice = draft.invoice  # INV-7001, due four days before NOON_NY
    event = TimelineEventFactory.build(
        invoice=invoice,
        kind="email_approved",
        at=NOON_NY,
        data={"subject": "Invoice {invoice_number} is {days_overdue} days overdue ({amount_due})"},
    )
    entry = describe_event(event, invoice)
    assert ("Subject", "Invoice INV-7001 is 4 days overdue ({amount_due})") in entry.details


def test_held_and_suppression_times_read_in_the_organizations_zone(draft):
    invoice = draft.invoice
    with timezone.override("Europe/Paris"):
        held = _entry(
            invoice,
            "email_held",
            {"reason": "weekend", "until": "2026-03-09T13:00:00+00:00", "subject": "S"},
        )
        suppressed = _entry(
            invoice,
            "contact_suppressed",
            {"contact": "ap@initech.example", "reason": "Vacation", "until": ""},
        )
    assert held.summary == "Held until Mar 9, 2026 14:00 Europe/Paris (weekend)."
    assert suppressed.summary == "ap@initech.example: Vacation until lifted."


# --- review fixes: what is approved is what goes out; send confirmation; the Emails card -------


def test_preview_of_a_draft_is_signed_by_the_viewer_who_would_approve_it(personas, draft, sending):
    draft.body = "Hello {contact_name}. Pay: {pay_link}\n{sender_name}"
    draft.save(update_fields=["body"])
    operator = personas.operator.user
    operator.full_name = "Olivia Operator"
    operator.save(update_fields=["full_name"])
    client = personas.client_for(Role.AR_OPERATOR)
    body = client.get(reverse("comms:draft-list"), {"m": str(draft.public_id)}).content.decode()
    assert "Olivia Operator" in body and "Signed as <strong>Olivia Operator</strong>" in body
    detail = reverse("comms:message-detail", kwargs={"message_id": draft.public_id})
    assert "Signed as <strong>Olivia Operator</strong>" in client.get(detail).content.decode()
    # Once someone else approved it, everyone sees the approver's name: the one it goes out with.
    manager = personas.members[Role.AR_MANAGER].user
    manager.full_name = "Maria Manager"
    manager.save(update_fields=["full_name"])
    message_approve(message=draft, actor=manager)
    body = client.get(detail).content.decode()
    assert "Signed as <strong>Maria Manager</strong>" in body
    assert "Olivia Operator" not in body.split('id="main"')[1]


def test_preview_falls_back_to_the_sender_name_for_a_viewer_without_a_name(
    personas, draft, sending
):
    sending.from_name = "Acme Receivables"
    sending.save(update_fields=["from_name"])
    operator = personas.operator.user
    operator.full_name = ""
    operator.save(update_fields=["full_name"])
    url = reverse("comms:message-detail", kwargs={"message_id": draft.public_id})
    body = personas.client_for(Role.AR_OPERATOR).get(url).content.decode()
    assert "Signed as <strong>Acme Receivables</strong>" in body


def test_the_email_sent_carries_the_name_the_preview_showed(personas, draft, live_org):
    draft.body = "Pay: {pay_link}\n{sender_name}"
    draft.save(update_fields=["body"])
    operator = personas.operator.user
    operator.full_name = "Olivia Operator"
    operator.save(update_fields=["full_name"])
    client = personas.client_for(Role.AR_OPERATOR)
    detail = reverse("comms:message-detail", kwargs={"message_id": draft.public_id})
    assert "Signed as <strong>Olivia Operator</strong>" in client.get(detail).content.decode()
    client.post(reverse("comms:message-send", kwargs={"message_id": draft.public_id}))
    assert len(mail.outbox) == 1 and "Olivia Operator" in mail.outbox[0].body


def test_send_now_asks_first_only_when_the_organization_is_live(personas, draft, sending):
    client = personas.client_for(Role.AR_OPERATOR)
    send = reverse("comms:message-send", kwargs={"message_id": draft.public_id})
    detail = reverse("comms:message-detail", kwargs={"message_id": draft.public_id})
    pages = (
        reverse("comms:draft-list"),
        f"{reverse('comms:draft-list')}?m={draft.public_id}",
        detail,
    )
    for url in pages:  # test mode: the email goes to the test address, no question asked
        body = client.get(url).content.decode()
        assert f'action="{send}"' in body
        assert "This organization is live" not in body
    personas.org.is_live = True
    personas.org.save(update_fields=["is_live"])
    for url in pages:
        body = client.get(url).content.decode()
        forms = [part for part in body.split("<form")[1:] if f'action="{send}"' in part]
        assert forms, url
        for form in forms:
            head = form.split(">", 1)[0]
            assert (
                'data-confirm="Send the email for invoice INV-7001 to ap@initech.example? '
                'This organization is live: it goes to the payer."' in head
            ), (url, head)
    # The keyboard's S submits the same form: the table's keyboard form carries the question too.
    body = client.get(reverse("comms:draft-list")).content.decode()
    assert f'action="{send}" data-action="send" data-confirm=' in body


def test_a_held_email_shows_one_line_from_its_stored_hold(personas, customer, contact, clock):
    held = make_message(
        invoice_due(customer, NOON_NY.date()),
        contact,
        status=Message.Status.QUEUED,
        hold_reason="contact suppressed (Vacation)",
        send_after=dt.datetime(2026, 3, 10, 5, 0, tzinfo=dt.UTC),
    )
    client = personas.client_for(Role.AR_OPERATOR)
    line = "Held until 01:00 New York time on Tue Mar 10 (contact suppressed (Vacation))."
    page = client.get(reverse("comms:draft-list"), {"status": "held", "m": str(held.public_id)})
    body = page.content.decode()
    assert body.count(line) == 2  # the row and the preview, nothing computed beside it
    assert "Waits until" not in body
    detail = reverse("comms:message-detail", kwargs={"message_id": held.public_id})
    assert line in client.get(detail).content.decode()


def _emails_card(client, invoice) -> str:
    url = reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})
    body = client.get(url).content.decode()
    start = body.index('id="emails-title"')
    return body[start : body.index("</section>", start)]


def test_invoice_emails_card_says_where_the_cadence_stands(personas, customer, contact, sending):
    from plixo.comms.models import CadenceEnrollment, CadenceStep

    client = personas.client_for(Role.BILLING_ADMIN)
    with time_machine.travel(NOON_NY, tick=False):
        invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4), number="INV-7100")
        card = _emails_card(client, invoice)
        assert "Not scheduled yet" in card
        cadence_tick()
        enrollment = CadenceEnrollment.objects.get(invoice=invoice)
        step = (
            CadenceStep.objects.filter(
                cadence=enrollment.cadence,
                is_active=True,
                offset_days__gt=enrollment.last_offset,
            )
            .order_by("offset_days")
            .first()
        )
        on = invoice.due_date + dt.timedelta(days=step.offset_days)
        card = _emails_card(client, invoice)
        assert f"<strong>{enrollment.cadence.name}</strong>" in card
        assert f"Active</span> — next: “{step.offset_label}” on {on:%b} {on.day}" in card
        # The draft's row reads as its subject with the merge fields filled, not the step.
        draft = Message.objects.get(invoice=invoice)
        assert preview_subject_of(draft, sending) in card
        assert "{invoice_number}" not in card

        promise_create(
            invoice=invoice,
            amount=invoice.balance,
            promised_on=dt.date(2026, 3, 6),
            actor=personas.operator.user,
        )
        card = _emails_card(client, invoice)
        assert "Paused</span> — promise to pay on Mar 6; chasing resumes Mar 7 if unpaid" in card, (
            card
        )
        assert "2026-03-06" not in card

        CadenceEnrollment.objects.filter(invoice=invoice).update(
            state=CadenceEnrollment.State.FINISHED, reason="All steps done", next_action_at=None
        )
        assert "Finished</span> — all steps done" in _emails_card(client, invoice)
        CadenceEnrollment.objects.filter(invoice=invoice).update(
            state=CadenceEnrollment.State.STOPPED, reason="Invoice is paid"
        )
        assert "Stopped</span> — invoice is paid" in _emails_card(client, invoice)


def test_invoice_emails_card_shows_the_subject_as_sent(personas, draft, live_org):
    message_send_now(message=draft, actor=personas.operator.user)
    draft.refresh_from_db()
    assert draft.status == Message.Status.SENT
    card = _emails_card(personas.client_for(Role.LEGAL), draft.invoice)
    assert draft.rendered_subject in card and "Sent" in card


def preview_subject_of(message, sending):
    from plixo.comms.selectors import preview_subject

    message.invoice.organization = message.organization
    return preview_subject(message, sending)


# --- the pay-link card on the invoice page -----------------------------------------------------


def _paylink_card(client, invoice) -> str:
    url = reverse("ledger:invoice-detail", kwargs={"invoice_id": invoice.public_id})
    body = client.get(url).content.decode()
    start = body.index('id="paylink-title"')
    return body[start : body.index("</section>", start)]


def test_pay_link_card_names_the_email_that_carried_a_test_mode_link(personas, draft, sending):
    message_send_now(message=draft, actor=personas.operator.user)
    draft.refresh_from_db()
    assert draft.is_test and draft.portal_link_id is not None
    card = _paylink_card(personas.client_for(Role.AR_MANAGER), draft.invoice)
    day = timezone.localtime(draft.sent_at)
    # A one-off email here (the cadence's own are "cadence email", below).
    assert (
        f'Sent with the <a href="/messages/{draft.public_id}/">email of {day:%b} {day.day}, '
        f"{day.year}</a> to ar-test@acme.example (test mode: meant for ap@initech.example)." in card
    ), card
    assert "renewal request" not in card
    assert "Sent to ap@initech.example" not in card


def test_pay_link_card_of_a_live_cadence_email(personas, customer, contact, live_org, clock):
    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=4), number="INV-7200")
    cadence_tick()
    message = Message.objects.get(invoice=invoice)
    message_send_now(message=message, actor=personas.operator.user)
    card = _paylink_card(personas.client_for(Role.AR_MANAGER), invoice)
    assert "Sent with the <a href=" in card and "cadence email of Mar 3, 2026</a>" in card
    assert "to ap@initech.example." in card and "test mode" not in card
    assert "renewal request" not in card


def test_pay_link_card_of_a_link_renewed_by_the_payer_is_unchanged(personas, draft):
    from plixo.portal.services import portal_link_issue

    portal_link_issue(
        invoice=draft.invoice, contact=draft.contact, revoke_earlier=False, source="renewal"
    )
    card = _paylink_card(personas.client_for(Role.AR_MANAGER), draft.invoice)
    assert "by the payer&#x27;s renewal request." in card


def test_chip_counts_stop_at_the_cap_and_say_so(personas, monkeypatch):
    from plixo.comms import selectors
    from plixo.comms.models import Message
    from tests.factories import ContactFactory, CustomerFactory, InvoiceFactory

    monkeypatch.setattr(selectors.messages, "COUNT_CAP", 2)
    customer = CustomerFactory(organization=personas.org)
    contact = ContactFactory(customer=customer, is_primary=True)
    for n in range(4):
        invoice = InvoiceFactory(customer=customer, organization=personas.org)
        Message.objects.create(
            organization=personas.org,
            invoice=invoice,
            contact=contact,
            purpose=f"manual:cap-{n}",
            idempotency_key=f"cap-{n}",
            subject="Invoice {invoice_number}",
            body="Pay {pay_link}",
        )
    counts = selectors.draft_counts(membership=personas.operator)
    assert counts["draft"] == 3  # read no further than the cap + 1
    assert selectors.count_label(counts["draft"]) == "2+"
    assert selectors.count_label(2) == "2"


@pytest.mark.parametrize(
    "stamp",
    ["2026-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+00:00"],
)
def test_an_edited_page_link_never_500s(personas, draft, stamp):
    import base64

    client = personas.client_for(Role.CONTROLLER)
    for pk in ("5", str(10**30)):
        cursor = base64.urlsafe_b64encode(f"{stamp}|{pk}".encode()).decode()
        for name in ("after", "before"):
            for url in (reverse("comms:draft-list"), reverse("comms:outbox")):
                assert client.get(url, {name: cursor}).status_code == 200
