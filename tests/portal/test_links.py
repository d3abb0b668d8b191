"""Token lifecycle (PORTAL-1…3, PORTAL-10, R3): issue, land, open, expire, regenerate."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from plixo.portal.models import LinkState, PortalEvent, PortalLink, PortalSession
from plixo.portal.selectors import SESSION_KEY, link_for_token, link_state, token_hash
from plixo.portal.services import portal_link_issue
from tests.portal.conftest import open_portal

pytestmark = pytest.mark.django_db


def _token(path: str) -> str:
    assert path.startswith("/p/")
    return path.removeprefix("/p/")


def test_a_link_carries_256_random_bits_and_only_its_hash_is_stored(billed):
    link, path = portal_link_issue(invoice=billed.invoice)
    token = _token(path)
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # token_urlsafe(32): 256 bits
    link.refresh_from_db()
    assert link.token_hash == token_hash(token)
    assert token not in {
        str(v) for v in PortalLink.objects.filter(pk=link.pk).values().get().values()
    }
    assert link_for_token(token) == link
    assert link.contact == billed.contact  # the primary contact on file
    _, other = portal_link_issue(invoice=billed.invoice)
    assert _token(other) != token


def test_get_shows_the_landing_page_and_consumes_nothing(billed):
    _, path = portal_link_issue(invoice=billed.invoice)
    client = Client()
    for _ in range(3):  # a mail scanner, a preview pane, the payer
        response = client.get(path)
        assert response.status_code == 200
    body = response.content.decode()
    assert "INV-A" in body and "$1,250.00" in body and billed.invoice.organization.name in body
    link = PortalLink.objects.get(invoice=billed.invoice)
    assert link.consumed_at is None
    assert PortalSession.objects.count() == 0
    assert SESSION_KEY not in client.session
    assert PortalEvent.objects.filter(kind="link_opened", invoice=billed.invoice).count() == 3


def test_post_consumes_once_and_starts_one_session_for_that_invoice(billed):
    _, path = portal_link_issue(invoice=billed.invoice)
    payer = Client()
    response = payer.post(path)
    assert response.status_code == 302 and response["Location"] == "/portal/"
    session = PortalSession.objects.get()
    assert session.invoice == billed.invoice and session.contact == billed.contact
    assert payer.session[SESSION_KEY] == str(session.public_id)
    assert payer.get("/portal/").status_code == 200
    # The same browser coming back through the link goes straight in …
    assert payer.get(path)["Location"] == "/portal/"
    # … anyone else finds it used, and learns nothing about the invoice.
    stranger = Client()
    for method in (stranger.get, stranger.post):
        response = method(path)
        assert response.status_code == 410
        body = response.content.decode()
        assert "already been used" in body
        assert "INV-A" not in body and "1,250" not in body
        assert response["X-Request-ID"] in body
        assert 'action="/portal/renew/"' in body
    assert PortalSession.objects.count() == 1
    assert billed.invoice.timeline.filter(kind="portal_opened").count() == 1


def test_unknown_and_malformed_tokens_get_a_clear_page(billed):
    for token in ("x" * 43, "short", "not a token!", "a" * 300):
        response = Client().get(f"/p/{token}")
        assert response.status_code == 404
        body = response.content.decode()
        assert "recognise this link" in body
        assert "INV-A" not in body
        assert response["X-Request-ID"] in body


def test_regenerating_revokes_every_earlier_link_and_their_sessions(billed):
    _, first = portal_link_issue(invoice=billed.invoice)
    _, second = portal_link_issue(invoice=billed.invoice)
    payer = open_portal(billed.invoice)  # a third link, opened
    _, fourth = portal_link_issue(invoice=billed.invoice)
    assert PortalLink.objects.filter(invoice=billed.invoice, revoked_at=None).count() == 1
    for path in (first, second):
        response = Client().get(path)
        assert response.status_code == 410
        assert "has been replaced" in response.content.decode()
    # The session the third link opened has ended too.
    response = payer.get("/portal/")
    assert response.status_code == 403
    assert "session has ended" in response.content.decode()
    assert Client().get(fourth).status_code == 200


def test_other_invoices_links_are_untouched_by_regeneration(billed, billed_b):
    _, path_b = portal_link_issue(invoice=billed_b.invoice)
    portal_link_issue(invoice=billed.invoice)
    portal_link_issue(invoice=billed.invoice)
    assert Client().get(path_b).status_code == 200


def test_an_unused_link_expires_after_seven_idle_days_sliding(billed):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        link, path = portal_link_issue(invoice=billed.invoice)
        clock.shift(dt.timedelta(days=6))
        assert Client().get(path).status_code == 200  # a view slides the window
        clock.shift(dt.timedelta(days=6, hours=23))
        assert link_state(PortalLink.objects.get(pk=link.pk)) == LinkState.ACTIVE
        clock.shift(dt.timedelta(hours=1, seconds=1))
        link.refresh_from_db()
        assert link_state(link) == LinkState.EXPIRED
        response = Client().post(path)
        assert response.status_code == 410
        assert "has expired" in response.content.decode()
        assert PortalSession.objects.count() == 0


def test_a_session_expires_after_seven_idle_days_sliding(billed):
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        payer = open_portal(billed.invoice)
        for _ in range(3):  # used every six days: alive for 18
            clock.shift(dt.timedelta(days=6))
            assert payer.get("/portal/").status_code == 200
        clock.shift(dt.timedelta(days=7, seconds=1))
        response = payer.get("/portal/")
        assert response.status_code == 403
        body = response.content.decode()
        assert "session has expired" in body
        assert "INV-A" not in body
        assert 'action="/portal/renew/"' in body


def test_without_a_portal_session_the_pages_say_how_to_get_in(billed, personas):
    # Neither an anonymous visitor nor signed-in staff get in without a payer link.
    for client in (Client(), personas.client_for("controller")):
        for url in ("/portal/", "/portal/pay/", "/portal/invoice.pdf"):
            response = client.get(url)
            assert response.status_code == 403
            body = response.content.decode()
            assert "Open your payment link" in body
            assert "INV-A" not in body


def test_a_void_invoice_gets_no_link(billed):
    from plixo.ledger.models import LedgerError
    from plixo.ledger.services import invoice_void

    invoice_void(invoice=billed.invoice, actor=None, reason="Issued twice")
    with pytest.raises(LedgerError, match="void"):
        portal_link_issue(invoice=billed.invoice)


def test_leaving_ends_access_on_this_device(payer):
    response = payer.post("/portal/leave/")
    assert response.status_code == 200
    assert payer.get("/portal/").status_code == 403
