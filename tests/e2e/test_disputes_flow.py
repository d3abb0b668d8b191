"""A dispute from the payer's side to the staff's, in a real browser: the payer questions an
invoice in the portal; the dispute shows up in the disputes queue with its SLA timer; an
operator assigns it to herself, rejects it with a note, and the invoice goes back to its
cadence. The queue and the dispute page are photographed at 1440×900 and 375 wide into
`artifacts/screenshots/disputes-*.png`."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.comms.models import CadenceEnrollment
from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus
from plixo.portal.services import portal_link_issue

pytestmark = pytest.mark.e2e

PASSWORD = "disputes-flow-2026"
VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 375, "height": 812}}


@pytest.fixture
def tidewater(transactional_db):
    org = core.organization_create(
        name="Tidewater Supply", slug="tidewater", time_zone="America/New_York"
    )
    user = core.user_get_or_create(
        email="dana@tidewater.example", password=PASSWORD, full_name="Dana Reyes"
    )
    core.membership_add(organization=org, user=user, role=Role.AR_OPERATOR)
    customer = ledger.customer_create(
        organization=org, external_id="C-1", name="Bluewater Logistics", currency="USD"
    )
    ledger.contact_create(
        customer=customer, email="ap@bluewater.example", name="Jordan Lee", is_primary=True
    )
    today = timezone.now().date()
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="INV-5120",
        issue_date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
        currency="USD",
        amount=Decimal("3480.00"),
        description="Cold-chain pallets, March delivery.",
    )
    return {"org": org, "operator": user, "invoice": invoice}


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    page.screenshot(path=str(screenshots / f"disputes-{name}-{viewport}.png"), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_portal_dispute_reaches_the_queue_and_a_rejection_resumes_the_cadence(
    browser, tidewater, live_server, screenshots, viewport
):
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-US")
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    invoice = tidewater["invoice"]

    # The payer questions the invoice in the portal.
    _, path = portal_link_issue(invoice=invoice)
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("button", name="Open invoice").click()
    page.wait_for_url(re.compile(r"/portal/$"))
    page.get_by_role("link", name="Question this invoice").click()
    page.get_by_label("What is wrong?").select_option("quantity")
    page.get_by_label("Disputed amount").fill("480")
    page.get_by_label("Tell us more").fill("Two pallets were never delivered.")
    page.get_by_role("button", name=re.compile(r"^Send to ")).click()
    expect(page.locator(".banner-dispute")).to_contain_text("Dispute received")
    context.clear_cookies()

    # The operator finds it in the disputes queue with its SLA timer.
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("dana@tidewater.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"{live_server.url}/disputes/")
    row = page.locator("tr.dispute-row").filter(has_text="INV-5120")
    expect(row).to_be_visible()
    expect(row.locator(".dispute-sla")).to_contain_text(re.compile(r"left|Overdue by"))
    expect(row).to_contain_text("$480.00")
    shoot(page, screenshots, "queue", viewport)

    # She takes it, and rejects it with a note.
    row.get_by_role("link", name="INV-5120").click()
    page.wait_for_url(re.compile(r"/disputes/[0-9a-f-]+/$"))
    expect(page.locator(".dispute-description")).to_contain_text("never delivered")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator(".dispute-assignee")).to_contain_text("Dana Reyes")
    shoot(page, screenshots, "detail", viewport)
    page.get_by_label("Reject — back to the cadence").check()
    page.get_by_label("Resolution note").fill("Proof of delivery signed for all pallets.")
    page.get_by_role("button", name="Resolve dispute").click()
    expect(page.locator(".messages")).to_contain_text("The invoice is back in its cadence")
    expect(page.locator(".dispute-resolution")).to_contain_text("Proof of delivery")
    shoot(page, screenshots, "resolved", viewport)

    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN
    enrollment = CadenceEnrollment.objects.get(invoice=invoice)
    assert enrollment.state == CadenceEnrollment.State.ACTIVE
    dispute = invoice.disputes.get()
    assert (dispute.status, dispute.source, dispute.assignee) == (
        "rejected",
        "portal",
        tidewater["operator"],
    )
    assert not errors, errors
    context.close()
