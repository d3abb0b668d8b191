"""A payer paying through Stripe, in a real browser: the portal's Pay sends them to the Checkout
Session's page (a stand-in for Stripe's on 127.0.0.1, through `STRIPE_API_BASE`), where Pay
sends Plixo the signed `checkout.session.completed` webhook and returns them to the portal with
the Paid banner and the receipt; Cancel returns them with "Payment not completed"; a webhook
slower than the browser shows "Confirming your payment" until it lands. Screenshots go to
`artifacts/screenshots/stripe-*.png`."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from plixo.core import services as core
from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus
from plixo.payments.models import CheckoutSession, CheckoutStatus, StripeEvent
from plixo.portal.services import portal_link_issue
from tests.payments.stripe_support import connect
from tests.support.stripe_standin import StripeStandIn

pytestmark = pytest.mark.e2e

VIEWPORTS = ["desktop", "phone"]
STAND_IN_PAGE = re.compile(r"^http://127\.0\.0\.1:\d+/pay/cs_test_\w+$")
# The webhook may trail the browser; the portal refreshes itself every 5 s meanwhile.
PAID_WITHIN_MS = 15_000


@pytest.fixture
def invoice(transactional_db):
    org = core.organization_create(
        name="Northwind Supply Co.", slug="northwind", time_zone="America/Los_Angeles"
    )
    connect(org)
    customer = ledger.customer_create(
        organization=org, external_id="C-2001", name="Bluewater Logistics", currency="USD"
    )
    ledger.contact_create(
        customer=customer, email="ap@bluewater.example", name="Jordan Lee", is_primary=True
    )
    today = timezone.now().date()
    return ledger.invoice_create(
        organization=org,
        customer=customer,
        number="INV-3101",
        issue_date=today - dt.timedelta(days=35),
        due_date=today - dt.timedelta(days=5),
        currency="USD",
        amount=Decimal("4280.00"),
        po_number="PO-88213",
        description="Pallet racking, 12 bays, installed at the Tacoma warehouse.",
    )


def stripe_stand_in(live_server, invoice, *, webhook_delay: float = 0.0) -> StripeStandIn:
    """The stand-in, posting its webhooks to the live server's endpoint for the organization
    (the URL set in Stripe's dashboard); the tests point Plixo at it with `STRIPE_API_BASE`."""
    return StripeStandIn(
        webhook_url=f"{live_server.url}/webhooks/stripe/{invoice.organization.slug}/",
        webhook_delay=webhook_delay,
        lifetime=120,
    )


def shoot(page: Page, screenshots: Path, name: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)


def to_stripe(
    page: Page, base_url: str, invoice, screenshots: Path | None = None, suffix: str = ""
) -> None:
    """Follow the payer link, open the invoice, Pay, Continue to payment: on Stripe's page.
    With `screenshots`, the Pay page is photographed on the way."""
    _, path = portal_link_issue(invoice=invoice)
    page.goto(f"{base_url}{path}")
    page.get_by_role("button", name="Open invoice").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    page.get_by_role("link", name="Pay now").click()
    expect(page.get_by_label("Amount to pay")).to_have_value("4280.00")
    expect(page.get_by_text("You will pay on Stripe’s secure page")).to_be_visible()
    if screenshots is not None:
        shoot(page, screenshots, f"stripe-pay{suffix}")
    page.get_by_role("button", name="Continue to payment").click()
    try:
        page.wait_for_url(STAND_IN_PAGE)
    except PlaywrightTimeout:
        # Say why (a Content Security Policy refusing the redirect shows up as a console error).
        pytest.fail(f"The browser stayed at {page.url}; console: {page.js_errors}", pytrace=False)
    expect(page.get_by_text("Stripe stand-in")).to_be_visible()
    expect(page.get_by_text("USD 4,280.00")).to_be_visible()
    expect(page.get_by_text("Card, US bank account (ACH)")).to_be_visible()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_payer_pays_on_stripe_and_comes_back_paid_with_a_receipt(
    request, invoice, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    suffix = "" if viewport == "desktop" else "-phone"
    with (
        stripe_stand_in(live_server, invoice) as stand_in,
        override_settings(STRIPE_API_BASE=stand_in.base_url, PLIXO_PUBLIC_URL=live_server.url),
    ):
        to_stripe(page, live_server.url, invoice, screenshots, suffix)
        shoot(page, screenshots, f"stripe-checkout{suffix}")
        page.get_by_role("button", name="Pay", exact=True).click()

        page.wait_for_url(re.compile(r"/portal/\?paid=1$"))
        expect(page.locator(".banner-paid")).to_contain_text("Paid", timeout=PAID_WITHIN_MS)
        expect(page.get_by_role("link", name="Pay now")).to_have_count(0)
        expect(page.get_by_role("heading", name="Receipts")).to_be_visible()
        shoot(page, screenshots, f"stripe-paid{suffix}")
        with page.expect_download() as download_info:
            page.locator("a[href*='/portal/receipts/']").first.click()
        download = download_info.value
        assert re.fullmatch(r"receipt-R-\d+\.pdf", download.suggested_filename)
        assert Path(download.path()).read_bytes()[:4] == b"%PDF"

        (delivery,) = stand_in.deliveries
        assert (delivery.type, delivery.status) == ("checkout.session.completed", 200)
        assert [call.status for call in stand_in.session_creates] == [200]
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance == 0
    assert StripeEvent.objects.get().status == "processed"
    (receipt_mail,) = [m for m in mail.outbox if "receipt" in m.subject.lower()]
    assert receipt_mail.to == ["ap@bluewater.example"]
    assert not page.js_errors, page.js_errors


def test_a_webhook_slower_than_the_browser_shows_confirming_until_paid(
    desktop, invoice, live_server, screenshots
):
    page = desktop
    with (
        stripe_stand_in(live_server, invoice, webhook_delay=3.0) as stand_in,
        override_settings(STRIPE_API_BASE=stand_in.base_url, PLIXO_PUBLIC_URL=live_server.url),
    ):
        to_stripe(page, live_server.url, invoice)
        page.get_by_role("button", name="Pay", exact=True).click()
        page.wait_for_url(re.compile(r"/portal/\?paid=1$"))
        expect(page.locator(".banner-confirming")).to_contain_text("Confirming your payment")
        expect(page.locator("meta[http-equiv='refresh']")).to_have_attribute("content", "5")
        shoot(page, screenshots, "stripe-confirming")

        expect(page.locator(".banner-paid")).to_contain_text("Paid", timeout=PAID_WITHIN_MS)
        expect(page.locator(".banner-confirming")).to_have_count(0)
        expect(page.locator("meta[http-equiv='refresh']")).to_have_count(0)
        assert [d.status for d in stand_in.wait_for_deliveries(1)] == [200]
    assert not page.js_errors, page.js_errors


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_decline_then_cancel_returns_with_payment_not_completed(
    request, invoice, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    suffix = "" if viewport == "desktop" else "-phone"
    with (
        stripe_stand_in(live_server, invoice) as stand_in,
        override_settings(STRIPE_API_BASE=stand_in.base_url, PLIXO_PUBLIC_URL=live_server.url),
    ):
        to_stripe(page, live_server.url, invoice)
        page.get_by_role("button", name="Decline").click()
        expect(page.get_by_role("alert")).to_contain_text("Your card was declined.")
        shoot(page, screenshots, f"stripe-declined{suffix}")
        page.get_by_role("button", name="Cancel").click()

        page.wait_for_url(re.compile(r"/portal/\?checkout=cancelled$"))
        expect(page.locator(".banner-cancelled")).to_contain_text("Payment not completed")
        expect(page.get_by_text("Nothing was charged.")).to_be_visible()
        expect(page.get_by_role("link", name="Pay now")).to_be_visible()
        shoot(page, screenshots, f"stripe-cancelled{suffix}")

        (declined,) = stand_in.deliveries
        assert (declined.type, declined.status) == ("payment_intent.payment_failed", 200)
    checkout = CheckoutSession.objects.get(invoice=invoice)
    assert (checkout.status, checkout.failure_code) == (CheckoutStatus.FAILED, "generic_decline")
    invoice.refresh_from_db()
    assert invoice.status != InvoiceStatus.PAID and invoice.balance == Decimal("4280.00")
    assert not page.js_errors, page.js_errors
