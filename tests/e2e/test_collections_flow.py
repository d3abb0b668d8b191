"""What an operator does first thing in the morning, in a real browser: sign in, narrow the
invoice list to what is overdue, open an invoice and read its story. Every step is photographed
at desktop and phone size into `artifacts/screenshots/` for review."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus

pytestmark = pytest.mark.e2e

PASSWORD = "harbor-lane-2024"
VIEWPORTS = ["desktop", "phone"]


@pytest.fixture
def harbor(transactional_db):
    """Harbor Lane Foods: four customers on three continents, six invoices across the aging
    buckets, one partly paid by wire and one paid in full."""
    org = core.organization_create(
        name="Harbor Lane Foods", slug="harbor", time_zone="America/New_York"
    )
    people = {}
    for role, email, name in (
        (Role.AR_OPERATOR, "dana.reyes@harborlane.example", "Dana Reyes"),
        (Role.AR_MANAGER, "sam.okafor@harborlane.example", "Sam Okafor"),
        (Role.CONTROLLER, "ines.moreau@harborlane.example", "Inès Moreau"),
    ):
        user = core.user_get_or_create(email=email, password=PASSWORD, full_name=name)
        core.membership_add(organization=org, user=user, role=role)
        people[role] = user

    customers = {}
    for external_id, name, country, currency, tz, segment in (
        ("C-1001", "Bluewater Logistics", "US", "USD", "America/Chicago", "enterprise"),
        ("C-1002", "Kestrel Analytics GmbH", "DE", "EUR", "Europe/Berlin", "mid-market"),
        ("C-1003", "Maple & Finch Ltd", "GB", "GBP", "Europe/London", "smb"),
        ("C-1004", "Northwind Traders", "US", "USD", "America/New_York", "mid-market"),
    ):
        customer = ledger.customer_create(
            organization=org,
            external_id=external_id,
            name=name,
            country=country,
            currency=currency,
            time_zone=tz,
            segment=segment,
        )
        slug = re.sub(r"[^a-z]", "", name.lower())[:12]
        ledger.contact_create(
            customer=customer, email=f"ap@{slug}.example", name="Accounts Payable", role="AP"
        )
        customers[external_id] = customer

    today = dt.date.today()
    invoices = {}
    for number, customer, currency, amount, days_overdue in (
        ("INV-2041", "C-1001", "USD", "12450.00", -14),
        ("INV-2042", "C-1001", "USD", "3200.00", 12),
        ("INV-2043", "C-1002", "EUR", "8900.00", 45),
        ("INV-2044", "C-1003", "GBP", "2150.00", 95),
        ("INV-2045", "C-1004", "USD", "640.00", 70),
        ("INV-2046", "C-1004", "USD", "5000.00", 20),
    ):
        due = today - dt.timedelta(days=days_overdue)
        invoices[number] = ledger.invoice_create(
            organization=org,
            customer=customers[customer],
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            currency=currency,
            amount=Decimal(amount),
            po_number=f"PO-{number[-4:]}",
            description="Refrigerated freight, monthly contract",
            actor=people[Role.AR_MANAGER],
        )
    ledger.payment_record(
        organization=org,
        reference="WIRE-88231",
        amount=Decimal("1200.00"),
        currency="USD",
        method="wire",
        allocations=[
            ledger.AllocationRequest(invoice=invoices["INV-2042"], amount=Decimal("1200.00"))
        ],
        actor=people[Role.AR_OPERATOR],
    )
    ledger.payment_record(
        organization=org,
        reference="ACH-55102",
        amount=Decimal("5000.00"),
        currency="USD",
        method="ach",
        allocations=[
            ledger.AllocationRequest(invoice=invoices["INV-2046"], amount=Decimal("5000.00"))
        ],
    )
    invoices["INV-2042"].refresh_from_db()
    assert invoices["INV-2042"].status == InvoiceStatus.PARTIALLY_PAID
    return {"org": org, "people": people, "customers": customers, "invoices": invoices}


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    page.screenshot(path=str(screenshots / f"{name}-{viewport}.png"), full_page=True)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_operator_follows_an_overdue_invoice_to_its_timeline(
    request, harbor, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)

    page.goto(f"{live_server.url}/login/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    shoot(page, screenshots, "login", viewport)

    # Given the operator signs in, she lands on the invoice list with every invoice on it.
    sign_in(page, live_server.url, "dana.reyes@harborlane.example")
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoices")
    table = page.locator("table.table")
    for number in harbor["invoices"]:
        expect(table.get_by_role("link", name=number)).to_be_visible()
    expect(table).to_contain_text("Kestrel Analytics GmbH")
    shoot(page, screenshots, "invoices", viewport)

    # When she narrows the list to overdue invoices (the select applies itself).
    with page.expect_navigation():
        page.get_by_label("Age").select_option("any")
    expect(page).to_have_url(re.compile(r"overdue=any"))
    for number in ("INV-2042", "INV-2043", "INV-2044", "INV-2045"):
        expect(table.get_by_role("link", name=number)).to_be_visible()
    # Not yet due, and paid: neither is overdue.
    expect(table.get_by_role("link", name="INV-2041")).to_have_count(0)
    expect(table.get_by_role("link", name="INV-2046")).to_have_count(0)
    shoot(page, screenshots, "invoices-overdue", viewport)

    # Then the partly paid invoice tells its story: created, the wire that came in, and the
    # cadence's next reminder waiting for approval.
    table.get_by_role("link", name="INV-2042").click()
    page.wait_for_url(re.compile(r"/invoices/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("INV-2042")
    expect(page.locator("main")).to_contain_text("Bluewater Logistics")
    expect(page.locator("main")).to_contain_text("Partially paid")
    expect(page.locator("main")).to_contain_text("$2,000.00")  # balance after the wire
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Payment recorded")
    expect(timeline).to_contain_text("WIRE-88231")
    # Created, the wire, and the reminder the cadence drafted when the payment left a balance.
    expect(timeline.locator("li")).to_have_count(3)
    expect(timeline).to_contain_text("drafted")
    shoot(page, screenshots, "invoice-detail", viewport)

    assert page.js_errors == [], page.js_errors


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_customers_payments_team_and_ops_pages(request, harbor, live_server, screenshots, viewport):
    page: Page = request.getfixturevalue(viewport)
    sign_in(page, live_server.url, "sam.okafor@harborlane.example")  # a manager sees Ops

    page.goto(f"{live_server.url}/customers/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    for customer in harbor["customers"].values():
        expect(page.locator("main")).to_contain_text(customer.name)
    shoot(page, screenshots, "customers", viewport)

    page.locator("main").get_by_role("link", name="Bluewater Logistics").first.click()
    page.wait_for_url(re.compile(r"/customers/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bluewater Logistics")
    expect(page.locator("main")).to_contain_text("ap@bluewaterlog.example")
    expect(page.locator("main")).to_contain_text("INV-2042")
    shoot(page, screenshots, "customer-detail", viewport)

    page.goto(f"{live_server.url}/payments/")
    expect(page.locator("main")).to_contain_text("WIRE-88231")
    expect(page.locator("main")).to_contain_text("ACH-55102")
    shoot(page, screenshots, "payments", viewport)

    page.goto(f"{live_server.url}/team/")
    expect(page.locator("main")).to_contain_text("dana.reyes@harborlane.example")
    shoot(page, screenshots, "team", viewport)

    page.goto(f"{live_server.url}/ops/")
    expect(page.locator("main")).to_contain_text("comms.suppressions_reactivate")
    shoot(page, screenshots, "ops", viewport)

    assert page.js_errors == [], page.js_errors


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_controller_changes_a_role_on_the_team_page(
    request, harbor, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    sign_in(page, live_server.url, "ines.moreau@harborlane.example")
    page.goto(f"{live_server.url}/team/")
    row = page.get_by_role("row").filter(has_text="dana.reyes@harborlane.example")
    row.locator("summary", has_text="Manage").click()
    change = row.get_by_role("form", name="Change role or limit")
    save = change.get_by_role("button", name="Save change")
    expect(save).to_be_visible()
    width = page.viewport_size["width"]
    # Every control of the open form is on screen, none cut off at the right edge.
    for control in (save, change.get_by_label("Role"), change.get_by_label("Reason")):
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    shoot(page, screenshots, "team-change", viewport)

    change.get_by_label("Role").select_option(label="A/R Manager")
    change.get_by_label("Reason").fill("Covers the month-end close")
    save.click()
    expect(page.locator("main")).to_contain_text("Covers the month-end close")
    assert page.js_errors == [], page.js_errors
