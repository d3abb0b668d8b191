"""The staff side of Stripe, in a real browser: a Controller connects the organization's Stripe
account in Payment settings (a publishable key pasted by mistake is refused first) and turns
partial payments off and on; a payment whose amount does not match its checkout is flagged on
the Ops page and the invoice until someone marks it reviewed; calls to Stripe that keep failing
put the "Payments degraded" banner on every staff page; after a partial Stripe payment the
invoice offers one click to promise or dispute the rest, and a refund issued in Stripe reopens
the balance and can be annotated with the Stripe payment id.

Webhooks are signed with Stripe's scheme and posted over HTTP to the live server's endpoint, as
Stripe does. Pages are photographed at desktop and phone size into `artifacts/screenshots/`
(`payments-*`, `ops-stripe*`, `invoice-partial-stripe*`, `invoice-refund*`); at phone width
nothing may stick out of the screen or of its card."""

import datetime as dt
import re
import urllib.error
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.commitments.models import Promise
from plixo.core import services as core
from plixo.core.models import Role
from plixo.ledger import services as ledger
from plixo.ledger.models import InvoiceStatus
from plixo.ledger.selectors import org_today
from plixo.payments import services as payments
from plixo.payments.models import StripeAccount, StripeEvent, StripeEventStatus
from plixo.payments.stripe.handlers import HANDLERS
from tests.payments.stripe_support import (
    body_of,
    charge_object,
    connect,
    envelope,
    refund_object,
    session_object,
    signature,
)

pytestmark = pytest.mark.e2e

VIEWPORTS = ["desktop", "phone"]
PASSWORD = "quayside-ledger-2026"
CONTROLLER = "maren.holt@quayside.example"
# Keys of Stripe's shapes that the Controller types; the page may show their hints only.
SECRET_KEY = "sk_test_" + "51QsdeTestKeyR8vLq2Wm7Zr4"
WEBHOOK_SECRET = "whsec_" + "QsdeSigningSecretK3n9Tq5"
PUBLISHABLE_KEY = "pk_test_" + "51QsdePublishableKey0042"
# Stripe's ids are 27 mixed-case characters; ids of that shape show whether the pages fit them.
FIRST_INTENT = "pi_3QxRfBLkdIwHu7ix0sW1mNpA"
SECOND_INTENT = "pi_3QxRg7LkdIwHu7ix1Tz8KqLe"
REFUND_ID = "re_3QxRfBLkdIwHu7ix0WZ9mHcD"


@pytest.fixture
def quayside(transactional_db):
    """Quayside Chandlery: a Controller, one customer paying in USD, three open invoices."""
    org = core.organization_create(
        name="Quayside Chandlery", slug="quayside", time_zone="America/New_York"
    )
    controller = core.user_get_or_create(
        email=CONTROLLER, password=PASSWORD, full_name="Maren Holt"
    )
    core.membership_add(organization=org, user=controller, role=Role.CONTROLLER)
    customer = ledger.customer_create(
        organization=org, external_id="C-7100", name="Harborview Marine", currency="USD"
    )
    ledger.contact_create(
        customer=customer, email="ap@harborview.example", name="Noor Patel", is_primary=True
    )
    today = timezone.now().date()
    invoices = {}
    for number, amount, days_overdue in (
        ("QC-5120", "1250.00", 9),
        ("QC-5121", "2400.00", 21),
        ("QC-5122", "980.00", 3),
    ):
        due = today - dt.timedelta(days=days_overdue)
        invoices[number] = ledger.invoice_create(
            organization=org,
            customer=customer,
            number=number,
            issue_date=due - dt.timedelta(days=30),
            due_date=due,
            currency="USD",
            amount=Decimal(amount),
            po_number=f"PO-{number[-4:]}",
            description="Mooring lines and fenders, spring refit.",
        )
    return {"org": org, "controller": controller, "invoices": invoices}


def sign_in(page: Page, base_url: str) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(CONTROLLER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


# What sticks out of the screen, or out of the card it is in, at phone width (a table's own
# sideways scroll is allowed): tag, class and the start of its text.
OVERFLOWING = """() => {
  const found = [];
  for (const el of document.querySelectorAll("main *")) {
    if (el.children.length || el.closest(".table-wrap, .visually-hidden")) continue;
    const box = el.getBoundingClientRect();
    if (!box.width) continue;
    const card = el.closest(".card");
    const limit = card ? card.getBoundingClientRect().right : window.innerWidth;
    if (box.right > limit + 1) {
      const text = el.textContent.trim().slice(0, 40);
      found.push(`${el.tagName.toLowerCase()}.${el.className} "${text}"`);
    }
  }
  return found;
}"""


def shoot(page: Page, screenshots: Path, name: str, viewport: str) -> None:
    """A full-page photograph (from the top, so the sticky header stays where it belongs); at
    phone width, whatever sticks out is noted for `assert_fits`."""
    suffix = "" if viewport == "desktop" else f"-{viewport}"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / f"{name}{suffix}.png"), full_page=True)
    if viewport == "phone":
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        problems = ([f"the page is {wider}px wider than the screen"] if wider > 0 else []) + list(
            page.evaluate(OVERFLOWING)
        )
        if problems:
            page.overflows = [*getattr(page, "overflows", []), f"{name}: {problems}"]


def assert_fits(page: Page, *other_problems: str) -> None:
    """Checked once at the end, so that one test reports everything that is wrong."""
    problems = [*getattr(page, "overflows", []), *other_problems]
    assert not problems, "\n".join(problems)


def post_event(live_server, organization, event: dict) -> int:
    """POST one signed event to the organization's webhook URL over HTTP, as Stripe does."""
    body = body_of(event)
    request = urllib.request.Request(  # noqa: S310 (the live server's own URL)
        f"{live_server.url}/webhooks/stripe/{organization.slug}/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signature(body),
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
        },
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def pay_part_through_stripe(live_server, invoice, amount: str, payment_intent: str) -> str:
    """The payer pays `amount` of the invoice on Stripe Checkout: the checkout Plixo opens, then
    Stripe's signed `checkout.session.completed` for the payment `payment_intent` (pi_…)."""
    checkout = payments.checkout_create(invoice=invoice, amount=Decimal(amount), provider="stripe")
    event = envelope(
        "checkout.session.completed", session_object(checkout, payment_intent=payment_intent)
    )
    assert post_event(live_server, invoice.organization, event) == 200
    return payment_intent


def invoice_url(base_url: str, invoice) -> str:
    return f"{base_url}/invoices/{invoice.public_id}/"


def flash(page: Page):
    return page.locator(".messages .flash")


def script_errors(page: Page) -> list[str]:
    """The page's script and console errors, less the browser's note that a refused form came
    back with status 400 (the settings page answers a wrong key that way, on purpose)."""
    refused = "the server responded with a status of 400"
    return [error for error in page.js_errors if refused not in error]


# --- 1. Payment settings ------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_controller_connects_stripe_in_payment_settings(
    request, quayside, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    org = quayside["org"]
    with override_settings(PLIXO_PUBLIC_URL=live_server.url):
        sign_in(page, live_server.url)
        nav = page.get_by_role("navigation", name="Main")
        nav.locator("summary", has_text="Setup").click()
        nav.get_by_role("link", name="Settings").click()
        page.wait_for_url(re.compile(r"/settings/payments/$"))
        expect(page.get_by_role("heading", level=1)).to_have_text("Payment settings")
        # Given no Stripe account yet: the sandbox is what payers get.
        expect(page.locator("#provider-title")).to_have_text("Sandbox")
        expect(page.locator(".mode-card")).to_contain_text("No money moves")
        expect(page.get_by_role("button", name="Connect Stripe")).to_be_visible()
        shoot(page, screenshots, "payments-settings-sandbox", viewport)

        # When the publishable key is pasted where the secret key belongs.
        page.get_by_label("Secret key").fill(PUBLISHABLE_KEY)
        page.get_by_label("Webhook signing secret").fill(WEBHOOK_SECRET)
        page.get_by_role("button", name="Connect Stripe").click()

        # Then the field says what is wrong, and nothing typed comes back in the page.
        secret_row = page.locator(".form-row", has=page.get_by_label("Secret key"))
        expect(secret_row.locator(".field-error")).to_have_text(
            "That is a publishable key (pk_…); Plixo needs the secret key (sk_…)."
        )
        expect(page.get_by_label("Secret key")).to_have_attribute("aria-invalid", "true")
        expect(page.get_by_label("Secret key")).to_have_value("")
        expect(page.locator("#provider-title")).to_have_text("Sandbox")
        html = page.content()
        assert PUBLISHABLE_KEY not in html and WEBHOOK_SECRET not in html
        assert not StripeAccount.objects.filter(organization=org).exists()
        shoot(page, screenshots, "payments-settings-error", viewport)

        # When the secret key and the endpoint's signing secret are given.
        page.get_by_label("Secret key").fill(SECRET_KEY)
        page.get_by_label("Webhook signing secret").fill(WEBHOOK_SECRET)
        page.get_by_role("button", name="Connect Stripe").click()
        page.wait_for_url(re.compile(r"/settings/payments/$"))

        # Then Stripe is connected in test mode; only the keys' hints are ever shown again.
        key_hint = f"sk_test_••••{SECRET_KEY[-4:]}"
        expect(flash(page)).to_have_text(
            f"Stripe connected ({key_hint}, test mode). Payers now pay through Stripe Checkout."
        )
        expect(page.locator("#provider-title")).to_have_text("Stripe · test mode")
        expect(page.locator(".mode-card")).to_contain_text(key_hint)
        expect(page.locator("main")).to_contain_text(f"whsec_••••{WEBHOOK_SECRET[-4:]}")
        expect(page.locator("#webhook-url")).to_have_text(
            f"{live_server.url}/webhooks/stripe/{org.slug}/"
        )
        events = page.get_by_role("list", name="Events to select")
        expect(events.get_by_role("listitem")).to_have_text(list(HANDLERS))
        expect(page.get_by_role("button", name="Save new keys")).to_be_visible()
        html = page.content()
        assert SECRET_KEY not in html, "the full secret key is in the page"
        assert WEBHOOK_SECRET not in html, "the full webhook secret is in the page"
        account = StripeAccount.objects.get(organization=org)
        assert (account.secret_key, account.webhook_secret) == (SECRET_KEY, WEBHOOK_SECRET)
        assert not account.livemode
        shoot(page, screenshots, "payments-settings", viewport)

        # Partial payments: on by default; off, then on again.
        partial = page.get_by_label("Payers may pay part of a balance from the portal")
        save = page.get_by_role("button", name="Save", exact=True)
        expect(partial).to_be_checked()
        partial.uncheck()
        save.click()
        expect(flash(page)).to_have_text("Partial payments are off: payers pay the full balance.")
        expect(partial).not_to_be_checked()
        org.refresh_from_db()
        assert org.allow_partial_payments is False
        shoot(page, screenshots, "payments-settings-partial-off", viewport)

        partial.check()
        save.click()
        expect(flash(page)).to_have_text(
            "Partial payments are on: payers may pay part of a balance."
        )
        expect(partial).to_be_checked()
        org.refresh_from_db()
        assert org.allow_partial_payments is True
    assert not script_errors(page), page.js_errors
    assert_fits(page)


# --- 2. Ops: a payment flagged for review, and the degraded banner -----------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_mismatched_stripe_payment_is_reviewed_from_the_ops_page(
    request, quayside, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    org = quayside["org"]
    invoice = quayside["invoices"]["QC-5120"]
    connect(org)

    # Given Stripe reports a completed checkout for less than Plixo asked for (1,250.00 USD).
    checkout = payments.checkout_create(invoice=invoice, amount=invoice.balance, provider="stripe")
    event = envelope("checkout.session.completed", session_object(checkout, amount_total=112_500))
    assert post_event(live_server, org, event) == 200
    stored = StripeEvent.objects.get(event_id=event["id"])
    assert stored.status == StripeEventStatus.REVIEW
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1250.00"), "a mismatched payment must not be applied"
    reason = "The provider reports 1125.00 USD; this checkout is for 1250.00 USD."

    # When the Controller opens Ops from the top nav.
    sign_in(page, live_server.url)
    nav = page.get_by_role("navigation", name="Main")
    nav.locator("summary", has_text="Setup").click()
    nav.get_by_role("link", name="Ops").click()
    page.wait_for_url(re.compile(r"/ops/$"))
    stripe = page.locator("#stripe")
    expect(stripe.get_by_role("heading", level=2)).to_have_text("Stripe · Quayside Chandlery")
    row = stripe.locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("checkout.session.completed")
    expect(row).to_contain_text(event["id"])
    expect(row.locator(".badge")).to_have_text("Needs review")
    expect(row).to_contain_text(reason)
    expect(row.get_by_role("link", name="QC-5120")).to_have_attribute(
        "href", f"/invoices/{invoice.public_id}/"
    )
    shoot(page, screenshots, "ops-stripe", viewport)

    # Then the invoice tells the same story.
    row.get_by_role("link", name="QC-5120").click()
    page.wait_for_url(re.compile(r"/invoices/[0-9a-f-]{36}/$"))
    flagged = page.locator("ol.timeline li", has_text="Payment needs review")
    expect(flagged).to_have_count(1)
    expect(flagged).to_contain_text(f"Not applied: {reason}")
    expect(flagged).to_contain_text(str(event["data"]["object"]["payment_intent"]))
    expect(page.locator("main")).to_contain_text("No payments applied yet.")
    shoot(page, screenshots, "ops-stripe-invoice", viewport)

    # When the Controller says what was done and marks it reviewed.
    page.goto(f"{live_server.url}/ops/#stripe")
    page.get_by_label("What was done").fill(
        "Refunded the short payment in Stripe; asked for 1,250.00."
    )
    page.get_by_role("button", name="Mark reviewed").click()
    page.wait_for_url(re.compile(r"/ops/$"))

    # Then the list is empty and the invoice's timeline records the review.
    expect(flash(page)).to_have_text(f"Stripe event {event['id']} marked reviewed.")
    expect(page.locator("#stripe tbody tr")).to_have_count(0)
    expect(page.locator("#stripe")).to_contain_text("Nothing needs attention.")
    shoot(page, screenshots, "ops-stripe-reviewed", viewport)
    stored.refresh_from_db()
    assert stored.status == StripeEventStatus.REVIEWED
    assert stored.reviewed_by == quayside["controller"]
    page.goto(invoice_url(live_server.url, invoice))
    closed = page.locator("ol.timeline li", has_text="Payment review closed")
    expect(closed).to_contain_text("Refunded the short payment in Stripe")
    assert not page.js_errors, page.js_errors
    assert_fits(page)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_failing_calls_to_stripe_show_the_degraded_banner_on_every_staff_page(
    request, quayside, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    org = quayside["org"]
    connect(org)
    sign_in(page, live_server.url)
    expect(page.get_by_text("Payments degraded")).to_have_count(0)

    # Given Stripe has rate limited the last three calls.
    StripeAccount.objects.filter(organization=org).update(
        api_failures=3,
        api_last_error="rate limited (429): rate_limit: Too many requests hit the API too quickly.",
        api_last_error_at=timezone.now(),
    )

    nav = page.get_by_role("navigation", name="Main")
    # Every page the navigation leads to, those inside its closed menus too.
    pages = [link.get_attribute("href") for link in nav.locator("a").all()]
    pages.append(f"/invoices/{quayside['invoices']['QC-5120'].public_id}/")
    assert {"/invoices/", "/ops/", "/settings/payments/"} <= set(pages), pages
    for path in pages:
        page.goto(f"{live_server.url}{path}")
        banner = page.locator(".banner-warning", has_text="Payments degraded")
        expect(banner, f"no degraded banner on {path}").to_have_count(1)
        # One line on every page; what to do is on Ops and in Payment settings.
        expect(banner).to_contain_text("the last 3 calls to Stripe failed; payers cannot pay.")
        if path in ("/ops/", "/settings/payments/"):
            remedy = page.locator("main")
            expect(remedy).to_contain_text("rate limited (429)")
            expect(remedy).to_contain_text("wait a few minutes")
            expect(remedy).to_contain_text("status.stripe.com")
        else:
            expect(banner.get_by_role("link", name="What to do")).to_have_attribute(
                "href", "/ops/#stripe"
            )
    page.goto(f"{live_server.url}/invoices/")
    shoot(page, screenshots, "payments-degraded", viewport)
    page.goto(f"{live_server.url}/ops/#stripe")
    expect(page.locator("#stripe")).to_contain_text("3 failing")
    shoot(page, screenshots, "payments-degraded-ops", viewport)
    assert not page.js_errors, page.js_errors
    assert_fits(page)


# --- 3. Partial payment, promise or dispute the rest, refund, note -----------------------------


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_partial_stripe_payment_then_promise_dispute_refund_and_note(
    request, quayside, live_server, screenshots, viewport
):
    page: Page = request.getfixturevalue(viewport)
    org = quayside["org"]
    first, second = quayside["invoices"]["QC-5120"], quayside["invoices"]["QC-5121"]
    connect(org)
    payments.partial_payments_set(organization=org, allowed=True)

    # Given the payers paid part of two invoices on Stripe Checkout.
    paid_intent = pay_part_through_stripe(live_server, first, "500.00", FIRST_INTENT)
    pay_part_through_stripe(live_server, second, "400.00", SECOND_INTENT)
    first.refresh_from_db()
    assert (first.status, first.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("750.00"))

    # When the Controller opens the first invoice.
    sign_in(page, live_server.url)
    page.goto(invoice_url(live_server.url, first))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Partially paid")
    applied = page.locator("section", has=page.get_by_role("heading", name="Payments applied"))
    expect(applied).to_contain_text(paid_intent)
    expect(applied).to_contain_text("$500.00")
    remainder = page.locator("section.remainder")
    expect(remainder.get_by_role("heading")).to_have_text("$750.00 still due")
    week_out = org_today(org) + dt.timedelta(days=7)
    expect(remainder.get_by_label("Promised for")).to_have_value(week_out.isoformat())
    shoot(page, screenshots, "invoice-partial-stripe", viewport)

    # Then one click records a promise for exactly what is left.
    remainder.get_by_role("button", name="Promise the remaining $750.00").click()
    expect(flash(page)).to_have_text(
        f"Promise recorded: $750.00 by {week_out:%b} {week_out.day}, {week_out.year}. "
        "Reminders pause until then."
    )
    (promise,) = Promise.objects.filter(invoice=first)
    first.refresh_from_db()
    assert (promise.amount, promise.promised_on) == (first.balance, week_out)
    shoot(page, screenshots, "invoice-partial-stripe-promised", viewport)

    # When on the second invoice the rest is disputed instead.
    page.goto(invoice_url(live_server.url, second))
    remainder = page.locator("section.remainder")
    expect(remainder.get_by_role("heading")).to_have_text("$2,000.00 still due")
    remainder.get_by_text("Dispute the remaining $2,000.00").click()
    # The prefilled description is read now and checked at the end, so that a wrong figure
    # in it does not hide what the rest of the flow does.
    prefilled = remainder.get_by_label("What the payer says").input_value()
    shoot(page, screenshots, "invoice-partial-stripe-dispute-form", viewport)
    remainder.get_by_label("Reason").select_option(label="Quality problem")
    remainder.get_by_role("button", name="Open dispute").click()
    expect(flash(page)).to_contain_text("Dispute opened for $2,000.00")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Disputed")
    second.refresh_from_db()
    assert second.status == InvoiceStatus.DISPUTED
    shoot(page, screenshots, "invoice-partial-stripe-disputed", viewport)

    # When 200.00 of the first payment is refunded in Stripe.
    charge = charge_object(
        payment_intent=paid_intent, amount="500.00", currency="USD", refunded="200.00"
    )
    refund = refund_object(
        payment_intent=paid_intent, charge=charge["id"], amount="200.00", currency="USD"
    )
    refund["id"] = REFUND_ID
    charge["refunds"]["data"] = [refund]
    assert post_event(live_server, org, envelope("charge.refunded", charge)) == 200

    # Then the invoice lists the refund, the balance reopens and the timeline says so.
    page.goto(invoice_url(live_server.url, first))
    refunds = page.locator(
        "section", has=page.get_by_role("heading", name="Refunds and chargebacks")
    )
    expect(refunds.locator("tbody tr")).to_have_count(1)
    expect(refunds).to_contain_text(refund["id"])
    expect(refunds).to_contain_text(paid_intent)
    expect(refunds).to_contain_text("−$200.00")
    expect(page.locator(".stat", has_text="Balance")).to_contain_text("$950.00")
    expect(page.locator("ol.timeline li", has_text="Refund recorded")).to_contain_text(
        f"$200.00 given back on payment {paid_intent}"
    )
    first.refresh_from_db()
    assert first.balance == Decimal("950.00")

    # When the Controller notes why, about the Stripe payment.
    notes = page.locator(".notes-thread")
    notes.get_by_role("textbox").first.fill("Refund of 200.00 agreed for two damaged fenders.")
    notes.get_by_label("About payment").select_option(paid_intent)
    notes.get_by_role("button", name="Add note").click()
    expect(page.locator(".notes-thread .note", has_text="two damaged fenders")).to_have_count(1)

    # Then the note is on the timeline with the payment it is about.
    page.reload()
    note = page.locator("ol.timeline li", has_text="two damaged fenders")
    expect(note).to_have_count(1)
    about = note.locator(".timeline-details > div", has_text=paid_intent)
    expect(about.locator("dt")).to_have_text("Payment")
    expect(about.locator("dd")).to_have_text(paid_intent)
    shoot(page, screenshots, "invoice-refund", viewport)
    assert not page.js_errors, page.js_errors
    # Amounts in the currency's own decimals, as everywhere else on the page.
    expected = "Short payment: 400.00 of 2400.00 USD paid; 2000.00 USD is disputed."
    assert_fits(page, *([] if prefilled == expected else [f"dispute description: {prefilled!r}"]))
