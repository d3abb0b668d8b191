"""From cadence to cash, in a real browser: a manager opens the send window and builds a cadence
(a misspelt merge field is refused first); the scheduler's tick drafts the step that fell due; an
operator previews the draft and sends it with the keyboard; the email, written by Django's file
backend, carries a single-use link; the payer opens it, pays in the sandbox checkout, and the
cadence stops. Pages are photographed at desktop and phone size into `artifacts/screenshots/`."""

import datetime as dt
import re
from decimal import Decimal
from email import message_from_bytes
from email.policy import default as email_policy
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.comms.models import CadenceEnrollment, Message
from plixo.comms.services import cadence_tick
from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus

pytestmark = pytest.mark.e2e

PASSWORD = "tidewater-2026"
MANAGER = "ines.marsh@tidewater.example"
OPERATOR = "leo.park@tidewater.example"


@pytest.fixture
def tidewater(transactional_db):
    """Tidewater Components: two wholesale customers, one invoice four days overdue, one due in
    ten days."""
    org = core.organization_create(name="Tidewater Components", slug="tidewater", time_zone="UTC")
    for role, email, name in (
        (Role.AR_MANAGER, MANAGER, "Ines Marsh"),
        (Role.AR_OPERATOR, OPERATOR, "Leo Park"),
        (Role.CONTROLLER, "ada.finch@tidewater.example", "Ada Finch"),
    ):
        user = core.user_get_or_create(email=email, password=PASSWORD, full_name=name)
        core.membership_add(organization=org, user=user, role=role)
    customer = ledger.customer_create(
        organization=org,
        external_id="W-310",
        name="Saltmarsh Hardware",
        segment="wholesale",
        currency="USD",
        time_zone="UTC",
    )
    ledger.contact_create(
        customer=customer, email="payables@saltmarsh.example", name="Mira Holt", is_primary=True
    )
    today = timezone.now().date()
    overdue = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="TW-4410",
        issue_date=today - dt.timedelta(days=34),
        due_date=today - dt.timedelta(days=4),
        currency="USD",
        amount=Decimal("1840.00"),
    )
    upcoming = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="TW-4471",
        issue_date=today - dt.timedelta(days=20),
        due_date=today + dt.timedelta(days=10),
        currency="USD",
        amount=Decimal("920.00"),
    )
    return {"org": org, "overdue": overdue, "upcoming": upcoming}


def sign_in(page: Page, base_url: str, email: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def shoot(page: Page, screenshots, name: str, viewport: str = "desktop") -> None:
    page.screenshot(path=str(screenshots / f"comms-{name}-{viewport}.png"), full_page=True)


def sent_emails(folder: Path):
    return [
        message_from_bytes(path.read_bytes(), policy=email_policy)
        for path in sorted(folder.glob("*.log"))
    ]


def test_cadence_to_cash(tidewater, live_server, browser, screenshots, tmp_path):
    mail_dir = tmp_path / "mail"
    mail_dir.mkdir()
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
        EMAIL_FILE_PATH=str(mail_dir),
        PLIXO_PUBLIC_URL=live_server.url,
    ):
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
        context.set_default_timeout(15_000)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))

        # Given the manager opens the send window to the whole day, every day.
        sign_in(page, live_server.url, MANAGER)
        page.goto(f"{live_server.url}/settings/sending/")
        expect(page.locator(".banner-info")).to_contain_text("Test mode")
        page.get_by_label("Sending starts at").fill("00:00")
        page.get_by_label("Sending stops at").fill("23:59")
        page.get_by_label("Send on Saturdays and Sundays").check()
        page.get_by_label("Skip the payer's public holidays").uncheck()
        page.get_by_role("button", name=re.compile("Save")).first.click()
        expect(page.locator(".flash-success, .flash-info").first).to_be_visible()
        shoot(page, screenshots, "sending-settings")

        # When she builds a cadence, a misspelt merge field is refused, naming it.
        page.goto(f"{live_server.url}/cadences/new/")
        page.get_by_label("Name").fill("Wholesale nudge")
        page.locator("[name='steps-0-offset_days']").fill("3")
        page.locator("[name='steps-0-tone']").select_option("firm")
        page.locator("[name='steps-0-subject']").fill(
            "Invoice {invoice_number} is {days_overdue} days overdue"
        )
        body = "Hello {contact_name},\n\n{amout_due} is open. Pay here: {pay_link}\n\n{sender_name}"
        page.locator("[name='steps-0-body']").fill(body)
        page.get_by_role("button", name="Create cadence").click()
        expect(page.locator("main")).to_contain_text("{amout_due}")
        shoot(page, screenshots, "cadence-error")
        page.locator("[name='steps-0-body']").fill(body.replace("amout_due", "amount_due"))
        page.get_by_role("button", name="Create cadence").click()
        page.wait_for_url(re.compile(r"/cadences/"))
        expect(page.locator("main")).to_contain_text("Wholesale nudge")

        # And a segment rule sends wholesale customers to it.
        page.goto(f"{live_server.url}/cadences/rules/new/")
        page.get_by_label("Name").fill("Wholesale accounts")
        page.get_by_label("Cadence").select_option(label="Wholesale nudge")
        page.get_by_label("Customer segment").fill("wholesale")
        page.get_by_role("button", name=re.compile("(Save|Create|Add)")).first.click()
        page.wait_for_url(re.compile(r"/cadences/(#rules)?$"))
        expect(page.locator("main")).to_contain_text("Wholesale accounts")
        shoot(page, screenshots, "cadences")

        # Then the scheduler's tick drafts the step that fell due, once.
        assert cadence_tick().drafted == 1
        assert cadence_tick().drafted == 0
        draft = Message.objects.get(invoice=tidewater["overdue"])
        assert draft.cadence.name == "Wholesale nudge" and draft.status == Message.Status.DRAFT
        assert not Message.objects.filter(invoice=tidewater["upcoming"]).exists()
        context.close()

        # The operator previews the draft and sends it with the keyboard.
        context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        sign_in(page, live_server.url, OPERATOR)
        page.goto(f"{live_server.url}/drafts/")
        expect(page.locator("[data-row]")).to_have_count(1)
        expect(page.locator("main")).to_contain_text("TW-4410")
        page.keyboard.press("j")
        page.keyboard.press("Enter")
        expect(page.locator("main")).to_contain_text("Invoice TW-4410 is 4 days overdue")
        expect(page.locator("main")).to_contain_text("$1,840.00")
        shoot(page, screenshots, "drafts")
        page.keyboard.press("s")
        expect(page.locator(".flash").first).to_contain_text("test address")
        shoot(page, screenshots, "drafts-sent")
        page.goto(f"{live_server.url}/outbox/?tab=sent")
        expect(page.locator("main")).to_contain_text("TW-4410")
        shoot(page, screenshots, "outbox")

        # The email went to the test address (test mode), with a working single-use link.
        emails = sent_emails(mail_dir)
        assert len(emails) == 1
        email = emails[0]
        assert email["To"] == "ada.finch@tidewater.example"
        assert email["Subject"] == "[TEST] Invoice TW-4410 is 4 days overdue"
        text = email.get_body(preferencelist=("plain",)).get_content()
        assert "payables@saltmarsh.example" in text and "$1,840.00" in text
        assert "{" not in text
        link = re.search(rf"{re.escape(live_server.url)}/p/[\w-]+", text).group(0)
        context.close()

        # The payer opens the link and pays.
        payer = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
        payer.set_default_timeout(15_000)
        page = payer.new_page()
        page.goto(link)
        page.get_by_role("button", name="Open invoice").click()
        page.wait_for_url(re.compile(r"/portal/$"))
        page.get_by_role("link", name="Pay now").click()
        page.get_by_role("button", name="Continue to payment").click()
        page.wait_for_url(re.compile(r"/portal/sandbox/"))
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        page.wait_for_url(re.compile(r"/portal/\?paid=1$"))
        expect(page.locator(".banner-paid")).to_contain_text("Paid")
        payer.close()

        # And the cadence stops: nothing more is drafted for the paid invoice.
        invoice = tidewater["overdue"]
        invoice.refresh_from_db()
        assert invoice.status == InvoiceStatus.PAID
        enrollment = CadenceEnrollment.objects.get(invoice=invoice)
        assert enrollment.state == CadenceEnrollment.State.STOPPED
        assert enrollment.next_action_at is None
        kinds = set(invoice.timeline.values_list("kind", flat=True))
        assert {"email_drafted", "email_sent", "payment_recorded", "cadence_stopped"} <= kinds
        assert errors == [], errors


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_comms_pages_at_desktop_and_phone_size(
    request, tidewater, live_server, screenshots, viewport
):
    """The manager's and operator's pages, photographed for review, with nothing wider than the
    screen on a phone."""
    cadence_tick()
    page: Page = request.getfixturevalue(viewport)
    sign_in(page, live_server.url, MANAGER)
    for name, path in (
        ("cadence-list", "/cadences/"),
        ("cadence-new", "/cadences/new/"),
        ("settings", "/settings/sending/"),
        ("drafts-list", "/drafts/"),
        ("outbox-queued", "/outbox/"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= page.viewport_size["width"] + 1, f"{path} is {width}px wide"
        shoot(page, screenshots, name, viewport)
        if name == "settings":
            section = page.locator("#operators")
            expect(section).to_contain_text("Send windows per operator")
            section.screenshot(path=str(screenshots / f"comms-operator-windows-{viewport}.png"))
    assert page.js_errors == [], page.js_errors
