"""A Controller reads the reports in a real browser: the dashboard panel on signing in, the
aging by customer with its chart, the DSO and CEI trend and the cash collected, at desktop and
phone size (screenshots in `artifacts/screenshots/reports-*.png`). On a phone the page itself
never scrolls sideways (wide tables scroll inside their own box)."""

import datetime as dt
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from plixo.core.models import Role
from plixo.ledger.models import Invoice
from plixo.ledger.selectors import org_today
from plixo.reports.models import ExchangeRate
from plixo.seeding.bulk import invoices_seed
from plixo.seeding.members import DEMO_PASSWORD, login_email, organization_with_members

pytestmark = pytest.mark.e2e
SLUG = "meridian"


@pytest.fixture
def meridian(transactional_db):
    seeded = organization_with_members(
        slug=SLUG, name="Meridian Supply", roles=(Role.CONTROLLER,), time_zone="UTC"
    )
    org = seeded.organization
    invoices_seed(organization=org, invoices=600, seed=5)
    today = org_today(org)
    currencies = sorted(
        set(Invoice.objects.filter(organization=org).values_list("currency", flat=True))
        - {org.base_currency}
    )
    # Every currency but the last gets a daily rate for a year: the last shows as missing.
    for index, code in enumerate(currencies[:-1]):
        ExchangeRate.objects.bulk_create(
            ExchangeRate(
                organization=org,
                on=today - dt.timedelta(days=offset),
                currency=code,
                base_currency=org.base_currency,
                rate=Decimal("1.08") + Decimal(index) / 10 + Decimal(offset % 9) / 1000,
            )
            for offset in range(0, 400, 7)
        )
    return org, currencies[-1] if currencies else None


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / f"reports-{name}-{viewport}.png"), full_page=True)


def fits(page: Page) -> None:
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways: {width}px content on {inner}px"


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_controller_reads_the_reports(request, meridian, live_server, screenshots, viewport):
    org, missing = meridian
    page: Page = request.getfixturevalue(viewport)
    base = live_server.url

    page.goto(f"{base}/login/")
    page.get_by_label("Email").fill(login_email(Role.CONTROLLER, SLUG))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)

    # The Controller lands on Today: the dashboard panel loads into the page.
    assert page.url.rstrip("/") == base
    expect(
        page.locator("#dashboard .dashboard-panel img.chart, #dashboard img").first
    ).to_be_visible()
    expect(page.locator("#dashboard [aria-busy='true']")).to_have_count(0)
    shoot(page, screenshots, "today", viewport)
    if viewport == "phone":
        fits(page)

    page.goto(f"{base}/reports/aging/?group=customer")
    expect(page.locator("img.chart")).to_be_visible()
    if missing:
        expect(page.get_by_text(f"No {missing} rate").first).to_be_visible()
    assert page.locator("img.chart").evaluate("img => img.naturalWidth") > 0
    shoot(page, screenshots, "aging-by-customer", viewport)
    if viewport == "phone":
        fits(page)

    page.goto(f"{base}/reports/dso/")
    expect(page.get_by_text("How these are worked out")).to_be_visible()
    shoot(page, screenshots, "dso", viewport)
    if viewport == "phone":
        fits(page)

    page.goto(f"{base}/reports/collected/")
    shoot(page, screenshots, "collected", viewport)
    assert page.js_errors == []
