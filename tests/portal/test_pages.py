"""The payer's pages: pay through the sandbox, plan, promise, dispute, banners, PDFs, funnel
events, renewal by email, and the demo portal."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from plixo.portal.models import PortalEvent
from plixo.portal.selectors import portal_funnel
from plixo.portal.services import demo_portal_link, portal_link_issue
from tests.portal.conftest import open_portal

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _events(invoice) -> list[str]:
    return list(PortalEvent.objects.filter(invoice=invoice).values_list("kind", flat=True))


def _pay(payer, amount: str):
    response = payer.post("/portal/pay/", {"amount": amount})
    assert response.status_code == 303, response.content.decode()[:2000]
    sandbox = response["Location"]
    assert sandbox.startswith("/portal/sandbox/")
    assert "Sandbox" in payer.get(sandbox).content.decode()
    done = payer.post(sandbox, {"action": "pay"})
    assert done["Location"] == "/portal/?paid=1"
    return payer.get(done["Location"])


def test_pay_in_full_through_the_sandbox_shows_paid_and_the_receipt(billed, payer):
    assert "$1,250.00" in payer.get("/portal/pay/").content.decode()
    response = _pay(payer, "1250.00")
    body = response.content.decode()
    assert "Paid" in body and "paid in full" in body
    billed.invoice.refresh_from_db()
    assert billed.invoice.status == "paid" and billed.invoice.balance == 0
    receipt = billed.invoice.receipts.get()
    assert receipt.number in body
    pdf = payer.get(f"/portal/receipts/{receipt.public_id}.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf["Content-Disposition"]
    assert "Pay now" not in body  # nothing left to do
    assert payer.get("/portal/pay/")["Location"] == "/portal/"
    kinds = _events(billed.invoice)
    assert kinds.count("pay_clicked") == 1 and kinds.count("paid") == 1
    payer.get("/portal/?paid=1")  # a reload records no second payment
    assert _events(billed.invoice).count("paid") == 1


def test_partial_payment_follows_the_organization_setting(billed, payer):
    org = billed.invoice.organization
    response = _pay(payer, "250.00")
    assert "Payment received" in response.content.decode()
    billed.invoice.refresh_from_db()
    assert billed.invoice.balance == 1000 and billed.invoice.status == "partially_paid"

    org.allow_partial_payments = False
    org.save()
    response = payer.post("/portal/pay/", {"amount": "100.00"})
    assert response.status_code == 200
    assert "Please pay the full balance." in response.content.decode()
    assert "readonly" in payer.get("/portal/pay/").content.decode()


def test_pay_rejects_bad_amounts_inline(payer):
    for amount, message in (
        ("", "This field is required."),
        ("abc", ""),
        ("0", "greater than zero"),
        ("99999", "more than the balance"),
    ):
        response = payer.post("/portal/pay/", {"amount": amount})
        assert response.status_code == 200
        body = response.content.decode()
        assert 'class="error"' in body and message in body
    balance = payer.post("/portal/pay/", {"amount": "99999"}).content.decode()
    assert "more than the balance due ($" in balance  # formatted as money, not "1250.00 USD"


def test_a_promise_needs_its_fields_and_shows_its_banner(billed, payer):
    response = payer.post("/portal/promise/", {"promised_on": "", "amount": ""})
    body = response.content.decode()
    assert response.status_code == 200 and body.count("This field is required.") == 2
    past = (timezone.now().date() - dt.timedelta(days=3)).isoformat()
    assert (
        "today or a later date"
        in payer.post("/portal/promise/", {"promised_on": past, "amount": "100"}).content.decode()
    )
    on = timezone.now().date() + dt.timedelta(days=10)
    response = payer.post(
        "/portal/promise/",
        {"promised_on": on.isoformat(), "amount": "600", "note": "After our payment run"},
    )
    assert response["Location"] == "/portal/"
    promise = billed.invoice.promises.get()
    assert (
        promise.source == "portal" and promise.amount == 600 and promise.contact == billed.contact
    )
    assert "(payer, portal)" in promise.actor_label
    assert "Payment date noted" in payer.get("/portal/").content.decode()
    assert "promise_made" in _events(billed.invoice)
    assert billed.invoice.timeline.filter(kind="promise_made").exists()


def test_a_plan_is_laid_out_evenly_then_submitted(billed, payer):
    page = payer.get("/portal/plan/").content.decode()
    assert page.count('name="amount_') == 3
    first = timezone.now().date() + dt.timedelta(days=3)
    laid_out = payer.post(
        "/portal/plan/",
        {"action": "layout", "count": "4", "first_on": first.isoformat(), "reason": ""},
    )
    form = laid_out.context["form"]
    assert form.row_count == 4
    assert [form[f"amount_{i}"].value() for i in range(4)] == ["312.50"] * 4
    data = {
        "action": "submit",
        "count": "4",
        "first_on": first.isoformat(),
        "reason": "Cash flow after a late customer payment",
    }
    for i in range(4):
        data[f"due_{i}"] = (first + dt.timedelta(days=30 * i)).isoformat()
        data[f"amount_{i}"] = "312.50"
    missing_reason = payer.post("/portal/plan/", {**data, "reason": ""})
    assert "This field is required." in missing_reason.content.decode()
    response = payer.post("/portal/plan/", data)
    assert response["Location"] == "/portal/", response.content.decode()[:3000]
    plan = billed.invoice.payment_plans.get()
    assert plan.source == "portal" and plan.total == 1250 and plan.installments.count() == 4
    assert "Plan submitted" in payer.get("/portal/").content.decode()
    assert "plan_proposed" in _events(billed.invoice)


def test_a_plan_with_an_error_keeps_the_rows_the_payer_typed(billed, payer):
    first = timezone.now().date() + dt.timedelta(days=3)
    data = {"action": "submit", "count": "2", "first_on": first.isoformat(), "reason": ""}
    data |= {
        "due_0": first.isoformat(),
        "amount_0": "1000.00",
        "due_1": (first + dt.timedelta(days=45)).isoformat(),
        "amount_1": "250.00",
    }

    response = payer.post("/portal/plan/", data)

    form = response.context["form"]
    assert "This field is required." in response.content.decode()
    assert form.row_count == 2
    assert [form[f"amount_{i}"].value() for i in range(2)] == ["1000.00", "250.00"]
    assert form["due_1"].value() == data["due_1"]
    assert not billed.invoice.payment_plans.exists()


def test_a_plan_the_service_refuses_shows_why(billed, payer):
    first = timezone.now().date() + dt.timedelta(days=3)
    data = {"action": "submit", "count": "2", "first_on": first.isoformat(), "reason": "Two halves"}
    data |= {
        "due_0": first.isoformat(),
        "amount_0": "700",
        "due_1": first.isoformat(),
        "amount_1": "500",
    }
    response = payer.post("/portal/plan/", data)
    assert response.status_code == 200
    assert 'role="alert"' in response.content.decode()
    assert not billed.invoice.payment_plans.exists()


def test_a_dispute_with_attachments_is_received(billed, payer):
    upload = SimpleUploadedFile("photo of damage.png", PNG, content_type="image/png")
    response = payer.post(
        "/portal/dispute/",
        {
            "reason_code": "quality",
            "amount": "300",
            "description": "Two bays arrived bent.",
            "attachments": [upload],
        },
    )
    assert response["Location"] == "/portal/", response.content.decode()[:3000]
    dispute = billed.invoice.disputes.get()
    assert dispute.source == "portal" and dispute.attachments.count() == 1
    billed.invoice.refresh_from_db()
    assert billed.invoice.status == "disputed"
    assert "Dispute received" in payer.get("/portal/").content.decode()
    assert "dispute_filed" in _events(billed.invoice)


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([("run.pdf", b"#!/bin/sh\nrm -rf /\n")], "run.pdf"),
        (
            [
                (
                    "logo.svg",
                    b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
                )
            ],
            "logo.svg",
        ),
        ([("page.png", b"<html><script>alert(1)</script></html>")], "page.png"),
        ([(f"p{i}.png", PNG) for i in range(6)], "at most 5"),
    ],
)
def test_bad_attachments_are_refused_inline(billed, payer, files, message):
    uploads = [SimpleUploadedFile(name, data) for name, data in files]
    response = payer.post(
        "/portal/dispute/",
        {
            "reason_code": "pricing",
            "amount": "100",
            "description": "Wrong price",
            "attachments": uploads,
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert message in body and 'class="error"' in body
    assert not billed.invoice.disputes.exists()


def test_a_dispute_needs_reason_amount_and_description(billed, payer):
    response = payer.post("/portal/dispute/", {"reason_code": "", "amount": "", "description": ""})
    assert response.content.decode().count("This field is required.") == 3


def test_an_oversized_attachment_is_refused(billed, payer, settings):
    big = SimpleUploadedFile("scan.pdf", b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 + 1))
    response = payer.post(
        "/portal/dispute/",
        {"reason_code": "pricing", "amount": "100", "description": "Wrong", "attachments": [big]},
    )
    assert "scan.pdf" in response.content.decode() and response.status_code == 200
    assert not billed.invoice.disputes.exists()


def test_the_invoice_pdf_downloads(payer):
    response = payer.get("/portal/invoice.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'attachment; filename="invoice-INV-A.pdf"'


def test_the_funnel_counts_invoices_per_step(billed, billed_b, personas):
    _, path = portal_link_issue(invoice=billed_b.invoice)
    Client().get(path)  # B: opened only
    payer = open_portal(billed.invoice)
    payer.get("/portal/")
    payer.get("/portal/pay/")
    _pay(payer, "1250.00")
    funnel = portal_funnel(organization=personas.org)
    assert funnel["link_opened"] == 1  # B; A's link was opened by POST straight away
    assert funnel["invoice_viewed"] == 1 and funnel["pay_clicked"] == 1 and funnel["paid"] == 1
    assert funnel["dispute_filed"] == 0
    assert portal_funnel(organization=personas.other_org)["invoice_viewed"] == 0


def _row_counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in apps.get_models()}


def test_the_demo_portal_uses_no_token_and_writes_nothing(billed):
    before = _row_counts()
    client = Client()
    pages = ["", "?page=pay", "?page=plan", "?page=promise", "?page=dispute", "?page=nope"]
    pages += ["?banner=paid", "?banner=plan", "?banner=promise", "?banner=dispute"]
    for query in pages:
        response = client.get(f"/portal/demo{query}")
        assert response.status_code == 200
        assert "Demo" in response.content.decode()
    assert "Paid" in client.get("/portal/demo?banner=paid").content.decode()
    assert "INV-A" not in client.get("/portal/demo").content.decode()
    assert _row_counts() == before


def test_renewal_emails_only_the_contact_on_file_and_says_the_same_thing(
    billed, django_capture_on_commit_callbacks
):
    link, path = portal_link_issue(invoice=billed.invoice)
    payer = open_portal(billed.invoice)  # link consumed by someone
    answers = []
    with django_capture_on_commit_callbacks(execute=True):
        answers.append(Client().post("/portal/renew/", {"token": path.removeprefix("/p/")}))
        answers.append(Client().post("/portal/renew/", {"token": "n" * 43}))
        answers.append(
            Client().post("/portal/renew/", {"token": "", "email": "attacker@evil.example"})
        )
    texts = {re.sub(r"<code>[^<]*</code>", "", a.content.decode()) for a in answers}
    assert len(texts) == 1 and all(a.status_code == 200 for a in answers)
    assert "ap-a@payer.example" not in texts.pop()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ap-a@payer.example"]
    url = re.search(r"https?://\S+/p/(\S+)", message.body)
    assert url, message.body
    fresh = url.group(1)
    assert Client().get(f"/p/{fresh}").status_code == 200  # the new link works …
    # … and a renewal (which anyone holding an old token can ask for) ends no live session.
    assert payer.get("/portal/").status_code == 200


def test_renewal_sends_nothing_during_maintenance(billed, django_capture_on_commit_callbacks):
    from plixo.ops.models import MaintenanceState
    from plixo.portal.services import portal_link_email

    MaintenanceState.objects.update_or_create(pk=1, defaults={"enabled": True})
    assert portal_link_email(invoice=billed.invoice, contact=billed.contact) is False
    assert mail.outbox == []


def test_plixo_demo_gets_a_working_link(billed, settings):
    org = billed.invoice.organization
    org.slug = "demo"
    org.save()
    url = demo_portal_link(base_url="http://127.0.0.1:8123/")
    assert url.startswith("http://127.0.0.1:8123/p/")
    assert Client().get(url.removeprefix("http://127.0.0.1:8123")).status_code == 200
    assert demo_portal_link(organization_slug="nowhere") is None


@pytest.mark.parametrize(
    ("typed", "language", "recorded"),
    [("1,50", "de-DE,de;q=0.9", "1.50"), ("1,000", "en-US,en;q=0.9", "1000.00")],
)
def test_a_promised_amount_is_read_in_the_payers_language(billed, payer, typed, language, recorded):
    on = timezone.now().date() + dt.timedelta(days=10)

    response = payer.post(
        "/portal/promise/",
        {"promised_on": on.isoformat(), "amount": typed},
        HTTP_ACCEPT_LANGUAGE=language,
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert billed.invoice.promises.get().amount == Decimal(recorded)


def test_an_amount_that_reads_two_ways_is_refused_and_nothing_recorded(billed, payer):
    on = timezone.now().date() + dt.timedelta(days=10)

    response = payer.post("/portal/promise/", {"promised_on": on.isoformat(), "amount": "1,000"})

    assert "could be 1000 or 1" in response.content.decode()
    assert not billed.invoice.promises.exists()


def test_amount_fields_carry_what_the_page_needs_to_show_the_recorded_amount(billed, payer):
    page = payer.get("/portal/promise/", HTTP_ACCEPT_LANGUAGE="de-DE").content.decode()

    assert "data-amount-preview" in page and 'data-decimal=","' in page


def test_a_renewal_email_survives_line_breaks_in_the_invoice_number(
    billed, django_capture_on_commit_callbacks
):
    from plixo.ledger.models import Invoice

    Invoice.objects.filter(pk=billed.invoice.pk).update(number="INV-A\r\nX-Injected: 1")
    billed.invoice.refresh_from_db()
    _, path = portal_link_issue(invoice=billed.invoice)
    with django_capture_on_commit_callbacks(execute=True):
        Client().post("/portal/renew/", {"token": path.removeprefix("/p/")})
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject.startswith("Invoice INV-A X-Injected: 1 from ")
    assert "X-Injected" not in mail.outbox[0].extra_headers


def test_installments_of_an_accepted_plan_are_paid_in_the_portal_and_the_plan_closes(
    billed, payer, personas
):
    from plixo.commitments.models import PaymentPlan
    from plixo.commitments.services import plan_create
    from plixo.ledger.selectors import org_today

    org = billed.invoice.organization
    org.allow_partial_payments = False
    org.save()
    today = org_today(org)
    plan = plan_create(
        invoice=billed.invoice,
        installments=[
            (today + dt.timedelta(days=1), Decimal("500.00")),
            (today + dt.timedelta(days=31), Decimal("750.00")),
        ],
        reason="Agreed on the phone",
        actor=personas.operator.user,
    )
    home = payer.get("/portal/").content.decode()
    assert "Your payment plan" in home and "$500.00" in home and "$750.00" in home
    page = payer.get("/portal/pay/").content.decode()
    assert "Installment 1 of your payment plan: $500.00" in page
    assert "readonly" not in page  # the installment may be paid alone
    wrong = payer.post("/portal/pay/", {"amount": "100.00"})
    assert "Please pay the installment due ($500.00) or the full balance." in (
        wrong.content.decode()
    )
    _pay(payer, "500.00")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.ACTIVE
    assert (
        "Installment 2 of your payment plan: $750.00" in payer.get("/portal/pay/").content.decode()
    )
    _pay(payer, "750.00")
    plan.refresh_from_db()
    billed.invoice.refresh_from_db()
    assert plan.status == PaymentPlan.Status.COMPLETED
    assert billed.invoice.status == "paid"
