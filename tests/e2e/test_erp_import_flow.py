"""A controller uploads what her accounting product wrote, unedited: a Xero sales-invoice export
with one row per line item and no customer id, then a small file whose dates read both ways.
Both formats are left on "Detect from the file"; the preview says how the file will be read,
and asks when the file cannot tell. Every step is photographed at desktop and phone size into
`artifacts/screenshots/`."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.core.models import Role
from plixo.imports.models import ImportBatch
from plixo.ledger.models import Customer, Invoice, InvoiceStatus

pytestmark = pytest.mark.e2e

PASSWORD = "harbor-lane-2024"
EMAIL = "lee.chen@harborlane.example"
VIEWPORTS = ["desktop", "phone"]
XERO = Path(__file__).resolve().parents[1] / "fixtures" / "erp" / "xero_sales_invoices.csv"

# Every date is a day of the month up to 12 in both places: day first or month first, the file
# cannot say which.
AMBIGUOUS = """Invoice #,Customer ID,Customer,Invoice Date,Due Date,Currency,Total
INV-7001,C-2001,Bluewater Logistics,02/01/2026,03/01/2026,USD,1200.00
INV-7002,C-2001,Bluewater Logistics,04/01/2026,12/01/2026,USD,860.50
INV-7003,C-2002,Kestrel Analytics GmbH,05/01/2026,11/02/2026,EUR,4300.00
"""


@pytest.fixture
def harbor(transactional_db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    org = core.organization_create(name="Harbor Lane Foods", slug="harbor", time_zone="UTC")
    user = core.user_get_or_create(email=EMAIL, password=PASSWORD, full_name="Lee Chen")
    core.membership_add(organization=org, user=user, role=Role.CONTROLLER)
    return org


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    """A full-page photograph; on a phone, first check that nothing scrolls sideways."""
    if viewport == "phone":
        width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
        assert width <= inner, f"{name}: the page scrolls sideways ({width}px on {inner}px)"
    # From the top, so that the sticky top bar is not photographed over the middle of the page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / f"erp-import-{name}-{viewport}.png"), full_page=True)


def upload(page: Page, path: Path) -> None:
    """Upload an invoice file with both formats left on "Detect from the file"."""
    if not page.get_by_label("What the file holds").count():
        page.get_by_role("link", name="Upload another file").first.click()
    page.get_by_label("What the file holds").select_option("invoices")
    page.get_by_label("CSV file", exact=True).set_input_files(str(path))
    dates = page.get_by_label("Dates in the file")
    amounts = page.get_by_label("Amounts in the file")
    dates.select_option(label="Detect from the file")
    amounts.select_option(label="Detect from the file")
    expect(dates).to_have_value("auto")
    expect(amounts).to_have_value("auto")
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/$"))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_erp_export_loads_unedited_and_ambiguous_dates_are_asked(
    request, harbor, live_server, screenshots, viewport, tmp_path
):
    page: Page = request.getfixturevalue(viewport)
    sign_in(page, live_server.url)

    # Given the controller on the Imports page, with dates and amounts on "Detect …" …
    page.goto(f"{live_server.url}/imports/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Imports")
    expect(page.get_by_label("Dates in the file")).to_have_value("auto")
    shoot(page, screenshots, "index", viewport)

    # When she uploads the Xero export as Xero wrote it …
    export = tmp_path / "Xero Sales Invoices.csv"
    export.write_bytes(XERO.read_bytes())
    upload(page, export)

    # Then the preview says customers are matched by name, and which date format it found.
    mapping = page.locator("table.mapping-table")
    expect(mapping).to_contain_text("*ContactName")
    expect(mapping).to_contain_text("*InvoiceNumber")
    expect(mapping).to_contain_text("not in file: customers are matched by name")
    expect(page.locator("tr.mapping-missing")).to_have_count(0)
    notes = page.locator(".import-notes")
    expect(notes).to_contain_text("Customers matched by name: no customer id column.")
    expect(notes).to_contain_text("DD/MM/YYYY, detected from '14/01/2026' on line 2")
    expect(page.get_by_label(re.compile("How does the file write dates"))).to_have_count(0)
    assert not Invoice.objects.filter(organization=harbor).exists()  # nothing loaded yet
    shoot(page, screenshots, "xero-preview", viewport)

    # When she loads it …
    page.get_by_role("button", name="Load invoices").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()

    # Then ten line rows made five invoices, nothing was rejected, and the notes say why the
    # draft and the unapproved invoice were left out and how the file was read.
    expect(page.locator('[data-stat="rows"]')).to_have_text("10")
    expect(page.locator('[data-stat="accepted"]')).to_have_text("10")
    expect(page.locator('[data-stat="rejected"]')).to_have_text("0")
    expect(page.locator('[data-stat="created"]')).to_have_text("5")
    summary_notes = page.locator("section[aria-labelledby=summary-heading] .import-notes")
    expect(summary_notes).to_contain_text("Customers matched by name")
    expect(summary_notes).to_contain_text("DD/MM/YYYY")
    expect(summary_notes.locator("li")).not_to_have_count(0)
    batch = ImportBatch.objects.get(organization=harbor)
    for note in batch.summary["notes"]:
        expect(summary_notes).to_contain_text(note)
    shoot(page, screenshots, "xero-summary", viewport)

    invoices = {i.number: i for i in Invoice.objects.filter(organization=harbor)}
    assert set(invoices) == {"INV-0101", "INV-0102", "INV-0103", "INV-0105", "INV-0106"}
    assert invoices["INV-0101"].issue_date == dt.date(2026, 1, 14)  # day first, as detected
    assert invoices["INV-0103"].amount == Decimal("2400.00")  # the invoice total, not a line
    assert invoices["INV-0103"].balance == Decimal("1400.00")
    assert invoices["INV-0103"].status == InvoiceStatus.PARTIALLY_PAID
    assert invoices["INV-0105"].status == InvoiceStatus.VOID
    assert set(Customer.objects.filter(organization=harbor).values_list("name", flat=True)) == {
        "Harbour Lights Ltd",
        "Kestrel Analytics",
        "Orchard Print Works",
    }

    # When she uploads a file whose every date reads both ways …
    ambiguous = tmp_path / "january-invoices.csv"
    ambiguous.write_text(AMBIGUOUS)
    upload(page, ambiguous)

    # Then the preview asks how the file writes dates, with an example from the file.
    question = page.get_by_label(re.compile("How does the file write dates"))
    expect(question).to_be_visible()
    # … wide enough to read the choices, and above the button that loads the file.
    box, button = question.bounding_box(), page.get_by_role("button", name="Load invoices")
    assert box["width"] >= 200, box
    assert button.bounding_box()["y"] >= box["y"] + box["height"], (box, button.bounding_box())
    expect(page.locator(".import-ask")).to_contain_text("02/01/2026 on line 2")
    shoot(page, screenshots, "ambiguous-preview", viewport)

    # Loading without an answer is not possible: the question must be answered first.
    page.get_by_role("button", name="Load invoices").click()
    assert question.evaluate("element => element.validity.valueMissing")
    assert not Invoice.objects.filter(organization=harbor, number="INV-7001").exists()

    # When she answers day first and loads …
    question.select_option("dmy")
    shoot(page, screenshots, "ambiguous-answered", viewport)
    page.get_by_role("button", name="Load invoices").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()

    # Then the three invoices load with their dates read day first.
    expect(page.locator('[data-stat="created"]')).to_have_text("3")
    expect(page.locator('[data-stat="rejected"]')).to_have_text("0")
    expect(page.locator("main")).to_contain_text("dates DD/MM/YYYY")
    shoot(page, screenshots, "ambiguous-summary", viewport)
    second = Invoice.objects.get(organization=harbor, number="INV-7002")
    assert (second.issue_date, second.due_date) == (dt.date(2026, 1, 4), dt.date(2026, 1, 12))
    third = Invoice.objects.get(organization=harbor, number="INV-7003")
    assert third.due_date == dt.date(2026, 2, 11)

    # The history lists both files.
    page.goto(f"{live_server.url}/imports/")
    history = page.locator("table.table")
    expect(history).to_contain_text("Xero Sales Invoices.csv")
    expect(history).to_contain_text("january-invoices.csv")
    shoot(page, screenshots, "history", viewport)

    assert page.js_errors == [], page.js_errors
