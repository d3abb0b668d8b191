"""My Queue worked with the keyboard only, in a real browser: an A/R operator with twenty open
items moves with J/K, sends the approved draft with S, records a promise with P, writes a note
with N, opens the shortcuts with ?, and the daily burn-down moves as items clear. The queue is
photographed at 1440×900 and 390 wide into `artifacts/screenshots/workspace-*.png`."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.commitments.models import Promise
from plixo.comms.models import Message
from plixo.comms.services import cadence_tick
from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.notes.models import Note
from plixo.workspace import services as workspace
from plixo.workspace.models import QueueDay

pytestmark = pytest.mark.e2e

PASSWORD = "workspace-flow-2026"
OPERATOR = "priya@harbor.example"
CUSTOMERS = ("Bluewater Logistics", "Cedar Point Foods", "Northwind Traders", "Summit Dental")


@pytest.fixture
def harbor(transactional_db):
    """Harbor Supply: one operator who collects four accounts with twenty open invoices, the
    older ones with a reminder drafted by the cadence and awaiting approval."""
    org = core.organization_create(name="Harbor Supply", slug="harbor", time_zone="UTC")
    operator = core.user_get_or_create(email=OPERATOR, password=PASSWORD, full_name="Priya Shah")
    membership = core.membership_add(organization=org, user=operator, role=Role.AR_OPERATOR)
    manager = core.user_get_or_create(
        email="dana@harbor.example", password=PASSWORD, full_name="Dana Kim"
    )
    core.membership_add(organization=org, user=manager, role=Role.AR_MANAGER)
    today = timezone.now().date()
    invoices = []
    for index in range(20):
        if index < len(CUSTOMERS):
            name = CUSTOMERS[index]
            customer = ledger.customer_create(
                organization=org, external_id=f"C-{index}", name=name, currency="USD"
            )
            customer.collector = operator
            customer.save(update_fields=["collector"])
            handle = name.split()[0].lower()
            ledger.contact_create(
                customer=customer, email=f"ap@{handle}.example", name="Accounts", is_primary=True
            )
        customer = org.customers.get(external_id=f"C-{index % len(CUSTOMERS)}")
        overdue = 95 - index * 5  # 95 days down to 0
        invoices.append(
            ledger.invoice_create(
                organization=org,
                customer=customer,
                number=f"INV-{7100 + index}",
                issue_date=today - dt.timedelta(days=overdue + 30),
                due_date=today - dt.timedelta(days=overdue),
                currency="USD",
                amount=Decimal(1250 + index * 375),
            )
        )
    # The scheduler's work: the cadence drafts the steps that fell due, the queue is ranked,
    # and the day's plan is taken.
    cadence_tick()
    workspace.queue_entries_refresh(organization=org)
    workspace.queue_day_refresh(membership=membership)
    return {"org": org, "membership": membership, "invoices": invoices}


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(OPERATOR)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/(invoices|queue)/"))


def selected(page: Page):
    return page.locator("[data-queue-row].is-selected")


def press_until_open(page: Page, key: str) -> str:
    """Press J or K and wait until the inspector shows the item now in focus; its invoice id."""
    page.keyboard.press(key)
    row = selected(page)
    expect(row).to_have_count(1)
    invoice = row.get_attribute("data-invoice")
    expect(page.locator(f'#inspector [data-inspector][data-invoice="{invoice}"]')).to_be_visible()
    return invoice


def tab_to(page: Page, name: str, limit: int = 8) -> None:
    """Tab forward until the button called `name` has the focus (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if (
            page.evaluate("document.activeElement && document.activeElement.textContent.trim()")
            == name
        ):
            return
    raise AssertionError(f"Tab never reached the {name!r} button")


def burn_rows(page: Page) -> int:
    return page.locator("#burn-chart tbody tr").count()


def test_an_operator_works_twenty_items_with_the_keyboard(
    live_server, desktop, harbor, screenshots
):
    page = desktop
    drafts = Message.objects.filter(organization=harbor["org"], status=Message.Status.DRAFT).count()
    assert drafts >= 2, "the cadence drafted reminders for the overdue invoices"
    planned = QueueDay.objects.get(membership=harbor["membership"]).planned
    assert planned >= 20

    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/queue/")
    rows = page.locator("[data-queue-row]")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20
    expect(page.locator("#burn-today")).to_contain_text(f"0 of {planned} planned cleared")
    burn_table_rows = burn_rows(page)
    page.screenshot(path=str(screenshots / "workspace-queue-desktop.png"), full_page=True)

    # J opens the first item, J the next, K goes back to the first: the inspector follows.
    first = press_until_open(page, "j")
    assert first == rows.first.get_attribute("data-invoice")
    second = press_until_open(page, "j")
    assert second != first
    assert press_until_open(page, "k") == first

    # S approves and sends the draft of the item in focus; the item leaves the list and the
    # burn-down counts it.
    expect(page.locator('#inspector [data-shortcut="send"]')).to_be_visible()
    key = selected(page).get_attribute("data-key")
    page.keyboard.press("s")
    expect(page.locator(f'[data-queue-row][data-key="{key}"]')).to_have_count(0)
    expect(page.locator("#burn-today")).to_contain_text(f"1 of {planned} planned cleared")
    assert Message.objects.filter(
        organization=harbor["org"], status=Message.Status.DRAFT
    ).count() == (drafts - 1)
    # The refreshed list keeps the burn-down's table whole.
    assert burn_rows(page) == burn_table_rows
    expect(selected(page)).to_have_count(1)
    page.screenshot(path=str(screenshots / "workspace-after-send-desktop.png"), full_page=True)

    # P on the draft now in focus: the promise form opens with the balance and a date a week
    # out; Enter records it. The promise cancels the unsent reminder and holds the invoice, so
    # both leave the list, and the burn-down counts the draft as cleared.
    invoice_id = press_until_open(page, "j")
    assert "badge-draft" in (selected(page).locator(".badge-kind").get_attribute("class") or "")
    page.keyboard.press("p")
    amount = page.locator("#inspector-promise input[name='promise-amount']")
    expect(amount).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(f'[data-queue-row][data-invoice="{invoice_id}"]')).to_have_count(0)
    assert Promise.objects.filter(invoice__public_id=invoice_id).count() == 1
    expect(page.locator("#burn-today")).to_contain_text(f"2 of {planned} planned cleared")

    # N opens the notes of the item now in focus; a note is typed and added by keyboard.
    press_until_open(page, "j")
    noted = selected(page).get_attribute("data-invoice")
    page.keyboard.press("n")
    expect(page.locator("#inspector-note textarea").first).to_be_focused()
    page.keyboard.type("Called their AP line: cheque run is on Friday.")
    tab_to(page, "Add note")
    page.keyboard.press("Enter")
    expect(page.locator("#inspector")).to_contain_text("cheque run is on Friday")
    assert Note.objects.filter(invoice__public_id=noted).count() == 1

    # Typing in a field never fires a shortcut: J in the search box filters, it does not move.
    page.keyboard.press("Escape")
    before = selected(page).get_attribute("data-key")
    page.keyboard.press("/")
    expect(page.locator("[data-queue-search]")).to_be_focused()
    page.keyboard.type("jjj")
    assert selected(page).get_attribute("data-key") == before
    for _ in range(3):
        page.keyboard.press("Backspace")
    page.keyboard.press("Escape")
    expect(page.locator("[data-queue-search]")).not_to_be_focused()

    # ? lists the shortcuts.
    page.keyboard.press("?")
    dialog = page.locator("#queue-shortcuts")
    expect(dialog).to_be_visible()
    page.screenshot(path=str(screenshots / "workspace-shortcuts-desktop.png"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    assert burn_rows(page) == burn_table_rows
    assert not page.js_errors, page.js_errors
    page.screenshot(path=str(screenshots / "workspace-worked-desktop.png"), full_page=True)


def test_the_queue_on_a_phone_opens_an_item_as_its_own_page(
    live_server, phone, harbor, screenshots
):
    page = phone
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/queue/")
    expect(page.locator("[data-queue-row]").first).to_be_visible()
    page.screenshot(path=str(screenshots / "workspace-queue-phone.png"), full_page=True)
    page.locator("[data-queue-row] [data-inspect]").first.click()
    page.wait_for_url(re.compile(r"/queue/"))
    expect(page.locator("[data-inspector]")).to_be_visible()
    page.screenshot(path=str(screenshots / "workspace-inspector-phone.png"), full_page=True)
    assert not page.js_errors, page.js_errors
