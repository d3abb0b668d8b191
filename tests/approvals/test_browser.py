"""Approvals in a real browser: a manager whose limit is $1,000 writes off $1,704.77 and is told
it needs the Controller; the Controller, on a phone, approves it from the inbox with one click.
Pages are photographed into `artifacts/screenshots/` (`approvals-*`); at phone width nothing
may stick out of the screen or of its card."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.ledger.models import Invoice, InvoiceStatus
from tests.e2e.test_stripe_staff_flow import OVERFLOWING

pytestmark = pytest.mark.e2e

PASSWORD = "quayside-ledger-2026"
MANAGER = "ines.moreau@quayside.example"
CONTROLLER = "maren.holt@quayside.example"


@pytest.fixture
def quayside(transactional_db):
    org = core.organization_create(
        name="Quayside Chandlery", slug="quayside", time_zone="America/New_York"
    )
    controller = core.user_get_or_create(
        email=CONTROLLER, password=PASSWORD, full_name="Maren Holt"
    )
    manager = core.user_get_or_create(email=MANAGER, password=PASSWORD, full_name="Inès Moreau")
    core.membership_add(organization=org, user=controller, role=Role.CONTROLLER)
    core.membership_add(
        organization=org, user=manager, role=Role.AR_MANAGER, approval_limit=Decimal("1000")
    )
    customer = ledger.customer_create(
        organization=org, external_id="C-7100", name="Harborview Marine", currency="USD"
    )
    due = timezone.now().date() - dt.timedelta(days=140)
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="QC-5120",
        issue_date=due - dt.timedelta(days=30),
        due_date=due,
        currency="USD",
        amount=Decimal("1704.77"),
    )
    return {"org": org, "invoice": invoice}


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def test_a_write_off_above_the_limit_is_approved_from_the_inbox_on_a_phone(
    live_server, quayside, desktop, phone, screenshots
):
    invoice = quayside["invoice"]
    url = f"{live_server.url}/invoices/{invoice.public_id}/"

    # The manager asks to write off the whole balance; the page says it needs approval.
    sign_in(desktop, live_server.url, MANAGER)
    desktop.goto(url)
    desktop.on("dialog", lambda dialog: dialog.accept())
    desktop.locator("summary", has_text="Write off").click()
    expect(desktop.locator(".writeoff-guardrail")).to_contain_text(
        "exceeds your $1,000.00 limit — Controller approval required"
    )
    desktop.locator("#id_writeoff-reason").fill("Customer entered administration")
    desktop.get_by_role("button", name="Write off").click()
    expect(desktop.locator(".flash")).to_contain_text(
        "Write-off of $1,704.77 exceeds your $1,000.00 limit — Controller approval required."
    )
    desktop.screenshot(path=str(screenshots / "approvals-requested.png"), full_page=True)
    assert Invoice.objects.get(pk=invoice.pk).balance == Decimal("1704.77")

    # The Controller approves it from the inbox, on a phone, with one click.
    sign_in(phone, live_server.url, CONTROLLER)
    phone.get_by_role("navigation", name="Main").locator("summary", has_text="Collections").click()
    phone.get_by_role("link", name="Approvals").first.click()
    card = phone.locator(".approval").first
    expect(card).to_contain_text("Customer entered administration")
    expect(card).to_contain_text("Inès Moreau")
    phone.screenshot(path=str(screenshots / "approvals-inbox-phone.png"), full_page=True)
    wider = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert wider <= 0, f"the inbox is {wider}px wider than the screen"
    assert phone.evaluate(OVERFLOWING) == []
    card.get_by_role("button", name="Approve").click()
    expect(phone.locator(".flash")).to_contain_text("approved and carried out")

    invoice = Invoice.objects.get(pk=invoice.pk)
    assert (invoice.status, invoice.balance) == (InvoiceStatus.WRITTEN_OFF, Decimal("0"))
    phone.goto(url)
    expect(phone.locator("main")).to_contain_text("Approval approved")
    phone.screenshot(path=str(screenshots / "approvals-invoice-phone.png"), full_page=True)

    phone.goto(f"{live_server.url}/approvals/limits/")
    expect(phone.locator("main")).to_contain_text("Routing rules")
    phone.screenshot(path=str(screenshots / "approvals-limits-phone.png"), full_page=True)
    assert phone.evaluate(OVERFLOWING) == []
    assert not desktop.js_errors and not phone.js_errors
