"""What a payer does, in a real browser at phone and desktop size: follow the emailed link,
open the invoice, pay it through the sandbox checkout, see the Paid banner and download the
receipt; on another invoice, tell us a payment date, propose a plan and raise a dispute with
evidence. Every step is photographed to `artifacts/screenshots/portal-*.png`."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.ledger import services as ledger
from plixo.portal.services import portal_link_issue

pytestmark = pytest.mark.e2e

VIEWPORTS = ["desktop", "phone"]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture
def northwind(transactional_db):
    org = core.organization_create(
        name="Northwind Supply Co.", slug="northwind", time_zone="America/Los_Angeles"
    )
    customer = ledger.customer_create(
        organization=org, external_id="C-2001", name="Bluewater Logistics", currency="USD"
    )
    ledger.contact_create(
        customer=customer, email="ap@bluewater.example", name="Jordan Lee", is_primary=True
    )
    today = timezone.now().date()
    invoices = {}
    for number, amount, description in (
        ("INV-3101", "4280.00", "Pallet racking, 12 bays, installed at the Tacoma warehouse."),
        ("INV-3102", "1960.50", "Quarterly maintenance visit and replacement casters."),
    ):
        invoices[number] = ledger.invoice_create(
            organization=org,
            customer=customer,
            number=number,
            issue_date=today - dt.timedelta(days=35),
            due_date=today - dt.timedelta(days=5),
            currency="USD",
            amount=Decimal(amount),
            po_number="PO-88213",
            description=description,
        )
    return invoices


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    page.screenshot(path=str(screenshots / f"portal-{name}-{viewport}.png"), full_page=True)


def open_link(page: Page, base_url: str, invoice, screenshots, viewport: str) -> None:
    _, path = portal_link_issue(invoice=invoice)
    page.goto(f"{base_url}{path}")
    expect(page.get_by_role("heading", name=f"Invoice {invoice.number}")).to_be_visible()
    shoot(page, screenshots, "landing", viewport)
    page.get_by_role("button", name="Open invoice").click()
    page.wait_for_url(re.compile(r"/portal/$"))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_payer_pays_through_the_sandbox_and_downloads_the_receipt(
    request, northwind, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    invoice = northwind["INV-3101"]
    open_link(page, live_server.url, invoice, screenshots, viewport)
    expect(page.get_by_text("$4,280.00").first).to_be_visible()
    shoot(page, screenshots, "invoice", viewport)

    page.get_by_role("link", name="Pay now").click()
    expect(page.get_by_label("Amount to pay")).to_have_value("4280.00")
    shoot(page, screenshots, "pay", viewport)
    page.get_by_role("button", name="Continue to payment").click()
    page.wait_for_url(re.compile(r"/portal/sandbox/"))
    expect(page.get_by_text("Sandbox").first).to_be_visible()
    shoot(page, screenshots, "sandbox-checkout", viewport)
    page.get_by_role("button", name=re.compile(r"^Pay ")).click()

    page.wait_for_url(re.compile(r"/portal/\?paid=1$"))
    expect(page.locator(".banner-paid")).to_contain_text("Paid")
    expect(page.get_by_role("link", name="Pay now")).to_have_count(0)
    shoot(page, screenshots, "paid", viewport)
    with page.expect_download() as download_info:
        page.locator("a[href*='/portal/receipts/']").first.click()
    download = download_info.value
    assert re.fullmatch(r"receipt-R-\d+\.pdf", download.suggested_filename)
    assert Path(download.path()).read_bytes()[:4] == b"%PDF"
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_payer_promises_proposes_a_plan_and_disputes(
    request, northwind, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    invoice = northwind["INV-3102"]
    open_link(page, live_server.url, invoice, screenshots, viewport)
    today = timezone.now().date()

    # A promise: the empty form first, to show the inline errors.
    page.get_by_role("link", name="Tell us when you’ll pay").click()
    page.get_by_label("Amount").fill("")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".error").first).to_be_visible()
    shoot(page, screenshots, "promise-errors", viewport)
    page.get_by_label("I will pay on").fill((today + dt.timedelta(days=12)).isoformat())
    page.get_by_label("Amount").fill("1960.50")
    page.get_by_role("button", name="Send").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    expect(page.locator(".banner-promise")).to_contain_text("Payment date noted")

    # A plan of four, laid out evenly, then sent.
    page.get_by_role("link", name="Propose a payment plan").click()
    page.get_by_label("Number of installments").select_option("4")
    page.get_by_label("First payment on").fill((today + dt.timedelta(days=3)).isoformat())
    page.get_by_role("button", name="Split evenly").click()
    expect(page.get_by_label("Payment 4 amount")).to_have_value("490.14")
    page.get_by_label("Why do you need a plan?").fill("Our biggest customer pays us late.")
    shoot(page, screenshots, "plan", viewport)
    page.get_by_role("button", name="Submit plan").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    expect(page.locator(".banner-plan")).to_contain_text("Plan submitted")

    # A dispute with a photo.
    page.get_by_role("link", name="Question this invoice").click()
    page.get_by_label("What is wrong?").select_option("quality")
    page.get_by_label("Disputed amount").fill("400")
    page.get_by_label("Tell us more").fill("Two casters arrived cracked; photo attached.")
    page.get_by_label("Supporting documents").set_input_files(
        files=[{"name": "cracked-caster.png", "mimeType": "image/png", "buffer": PNG}]
    )
    shoot(page, screenshots, "dispute", viewport)
    page.get_by_role("button", name=re.compile(r"^Send to ")).click()
    page.wait_for_url(re.compile(r"/portal/$"))
    expect(page.locator(".banner-dispute")).to_contain_text("Dispute received")
    shoot(page, screenshots, "banners", viewport)
    assert invoice.disputes.get().attachments.count() == 1
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_used_link_and_the_demo(request, northwind, live_server, screenshots, viewport):
    page: Page = request.getfixturevalue(viewport)
    _, path = portal_link_issue(invoice=northwind["INV-3101"])
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("button", name="Open invoice").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    page.context.clear_cookies()  # someone else, on another device
    page.goto(f"{live_server.url}{path}")
    expect(page.get_by_role("heading", name="This link has already been used")).to_be_visible()
    expect(page.get_by_text("Reference for support")).to_be_visible()
    shoot(page, screenshots, "link-used", viewport)
    page.get_by_role("button", name="Email me a new link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(f"{live_server.url}/portal/demo")
    expect(page.get_by_text("Demo · sample data")).to_be_visible()
    shoot(page, screenshots, "demo", viewport)
