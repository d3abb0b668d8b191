"""A controller reads the staff lists of a ledger too long for one page, in a real browser:
customers by largest open balance in one currency, invoices searched narrowly and broadly,
paged forward and back by cursor and sorted by amount, payments paged. Every step is
photographed at desktop and phone size into `artifacts/screenshots/`, and on a phone no page
scrolls sideways."""

import re
from decimal import Decimal

import pytest
from django.db.models import Count
from playwright.sync_api import Page, expect

from plixo.core.models import Role
from plixo.core.templatetags.plixo import money_text
from plixo.ledger.models import Customer, CustomerBalance, Invoice, Payment
from plixo.ledger.selectors import INVOICE_SORTS, PAYMENT_LIST_ORDER
from plixo.seeding.bulk import invoices_seed
from plixo.seeding.members import DEMO_PASSWORD, login_email, organization_with_members

pytestmark = pytest.mark.e2e

VIEWPORTS = ["desktop", "phone"]
SLUG = "harbor"
INVOICES = 1200  # 24 pages of 50, in six currencies; an invoice-number prefix is a broad search
PAGE_SIZE = 50


@pytest.fixture
def harbor(transactional_db):
    """Harbor Lane Foods with a controller and 1,200 synthetic invoices, seeded by the same
    code as `plixo seed`."""
    seeded = organization_with_members(
        slug=SLUG, name="Harbor Lane Foods", roles=(Role.CONTROLLER,), time_zone="UTC"
    )
    org = seeded.organization
    summary = invoices_seed(organization=org, invoices=INVOICES, seed=11)
    assert summary.invoices == INVOICES
    currencies = set(
        Invoice.objects.filter(organization=org).values_list("currency", flat=True).distinct()
    )
    assert len(currencies) >= 3, currencies
    return org


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(login_email(Role.CONTROLLER, SLUG))
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    # From the top, so that the sticky top bar is not photographed over the middle of the page.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / f"lists-{name}-{viewport}.png"), full_page=True)


def first_column(page: Page) -> list[str]:
    """The link in each row's first cell: an invoice number, or a customer's name."""
    return [
        text.strip()
        for text in page.locator(
            "table.table tbody tr td:first-child a.cell-link"
        ).all_inner_texts()
    ]


def payment_references(page: Page) -> list[str]:
    return [
        text.strip()
        for text in page.locator("table.table tbody tr td:first-child .mono").all_inner_texts()
    ]


def assert_fits_the_phone(page: Page) -> None:
    """No sideways scroll, and the search box and its button are on the screen."""
    width, inner = page.evaluate("[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways: {width}px content on {inner}px"
    # Nor is a column cut off inside the table's own scroll box: the phone layout keeps what
    # does not fit in lines under the first cell.
    clipped = page.evaluate(
        "[...document.querySelectorAll('.table-wrap')]"
        ".map(wrap => wrap.scrollWidth - wrap.clientWidth).filter(extra => extra > 0)"
    )
    assert clipped == [], f"{page.url}: a table is wider than the screen by {clipped}px"
    filters = page.locator("form.filters")
    for control in (filters.get_by_role("searchbox"), filters.locator("button[type=submit]")):
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= inner, box


def apply_search(page: Page, term: str) -> None:
    search = page.locator("form.filters").get_by_role("searchbox")
    search.fill(term)
    with page.expect_navigation():
        search.press("Enter")


def chip_count(page: Page, label: str) -> str:
    chip = page.locator("nav.chips a.chip").filter(has_text=re.compile(rf"^{label}\b"))
    return chip.first.locator(".chip-count").inner_text().strip()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_controller_reads_long_lists(request, harbor, live_server, screenshots, viewport):
    page: Page = request.getfixturevalue(viewport)
    base = live_server.url
    sign_in(page, base)
    org = harbor

    # --- customers -------------------------------------------------------------------------
    # Given the controller opens Customers, a currency most customers do not bill in …
    currency = (
        CustomerBalance.objects.filter(organization=org, open_units__gt=0)
        .exclude(currency=org.base_currency)
        .values("currency")
        .annotate(customers=Count("customer"))
        .order_by("-customers", "currency")
        .values_list("currency", flat=True)
        .first()
    )
    by_balance = list(
        CustomerBalance.objects.filter(organization=org, currency=currency, open_units__gt=0)
        .select_related("customer")
        .order_by("-open_units", "customer_id")[:PAGE_SIZE]
    )
    expected_customers = [row.customer.name for row in by_balance]
    assert len(expected_customers) >= 2, "the test needs several customers in one currency"
    page.goto(f"{base}/customers/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Customers")
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "customers", viewport)

    # When she sorts by largest open balance and picks the currency …
    filters = page.locator("form.filters")
    filters.get_by_label("Sort").select_option(label="Largest open balance")
    filters.get_by_label("Open in").select_option(currency)
    with page.expect_navigation():
        filters.get_by_role("button", name="Apply").click()

    # Then the note says the order is within that currency, and the order is the ledger's.
    note = page.locator(".list-note")
    expect(note).to_contain_text(f"Sorted by open balance in {currency}")
    expect(note).to_contain_text("never compared")
    assert first_column(page) == expected_customers
    # Each row shows the chosen currency's balance first: the largest at the top.
    first_amount = page.locator("table.table tbody tr td.num.strong .amount").first
    expect(first_amount).to_have_text(money_text(by_balance[0].open_balance, currency))
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "customers-by-balance", viewport)

    # --- invoices: a narrow search ----------------------------------------------------------
    # Given the customer with the most invoices, searched by name …
    busiest = (
        Customer.objects.filter(organization=org)
        .annotate(invoice_count=Count("invoices"))
        .order_by("-invoice_count", "pk")
        .first()
    )
    term = busiest.name
    matches = Invoice.objects.filter(organization=org).filter(
        customer__name__icontains=term
    ) | Invoice.objects.filter(organization=org, number__icontains=term)
    expected_matches = matches.distinct().count()
    assert 0 < expected_matches < PAGE_SIZE
    page.goto(f"{base}/invoices/")
    expect(page.locator(".pagination")).to_contain_text(f"{INVOICES:,} invoices")
    apply_search(page, term)

    # Then the chips count what matches, and every row is that customer's.
    expect(page).to_have_url(re.compile(r"q="))
    assert chip_count(page, "All") == str(expected_matches)
    expect(page.locator(".pagination")).to_contain_text(f"{expected_matches} invoices")
    expect(page.locator(".list-note")).to_have_count(0)
    rows = page.locator("table.table tbody tr")
    expect(rows).to_have_count(expected_matches)
    numbers = set(first_column(page))
    assert numbers == set(matches.values_list("number", flat=True))
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "invoices-search-narrow", viewport)

    # When she searches an invoice-number prefix that matches all through the ledger …
    apply_search(page, "SEED-0000")
    # Then the list says it is not counted: a note, "1–50 of many invoices", chips without
    # counts.
    expect(page.locator(".list-note")).to_contain_text("matches invoices all through the ledger")
    expect(page.locator(".pagination")).to_contain_text("1–50 of many invoices")
    expect(page.locator("nav.chips .chip-count")).to_have_count(0)
    expect(rows).to_have_count(PAGE_SIZE)
    due_order = list(
        Invoice.objects.filter(organization=org)
        .order_by(*INVOICE_SORTS["due"])
        .values_list("number", flat=True)
    )
    assert first_column(page) == due_order[:PAGE_SIZE]
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "invoices-search-broad", viewport)

    # --- invoices: cursor pages ---------------------------------------------------------------
    # When she clears the search and pages forward twice and back once …
    with page.expect_navigation():
        page.get_by_role("link", name="Clear filters").click()
    expect(page.locator("form.filters").get_by_role("searchbox")).to_have_value("")
    expect(page.locator(".pagination")).to_contain_text(f"{INVOICES:,} invoices")
    pages = [first_column(page)]
    pager = page.get_by_role("navigation", name="Pages")
    for _ in range(2):
        with page.expect_navigation():
            pager.get_by_role("link", name="Next →").click()
        pages.append(first_column(page))
    expect(page.locator(".pagination")).to_contain_text(f"101–150 of {INVOICES:,} invoices")
    shoot(page, screenshots, "invoices-page-3", viewport)
    with page.expect_navigation():
        pager.get_by_role("link", name="← Previous").click()
    pages.append(first_column(page))
    expect(page.locator(".pagination")).to_contain_text(f"51–100 of {INVOICES:,} invoices")

    # Then each page continues the last one, in the database's order, with nothing skipped or
    # shown twice, and going back shows page 2 again.
    assert pages[0] == due_order[:PAGE_SIZE]
    assert pages[1] == due_order[PAGE_SIZE : 2 * PAGE_SIZE]
    assert pages[2] == due_order[2 * PAGE_SIZE : 3 * PAGE_SIZE]
    assert pages[3] == pages[1]
    assert len(set(pages[0] + pages[1] + pages[2])) == 3 * PAGE_SIZE
    expect(pager.get_by_role("link", name="First page")).to_be_visible()
    expect(pager.get_by_role("link", name="Next →")).to_be_visible()
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "invoices-page-2", viewport)

    # --- invoices: a money sort ---------------------------------------------------------------
    # When she sorts by amount (on a phone the Amount column is not shown; Balance is) …
    sort_key, label = ("amount", "Amount") if viewport == "desktop" else ("balance", "Balance")
    with page.expect_navigation():
        page.locator("table.table thead").get_by_role("link", name=label).click()
    expect(page).to_have_url(re.compile(rf"sort={sort_key}"))
    # Then the note says the sort keeps to the base currency, and the rows are the smallest
    # amounts in it, in order.
    base_currency = org.base_currency
    expect(page.locator(".list-note")).to_contain_text(
        f"Sorted by {sort_key} in {base_currency} only"
    )
    expect(page.locator("form.filters select[name=currency]")).to_have_value(base_currency)
    expected = list(
        Invoice.objects.filter(organization=org, currency=base_currency)
        .order_by(*INVOICE_SORTS[sort_key])
        .values_list("number", sort_key)[:PAGE_SIZE]
    )
    assert first_column(page) == [number for number, _ in expected]
    values = [value for _, value in expected]
    assert values == sorted(values) and values[0] >= Decimal(0)
    th = page.locator(f"table.table thead th:has(a:text-is('{label}'))")
    expect(th).to_have_attribute("aria-sort", "ascending")
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "invoices-sorted-by-amount", viewport)

    # --- payments -----------------------------------------------------------------------------
    # When she opens Payments and goes to the next page …
    payment_order = list(
        Payment.objects.filter(organization=org)
        .order_by(*PAYMENT_LIST_ORDER)
        .values_list("reference", flat=True)
    )
    assert len(payment_order) > PAGE_SIZE
    page.goto(f"{base}/payments/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Payments")
    assert payment_references(page) == payment_order[:PAGE_SIZE]
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "payments", viewport)
    with page.expect_navigation():
        page.get_by_role("navigation", name="Pages").get_by_role("link", name="Next →").click()
    # Then the second page follows the first.
    assert payment_references(page) == payment_order[PAGE_SIZE : 2 * PAGE_SIZE]
    expect(page.locator(".pagination")).to_contain_text(f"{len(payment_order):,} payments")
    if viewport == "phone":
        assert_fits_the_phone(page)
    shoot(page, screenshots, "payments-page-2", viewport)

    assert page.js_errors == [], page.js_errors
