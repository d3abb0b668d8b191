"""The outbox: a fresh single-use link per email, retries with backoff then failure, nothing
sent in maintenance, a paid invoice's email cancelled at send time, suppressions held or
cancelled and lifted on their reactivation date."""

import datetime as dt
import re

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.test import Client, override_settings

from plixo.comms.models import Message
from plixo.comms.services import contact_suppress, outbox_send, suppressions_reactivate
from plixo.comms.services.outbox import MAX_ATTEMPTS, RETRY_AFTER
from plixo.ledger.models import Invoice
from plixo.ops.models import MaintenanceState
from plixo.portal.models import PortalLink
from plixo.portal.selectors import token_hash
from tests.comms.conftest import NOON_NY
from tests.comms.outbox_helpers import approved, events
from tests.factories import ContactFactory, CustomerFactory

TOKEN = re.compile(r"/p/([A-Za-z0-9_-]+)")


class RefusingBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server refused the connection")


def test_each_sent_email_carries_its_own_fresh_single_use_link(
    personas, customer, contact, live_org, clock
):
    first = approved(customer, actor=personas.operator.user)
    second = approved(customer, actor=personas.operator.user)
    # Drafting and approving issue no link: only sending does.
    assert not PortalLink.objects.exists()
    assert outbox_send()["sent"] == 2
    assert PortalLink.objects.count() == 2
    tokens = [TOKEN.search(email.body).group(1) for email in mail.outbox]
    assert len(set(tokens)) == 2
    by_hash = {token_hash(t): t for t in tokens}
    for message in (first, second):
        message.refresh_from_db()
        link = message.portal_link
        assert link is not None and link.invoice_id == message.invoice_id
        assert link.token_hash in by_hash
        assert link.revoked_at is None  # the second send did not revoke the first
        # The stored copy, which staff may read, never holds the raw token (R3).
        assert by_hash[link.token_hash] not in message.rendered_body
        assert "/p/" not in message.rendered_body
        assert "single-use pay link" in message.rendered_body
    response = Client().get(f"/p/{tokens[0]}")
    assert response.status_code == 200


def test_a_failing_backend_retries_with_backoff_then_fails(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    with override_settings(EMAIL_BACKEND="tests.comms.test_outbox.RefusingBackend"):
        now = NOON_NY
        for attempt in range(1, MAX_ATTEMPTS):
            assert outbox_send(now=now)["retry"] == 1
            message.refresh_from_db()
            assert message.status == Message.Status.QUEUED
            assert message.attempts == attempt
            delay = RETRY_AFTER[min(attempt - 1, len(RETRY_AFTER) - 1)]
            assert message.send_after == now + delay
            assert "ConnectionRefusedError" in message.last_error
            # Not before its time.
            assert outbox_send(now=now + delay - dt.timedelta(seconds=1))["retry"] == 0
            now += delay
        assert outbox_send(now=now)["failed"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.FAILED
    assert message.attempts == MAX_ATTEMPTS
    assert len(events(message, "email_failed")) == 1
    assert "email_sent" not in {e.kind for e in events(message, "email_sent")}
    # The links issued for the failed attempts were revoked: nobody received them.
    assert not PortalLink.objects.filter(revoked_at=None).exists()
    assert outbox_send(now=now + dt.timedelta(hours=1))["sent"] == 0


def test_nothing_is_sent_during_maintenance(personas, customer, contact, live_org, clock):
    message = approved(customer, actor=personas.operator.user)
    MaintenanceState.objects.update_or_create(pk=1, defaults={"enabled": True})
    counts = outbox_send()
    assert counts.get("maintenance") is True and counts["sent"] == 0
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    MaintenanceState.objects.filter(pk=1).update(enabled=False)
    assert outbox_send()["sent"] == 1


@pytest.mark.raw_invoice_writes
def test_an_email_for_an_invoice_paid_meanwhile_is_cancelled_at_send_time(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    # Paid by a path that tells the cadence nothing (an import, say).
    Invoice.objects.filter(pk=message.invoice_id).update(status="paid", balance=0)
    counts = outbox_send()
    assert counts["cancelled"] == 1 and counts["sent"] == 0
    assert mail.outbox == []
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert message.status_reason == "Invoice is paid"
    assert len(events(message, "email_cancelled")) == 1


def test_a_suppression_with_a_reactivation_date_holds_until_then(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    back = NOON_NY + dt.timedelta(days=6)  # Monday 2026-03-09, 15:00 UTC
    contact_suppress(contact=contact, kind="vacation", reason="Back on the 9th", until=back)
    assert outbox_send()["held"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.QUEUED
    assert message.send_after == back
    assert message.hold_reason == "contact suppressed (Vacation: Back on the 9th)"
    assert mail.outbox == []

    clock.move_to(back)
    assert suppressions_reactivate() == 1
    contact.refresh_from_db()
    assert not contact.is_suppressed
    assert outbox_send()["sent"] == 1
    assert mail.outbox[0].to == ["ap@initech.example"]


def test_an_indefinite_suppression_cancels_the_email(personas, customer, contact, live_org, clock):
    message = approved(customer, actor=personas.operator.user)
    contact_suppress(contact=contact, kind="relationship", reason="CEO asked us to stop")
    assert outbox_send()["cancelled"] == 1
    message.refresh_from_db()
    assert message.status == Message.Status.CANCELLED
    assert "Relationship-sensitive" in message.status_reason
    assert mail.outbox == []
    # Someone else's email is not affected.
    other = CustomerFactory(organization=personas.org, time_zone="America/New_York", country="US")
    ContactFactory(customer=other, email="ap@other.example", is_primary=True)
    approved(other, actor=personas.operator.user)
    assert outbox_send()["sent"] == 1


def test_a_suppression_or_its_end_has_held_emails_looked_at_again_at_once(
    personas, customer, contact, live_org, clock
):
    message = approved(customer, actor=personas.operator.user)
    until = NOON_NY + dt.timedelta(days=5)
    contact_suppress(contact=contact, kind="vacation", until=until)
    assert outbox_send()["held"] == 1
    message.refresh_from_db()
    assert message.send_after == until and "suppressed" in message.hold_reason
    from plixo.comms.services import contact_unsuppress

    contact_unsuppress(contact=contact)
    message.refresh_from_db()
    assert message.send_after <= NOON_NY  # looked at again on the next run, not in five days
    assert outbox_send()["sent"] == 1
