"""Portal security: headers on every answer, per-IP rate limits, no raw token anywhere (R3),
one invoice per session, maintenance mode."""

import io
import logging

import pytest
from django.core.management import call_command
from django.test import Client, override_settings

from plixo.ops.models import MaintenanceState
from plixo.portal.services import portal_link_issue
from tests.portal.conftest import make_billed, open_portal

pytestmark = pytest.mark.django_db

LIMITS = {"link": (3, 60), "renew": (2, 900), "renew_per_invoice": (5, 3600)}


def _assert_portal_headers(response):
    assert response["Referrer-Policy"] == "no-referrer"
    assert response["Cache-Control"] == "no-store"


def test_every_portal_answer_carries_no_referrer_and_no_store(billed, payer):
    _, path = portal_link_issue(invoice=make_billed(billed.invoice.organization, "H").invoice)
    anonymous = Client()
    answers = [
        anonymous.get(path),
        anonymous.get("/p/" + "z" * 43),
        anonymous.get("/portal/"),
        anonymous.get("/portal/renew/"),
        anonymous.get("/portal/demo"),
        anonymous.get("/portal/no-such-page/"),
        payer.get("/portal/"),
        payer.get("/portal/pay/"),
        payer.get("/portal/plan/"),
        payer.get("/portal/promise/"),
        payer.get("/portal/dispute/"),
    ]
    for response in answers:
        _assert_portal_headers(response)
    # Staff pages keep the site-wide policy.
    assert anonymous.get("/login/")["Referrer-Policy"] == "same-origin"


def test_portal_pages_have_a_strict_csp_and_no_inline_code(payer):
    response = payer.get("/portal/")
    csp = response["Content-Security-Policy"]
    assert "style-src 'self'" in csp
    body = response.content.decode()
    assert " style=" not in body
    assert "<script>" not in body and "<style" not in body


@override_settings(PORTAL_RATE_LIMITS=LIMITS)
def test_links_are_rate_limited_per_ip(billed):
    _, path = portal_link_issue(invoice=billed.invoice)
    here, there = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.9")
    assert [here.get(f"/p/{'q' * 43}").status_code for _ in range(3)] == [404, 404, 404]
    response = here.get(path)  # even a valid link, once the IP is over its limit
    assert response.status_code == 429
    body = response.content.decode()
    assert "Too many attempts" in body and response["X-Request-ID"] in body
    assert "INV-A" not in body
    assert int(response["Retry-After"]) > 0
    _assert_portal_headers(response)
    assert there.get(path).status_code == 200  # another IP is not affected


@override_settings(PORTAL_RATE_LIMITS=LIMITS)
def test_renewal_is_rate_limited_per_ip(billed):
    client = Client(REMOTE_ADDR="203.0.113.8")
    assert client.post("/portal/renew/", {"token": "x" * 43}).status_code == 200
    assert client.post("/portal/renew/", {"token": "x" * 43}).status_code == 200
    assert client.post("/portal/renew/", {"token": "x" * 43}).status_code == 429


def test_the_raw_token_is_in_neither_the_database_nor_the_logs(billed, caplog):
    caplog.set_level(logging.DEBUG)
    link, path = portal_link_issue(invoice=billed.invoice)
    token = path.removeprefix("/p/")
    payer = Client()
    payer.get(path)
    payer.post(path)
    payer.get("/portal/")
    Client().get(path)  # a 410 for someone else: logged as a client error
    Client().post("/portal/renew/", {"token": token})  # issues and emails a fresh link
    Client().get(path[:-1] + "Q")  # a near miss: 404
    dump = io.StringIO()
    call_command("dumpdata", stdout=dump)
    assert link.token_hash in dump.getvalue()  # the dump does hold the link …
    assert token not in dump.getvalue()  # … but never its token
    assert caplog.records, "expected request logging to be captured"
    assert token not in caplog.text
    assert all(token not in str(record.__dict__) for record in caplog.records)


def test_a_session_for_invoice_a_never_reads_invoice_b(billed, billed_b):
    from plixo.payments.providers import provider_for
    from plixo.payments.services import checkout_create

    payer_b = open_portal(billed_b.invoice)
    session_b = payer_b.session["portal_session"]
    checkout = checkout_create(
        invoice=billed_b.invoice, amount=billed_b.invoice.balance, portal_session_ref=session_b
    )
    provider_for(billed_b.invoice.organization).simulate_success(checkout=checkout)
    receipt_b = billed_b.invoice.receipts.get()

    payer_a = open_portal(billed.invoice)
    body = payer_a.get("/portal/").content.decode()
    assert "INV-A" in body and "INV-B" not in body
    assert payer_a.get(f"/portal/receipts/{receipt_b.public_id}.pdf").status_code == 404
    assert payer_a.get("/portal/receipts/not-a-uuid.pdf").status_code == 404
    # Query strings and form fields naming B change nothing.
    hostile = {"invoice": str(billed_b.invoice.public_id), "invoice_id": str(billed_b.invoice.pk)}
    assert "INV-B" not in payer_a.get("/portal/", hostile).content.decode()
    pdf = payer_a.get("/portal/invoice.pdf", hostile)
    assert pdf.status_code == 200 and "invoice-INV-A.pdf" in pdf["Content-Disposition"]
    payer_a.post("/portal/promise/", {**hostile, "promised_on": "2999-01-01", "amount": "1"})
    assert not billed_b.invoice.promises.exists()
    # B's own session still reads its receipt.
    assert payer_b.get(f"/portal/receipts/{receipt_b.public_id}.pdf").status_code == 200


def test_maintenance_closes_the_portal_with_the_maintenance_page(billed, payer):
    _, path = portal_link_issue(invoice=make_billed(billed.invoice.organization, "M").invoice)
    MaintenanceState.objects.update_or_create(pk=1, defaults={"enabled": True})
    for client, url in ((payer, "/portal/"), (Client(), path), (Client(), "/portal/renew/")):
        response = client.get(url)
        assert response.status_code == 503
        assert response["Retry-After"]
        assert "right back" in response.content.decode()
        _assert_portal_headers(response)
    MaintenanceState.objects.filter(pk=1).update(enabled=False)
    assert payer.get("/portal/").status_code == 200
