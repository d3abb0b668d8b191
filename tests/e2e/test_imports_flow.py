"""A controller's first hour: upload an invoice file with bad rows, read the mapping and the
summary, download the reject log, fix it, upload it as it is and watch the rows load. Every step
is photographed at desktop and phone size into `artifacts/screenshots/`."""

import re

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.core.models import Role
from plixo.imports.models import ImportBatch
from plixo.imports.services import import_batch_create
from plixo.ledger.models import Invoice, InvoiceStatus

pytestmark = pytest.mark.e2e

PASSWORD = "harbor-lane-2024"
EMAIL = "lee.chen@harborlane.example"
VIEWPORTS = ["desktop", "phone"]

EXPORT = """Invoice #,Customer ID,Customer,Invoice Date,Due Date,Currency,Total,Status,Email
INV-5001,C-1001,Bluewater Logistics,2024-03-01,2024-03-31,USD,"12,450.00",Open,ap@bluewater.example
INV-5002,C-1001,Bluewater Logistics,2024-03-02,2024-04-01,USD,3200.00,Paid,
INV-5003,C-1002,Kestrel Analytics GmbH,2024-03-03,2024-04-02,EURO,8900.00,Open,
INV-5004,C-1003,Maple & Finch Ltd,2024-03-31,2024-03-01,GBP,2150.00,Open,
INV-5005,C-1003,Maple & Finch Ltd,2024-03-05,2024-04-04,GBP,=SUM(A1:A9),Open,
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
    page.screenshot(path=str(screenshots / f"imports-{name}-{viewport}.png"), full_page=True)


def upload(page: Page, path) -> None:
    if not page.get_by_label("What the file holds").count():
        page.get_by_role("link", name="Upload another file").first.click()
    page.get_by_label("What the file holds").select_option("invoices")
    page.get_by_label("CSV file", exact=True).set_input_files(str(path))
    page.get_by_role("button", name="Upload and preview").click()
    page.wait_for_url(re.compile(r"/imports/[0-9a-f-]{36}/$"))


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_upload_fix_and_reupload_the_reject_log(
    request, harbor, live_server, screenshots, viewport, tmp_path
):
    page: Page = request.getfixturevalue(viewport)
    sign_in(page, live_server.url)

    # Given the controller opens Imports from the navigation …
    if viewport == "phone":
        page.goto(f"{live_server.url}/imports/")
    else:
        nav = page.get_by_role("navigation", name="Main")
        nav.locator("summary", has_text="Setup").click()
        nav.get_by_role("link", name="Imports").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Imports")
    shoot(page, screenshots, "index", viewport)

    # … and uploads an ERP export with three bad rows, she first sees how its columns map.
    export = tmp_path / "erp-export.csv"
    export.write_text(EXPORT)
    upload(page, export)
    mapping = page.locator("table.mapping-table")
    expect(mapping).to_contain_text("invoice_number")
    expect(mapping).to_contain_text("Invoice #")
    expect(mapping).to_contain_text("Customer ID")
    shoot(page, screenshots, "preview", viewport)

    # When she loads it, the summary says what went in and what did not, by kind of problem.
    page.get_by_role("button", name="Load invoices").click()
    expect(page.get_by_role("heading", name="Summary")).to_be_visible()
    expect(page.locator('[data-stat="rows"]')).to_have_text("5")
    expect(page.locator('[data-stat="accepted"]')).to_have_text("2")
    expect(page.locator('[data-stat="rejected"]')).to_have_text("3")
    problems = page.locator("main")
    for code in ("invalid_currency", "due_before_issue", "bad_amount"):
        expect(problems).to_contain_text(code)
    shoot(page, screenshots, "summary", viewport)

    # Then she downloads the reject log: the three rows as uploaded, each with its problem.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download reject log").first.click()
    log = tmp_path / "rejects.csv"
    download_info.value.save_as(log)
    text = log.read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].endswith("row_number,column,error_code,message")
    assert "'=SUM(A1:A9)" in text  # neutralised, so a spreadsheet does not run it
    assert len(text.strip().splitlines()) == 4

    # She fixes the rows in place and uploads the reject log itself.
    fixed = tmp_path / "rejects-fixed.csv"
    fixed.write_text(
        text.replace(",EURO,", ",EUR,")
        .replace("2024-03-31,2024-03-01", "2024-03-01,2024-03-31")
        .replace("'=SUM(A1:A9)", "640.00"),
        encoding="utf-8-sig",
    )
    upload(page, fixed)
    expect(page.locator("main")).to_contain_text("a reject log")
    shoot(page, screenshots, "preview-reject-log", viewport)
    page.get_by_role("button", name="Load invoices").click()
    expect(page.locator('[data-stat="rejected"]')).to_have_text("0")
    expect(page.locator('[data-stat="created"]')).to_have_text("3")
    expect(page.locator("main")).to_contain_text("Every row was accepted")
    shoot(page, screenshots, "summary-fixed", viewport)

    numbers = set(Invoice.objects.filter(organization=harbor).values_list("number", flat=True))
    assert numbers == {f"INV-500{i}" for i in range(1, 6)}
    assert Invoice.objects.get(number="INV-5002").status == InvoiceStatus.PAID

    # The history lists both uploads.
    page.goto(f"{live_server.url}/imports/")
    history = page.locator("table.table")
    expect(history).to_contain_text("erp-export.csv")
    expect(history).to_contain_text("rejects-fixed.csv")
    shoot(page, screenshots, "history", viewport)

    assert page.js_errors == [], page.js_errors


def test_a_running_import_shows_a_progress_bar(request, harbor, live_server, screenshots, tmp_path):
    page: Page = request.getfixturevalue("desktop")
    batch = import_batch_create(
        organization=harbor,
        kind="invoices",
        upload=ContentFile(EXPORT.encode(), name="big-export.csv"),
        actor=None,
    )
    ImportBatch.objects.filter(pk=batch.pk).update(
        started_at=timezone.now(), rows_done=412_000, rows_total=1_000_000
    )
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/imports/{batch.public_id}/")
    bar = page.locator("progress")
    expect(bar).to_have_attribute("value", "41")
    expect(page.locator("main")).to_contain_text("412000 of about 1000000 rows")
    shoot(page, screenshots, "progress", "desktop")

    # The page polls; when the worker finishes it reloads itself into the summary.
    ImportBatch.objects.filter(pk=batch.pk).update(
        status="loaded",
        finished_at=timezone.now(),
        summary={
            "batch_id": str(batch.public_id),
            "rows": 5,
            "accepted": 5,
            "rejected": 0,
            "created": 5,
            "updated": 0,
            "errors_by_code": {},
            "reject_log": None,
        },
    )
    expect(page.get_by_role("heading", name="Summary")).to_be_visible(timeout=10_000)
    assert page.js_errors == [], page.js_errors
