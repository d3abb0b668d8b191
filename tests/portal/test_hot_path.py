"""The invoice page is the portal's busiest: it reads a fixed handful of rows and writes nothing
on a repeat view, while sliding expiry and the funnel's `invoice_viewed` stay correct."""

import datetime as dt
from decimal import Decimal

import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import set_script_prefix
from django.utils import timezone

from plixo.portal.models import PortalEvent, PortalSession
from plixo.portal.services import TOUCH_EVERY, VIEW_EVENT_EVERY
from tests.factories import PaymentPlanFactory, PromiseFactory
from tests.portal.conftest import open_portal

VIEWED = PortalEvent.Kind.INVOICE_VIEWED


def _viewed(invoice) -> int:
    return PortalEvent.objects.filter(invoice=invoice, kind=VIEWED).count()


def test_a_repeat_view_reads_four_rows_and_writes_nothing(billed, payer):
    assert payer.get("/portal/").status_code == 200  # the first view records the event
    with CaptureQueriesContext(connection) as queries:
        response = payer.get("/portal/")
    assert response.status_code == 200
    statements = [q["sql"].lstrip().split()[0].upper() for q in queries.captured_queries]
    # Django session, maintenance flag, portal session with link and invoice, banner facts.
    assert statements == ["SELECT"] * 4, statements
    assert "sessionid" not in response.cookies  # the Django session was not saved again


def test_invoice_viewed_is_recorded_once_per_session_per_window(billed):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        payer = open_portal(billed.invoice)
        for _ in range(5):
            assert payer.get("/portal/").status_code == 200
        assert _viewed(billed.invoice) == 1
        # Another worker (or an evicted cache) asks the events table and still writes none.
        cache.clear()
        assert payer.get("/portal/").status_code == 200
        assert _viewed(billed.invoice) == 1
        clock.shift(VIEW_EVENT_EVERY + dt.timedelta(seconds=1))
        assert payer.get("/portal/").status_code == 200
        assert _viewed(billed.invoice) == 2
        # A second payer session on the same invoice is its own visit.
        other = open_portal(billed.invoice)
        assert other.get("/portal/").status_code == 200
        assert _viewed(billed.invoice) == 3


def test_the_session_slides_at_most_once_per_touch_interval(billed):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        payer = open_portal(billed.invoice)
        session = PortalSession.objects.get()
        clock.shift(TOUCH_EVERY / 2)
        response = payer.get("/portal/")
        assert response.status_code == 200 and "sessionid" not in response.cookies
        session.refresh_from_db()
        assert session.last_seen_at == start
        clock.shift(TOUCH_EVERY)
        response = payer.get("/portal/")
        assert response.status_code == 200 and "sessionid" in response.cookies
        session.refresh_from_db()
        session.link.refresh_from_db()
        moved = start + TOUCH_EVERY / 2 + TOUCH_EVERY
        assert session.last_seen_at == moved and session.link.last_activity_at == moved


def test_banners_come_from_open_plans_and_the_newest_open_promise(billed, payer):
    invoice = billed.invoice
    PaymentPlanFactory(invoice=invoice, status="rejected")
    PromiseFactory(invoice=invoice, status="kept", amount=Decimal("90.00"))
    body = payer.get("/portal/").content.decode()
    assert "Plan submitted" not in body and "Payment date noted" not in body

    PaymentPlanFactory(invoice=invoice, status="pending_approval")
    PromiseFactory(invoice=invoice, amount=Decimal("111.00"), source="portal")
    PromiseFactory(invoice=invoice, amount=Decimal("222.00"), source="portal")
    body = payer.get("/portal/").content.decode()
    assert "Plan submitted" in body and "Payment date noted" in body
    assert "$222.00" in body and "$111.00" not in body


def test_a_promise_staff_recorded_is_not_thanked_for(billed, payer):
    PromiseFactory(invoice=billed.invoice, amount=Decimal("333.00"), source="staff")
    body = payer.get("/portal/").content.decode()
    assert "Payment date on file" in body and "We have noted that you will pay $333.00" in body
    assert "Thank you for letting us know" not in body


def test_page_links_follow_the_script_prefix(billed, payer):
    plain = payer.get("/portal/").content.decode()
    assert 'href="/portal/pay/"' in plain and 'action="/portal/leave/"' in plain
    # Mounted under a prefix (the WSGI handler sets it from SCRIPT_NAME; the test client
    # does not, so the test sets it).
    set_script_prefix("/billing/")
    try:
        prefixed = payer.get("/portal/").content.decode()
    finally:
        set_script_prefix("/")
    assert 'href="/billing/portal/pay/"' in prefixed
    assert 'href="/billing/portal/invoice.pdf"' in prefixed
    assert 'action="/billing/portal/leave/"' in prefixed
