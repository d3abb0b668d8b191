"""Data-Ready in a real browser: a Controller runs the checks on an organization where one
customer with an open invoice has no contact, sees contact coverage fail with its remediation,
follows it (imports the missing contact), runs the checks again and sees coverage pass. The
page is photographed at 1440×900 and 390 wide into `artifacts/screenshots/readiness-*.png`."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger

pytestmark = pytest.mark.e2e

EMAIL = "controller@lakeside.example"
PASSWORD = "readiness-flow-2026"
VIEWPORTS = {"desktop": {"width": 1440, "height": 900}, "phone": {"width": 390, "height": 844}}
CONTACTS = "customer_external_id,email,name\nC-2,ap@pinecrest.example,Ana Ruiz\n"


@pytest.fixture
def lakeside(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    org = core.organization_create(name="Lakeside Tools", slug="lakeside", time_zone="UTC")
    user = core.user_get_or_create(email=EMAIL, password=PASSWORD, full_name="Morgan Hale")
    core.membership_add(organization=org, user=user, role=Role.CONTROLLER)
    today = timezone.now().date()
    for number, (external_id, name, email) in enumerate(
        (("C-1", "Bluewater Logistics", "ap@bluewater.example"), ("C-2", "Pinecrest Dental", None)),
        start=1,
    ):
        customer = ledger.customer_create(
            organization=org, external_id=external_id, name=name, currency="USD"
        )
        if email:
            ledger.contact_create(customer=customer, email=email, name="Jordan Lee")
        ledger.invoice_create(
            organization=org,
            customer=customer,
            number=f"INV-10{number}",
            issue_date=today - dt.timedelta(days=20),
            due_date=today + dt.timedelta(days=10),
            currency="USD",
            amount=Decimal("1500.00"),
        )
    return org


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    page.screenshot(path=str(screenshots / f"readiness-{name}-{viewport}.png"), full_page=True)


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_controller_fixes_contact_coverage_by_following_the_remediation(
    browser, lakeside, live_server, screenshots, viewport, tmp_path
):
    context = browser.new_context(viewport=VIEWPORTS[viewport], locale="en-US")
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    # Given one of two customers with open invoices has no contact, the checks fail on it.
    page.goto(f"{live_server.url}/readiness/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Data-Ready")
    page.get_by_role("button", name="Run checks").click()
    coverage = page.locator('[data-check="contact_coverage"]')
    expect(coverage.locator("[data-check-status]")).to_have_text("Failed")
    expect(coverage).to_contain_text("50.00%")
    expect(coverage.locator("[data-remediation]")).to_contain_text("1 of 2 open invoices")
    expect(coverage.locator("[data-remediation]")).to_contain_text("re-import the contacts")
    expect(coverage.get_by_role("link", name="Pinecrest Dental")).to_be_visible()
    expect(page.locator('[data-check="aging_parity"]')).to_contain_text(
        "Upload your ERP's aging summary"
    )
    shoot(page, screenshots, "failing", viewport)

    # When she follows the remediation: imports the missing contact …
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    page.goto(f"{live_server.url}/imports/")
    page.get_by_label("What the file holds").select_option("contacts")
    page.get_by_label("CSV file", exact=True).set_input_files(str(contacts))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/$"))
    page.get_by_role("button", name="Load contacts").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()

    # … and runs the checks again, contact coverage passes.
    page.goto(f"{live_server.url}/readiness/")
    page.get_by_role("button", name="Run checks").click()
    expect(coverage.locator("[data-check-status]")).to_have_text("Passed")
    expect(coverage).to_contain_text("100.00%")
    expect(coverage.locator("[data-remediation]")).to_have_count(0)
    shoot(page, screenshots, "passing", viewport)

    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= VIEWPORTS[viewport]["width"], f"page scrolls sideways: {width}px"
    assert not errors, errors
    context.close()
