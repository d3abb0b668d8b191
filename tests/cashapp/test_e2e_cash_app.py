"""In the browser: a controller uploads a camt.053 and a bank CSV, sees most lines applied with
their reasons, applies a suggestion with one click and fixes the rest from the unapplied queue;
the invoice's page shows the payment. Screenshots at desktop and phone size go to
`artifacts/screenshots/cashapp-*.png`."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.ledger.models import Invoice, InvoiceStatus

pytestmark = pytest.mark.e2e

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cashapp"
EMAIL = "dana.ruiz@alpenlicht.example"
PASSWORD = "alpen-licht-2026"
BANK_CSV = """Booking Date,Amount,Currency,Counterparty,Verwendungszweck,Bank Reference
2026-11-02,1250.00,EUR,Kestrel Analytics GmbH,Rechnung AL-2041,B-1
2026-11-02,830.00,EUR,Kestrel Analytix,Thanks,B-2
2026-11-03,99.90,EUR,Unknown Payer,see email,B-3
2026-11-04,-12.00,EUR,Bank,charges,B-4
"""


@pytest.fixture
def alpenlicht(transactional_db):
    org = core.organization_create(name="Alpenlicht AG", slug="alpenlicht", time_zone="UTC")
    user = core.user_get_or_create(email=EMAIL, password=PASSWORD, full_name="Dana Ruiz")
    core.membership_add(organization=org, user=user, role=Role.CONTROLLER)
    due = dt.date(2026, 10, 15)

    def invoice(number, amount, customer, currency):
        return ledger.invoice_create(
            organization=org,
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            currency=currency,
            amount=Decimal(amount),
        )

    jon = ledger.customer_create(
        organization=org, external_id="C-1", name="Jon Doe", currency="CHF"
    )
    kestrel = ledger.customer_create(
        organization=org, external_id="C-2", name="Kestrel Analytics GmbH", currency="EUR"
    )
    invoice("R77561", "474.40", jon, "CHF")
    invoice("AL-2041", "1250.00", kestrel, "EUR")
    invoice("AL-2042", "830.00", kestrel, "EUR")
    invoice("AL-2043", "400.00", kestrel, "EUR")
    return org


def shoot(page: Page, shots, name: str, viewport: str) -> None:
    page.screenshot(path=str(shots / f"cashapp-{name}-{viewport}.png"), full_page=True)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_upload_apply_and_fix_the_rest(
    alpenlicht, live_server, request, screenshots, tmp_path, viewport
):
    page: Page = request.getfixturevalue(viewport)
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)
    page.goto(f"{live_server.url}/cash/")
    expect(page.get_by_role("heading", name="Cash App", level=1)).to_be_visible()

    # A camt.053: the CHF line naming R77561 is applied by itself.
    page.get_by_label("Bank statement", exact=True).set_input_files(
        str(FIXTURES / "camt-viafintech/camt053_valid_example_v8.xml")
    )
    # Sent with the upload's progress shown (a script), landing on the same result.
    with page.expect_request(
        lambda r: r.method == "POST" and r.headers.get("x-upload-progress") == "1"
    ):
        page.get_by_role("button", name="Import and match").click()
    expect(page.get_by_text("2 new receipts (1 applied")).to_be_visible()
    expect(page.get_by_text("R77561 named in the remittance").first).to_be_visible()
    shoot(page, screenshots, "camt-imported", viewport)

    # A bank CSV: one applied by itself, one suggested, one for the queue.
    csv_path = tmp_path / "bank.csv"
    csv_path.write_text(BANK_CSV)
    page.get_by_label("Bank statement", exact=True).set_input_files(str(csv_path))
    page.get_by_role("button", name="Import and match").click()
    expect(page.get_by_text("3 new receipts (1 applied, 1 to review, 1 unmatched)")).to_be_visible()
    page.get_by_role("link", name="Unapplied queue").click()
    shoot(page, screenshots, "queue", viewport)

    suggested = page.locator("article", has_text="Kestrel Analytix")
    expect(
        suggested.get_by_text("AL-2042 is their only open invoice of this amount")
    ).to_be_visible()
    suggested.get_by_role("button", name="Apply", exact=True).first.click()
    expect(
        page.locator("article", has_text="Kestrel Analytix").get_by_text("Applied").first
    ).to_be_visible()

    unknown = page.locator("article", has_text="Unknown Payer")
    unknown.get_by_text("Apply to invoices by hand (split)").click()
    unknown.get_by_label("Invoice").first.fill("AL-2043")
    unknown.get_by_label("Amount").first.fill("99.90")
    unknown.get_by_role("button", name="Apply", exact=True).click()
    expect(
        page.locator("article", has_text="Unknown Payer").get_by_text(
            re.compile(r"Applied €99\.90")
        )
    ).to_be_visible()
    shoot(page, screenshots, "after-actions", viewport)
    assert page.js_errors == []

    assert Invoice.objects.get(number="AL-2042").status == InvoiceStatus.PAID
    partly = Invoice.objects.get(number="AL-2043")
    assert partly.status == InvoiceStatus.PARTIALLY_PAID
    page.goto(f"{live_server.url}/invoices/{partly.public_id}/")
    expect(page.get_by_text("Payment recorded").first).to_be_visible()
    shoot(page, screenshots, "invoice-timeline", viewport)
