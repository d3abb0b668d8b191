"""Promises and payment plans in a real browser: an operator logs a promise from the invoice
page, prefills a plan from it, reviews and creates its schedule, and lands on the plan
inspector; the Controller's Commitment Radar shows a missed promise with its badges. Every
step is photographed at desktop and phone size into `artifacts/screenshots/` for review."""

import datetime as dt
import re

import pytest
from playwright.sync_api import Page, expect

from plixo.commitments.models import PaymentPlan, Promise
from plixo.commitments.services import promise_create
from plixo.core.models import Role
from tests.e2e.test_collections_flow import harbor, shoot, sign_in  # noqa: F401 — fixture

pytestmark = pytest.mark.e2e
VIEWPORTS = ["desktop", "phone"]


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_operator_logs_a_promise_then_turns_it_into_a_plan(
    request,
    harbor,  # noqa: F811 — the fixture imported above
    live_server,
    screenshots,
    viewport,  # noqa: F811
):
    from django.utils import timezone

    from plixo.core.models import Membership
    from plixo.reports.models import ExchangeRate

    page: Page = request.getfixturevalue(viewport)
    invoice = harbor["invoices"]["INV-2043"]  # EUR 8,900.00, 45 days overdue
    # Within her approval limit at today's rate (€8,900 × 1.08 = $9,612 ≤ $10,000): the plan
    # is in place as soon as she creates it.
    Membership.objects.filter(user=harbor["people"][Role.AR_OPERATOR]).update(
        approval_limit="10000.00"
    )
    ExchangeRate.objects.create(
        organization=harbor["org"],
        on=timezone.now().date() - dt.timedelta(days=1),
        currency="EUR",
        base_currency="USD",
        rate="1.08",
    )
    sign_in(page, live_server.url, "dana.reyes@harborlane.example")
    page.goto(f"{live_server.url}/invoices/{invoice.public_id}/")

    # She records what the payer said on the phone.
    card = page.locator("#add-promise")
    card.locator("summary").click()
    card.get_by_label("Amount").fill("3,000.00")
    promised = dt.date.today() + dt.timedelta(days=5)
    card.get_by_label("Promised for").fill(promised.isoformat())
    card.get_by_label("Note").fill("Klaus, on the phone: after month end")
    page.get_by_role("button", name="Add promise").click()
    expect(page.locator(".alert, .messages")).to_contain_text("Promise recorded: €3,000.00")
    commitments = page.locator("section.commitments")
    expect(commitments).to_contain_text("Open")
    expect(commitments.get_by_role("button", name="Mark kept")).to_be_visible()
    shoot(page, screenshots, "promise-logged", viewport)

    # Later she prefills a plan from it: the promise is the first installment.
    commitments.get_by_role("link", name="Prefill plan").click()
    card = page.locator("#create-plan")
    expect(card).to_contain_text("Prefilled from the promise of €3,000.00")
    card.get_by_label("Installments").fill("3")
    card.get_by_role("button", name="Review schedule").click()
    card = page.locator("#create-plan")
    expect(card.locator(".schedule-row")).to_have_count(3)
    expect(card.get_by_label("Installment 1 amount")).to_have_value("3000.00")
    expect(card.get_by_label("Installment 2 amount")).to_have_value("2950.00")
    shoot(page, screenshots, "plan-review", viewport)
    card.get_by_role("button", name="Create plan").click()

    # The plan inspector: schedule, adherence, next due date and the actions.
    page.wait_for_url(re.compile(r"/plans/[0-9a-f-]{36}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Payment plan for INV-2043")
    expect(page.locator("table.schedule-table tbody tr")).to_have_count(3)
    expect(page.locator("main")).to_contain_text("Upcoming")
    expect(page.get_by_role("button", name="Resend link")).to_be_visible()
    shoot(page, screenshots, "plan-inspector", viewport)

    plan = PaymentPlan.objects.get(invoice=invoice)
    assert plan.status == PaymentPlan.Status.APPROVED
    assert Promise.objects.get(invoice=invoice).status == Promise.Status.SUPERSEDED
    assert page.js_errors == [], page.js_errors


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_the_radar_shows_a_missed_promise_with_its_badges(
    request,
    harbor,  # noqa: F811 — the fixture imported above
    live_server,
    screenshots,
    viewport,  # noqa: F811
):
    page: Page = request.getfixturevalue(viewport)
    operator = harbor["people"][Role.AR_OPERATOR]
    today = dt.date.today()
    missed = promise_create(
        invoice=harbor["invoices"]["INV-2044"],
        amount="2150.00",
        promised_on=today,
        actor=operator,
    )
    # Made a week ago for yesterday: the promised day has passed without a payment.
    Promise.objects.filter(pk=missed.pk).update(promised_on=today - dt.timedelta(days=1))
    promise_create(
        invoice=harbor["invoices"]["INV-2045"],
        amount="640.00",
        promised_on=today,
        actor=operator,
    )
    sign_in(page, live_server.url, "ines.moreau@harborlane.example")
    page.get_by_role("navigation", name="Main").locator("summary", has_text="Collections").click()
    page.get_by_role("link", name="Commitments").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Commitment Radar")
    table = page.locator("table.radar-table")
    expect(table).to_contain_text("INV-2044")
    expect(table).to_contain_text("Missed")
    expect(table).to_contain_text("No invoice link")
    expect(table).to_contain_text("Due today")
    expect(page.locator(".radar-totals")).to_contain_text("$640.00")
    expect(page.locator(".radar-totals")).to_contain_text("£2,150.00")
    shoot(page, screenshots, "commitment-radar", viewport)
    assert page.js_errors == [], page.js_errors


def test_a_promise_becomes_a_plan_above_the_limit_approved_then_paid_in_the_portal(
    desktop,
    harbor,  # noqa: F811 — the fixture imported above
    live_server,
    screenshots,
):
    """The issue's whole story: the operator's plan exceeds her limit, the Controller approves it
    from the inbox with one click, the payer pays both installments in the portal and the plan
    closes."""
    from django.utils import timezone

    from plixo.core.models import Membership
    from plixo.portal.services import portal_link_issue

    page: Page = desktop
    invoice = harbor["invoices"]["INV-2042"]  # USD, $2,000.00 still due after a wire
    Membership.objects.filter(user=harbor["people"][Role.AR_OPERATOR]).update(
        approval_limit="1000.00"
    )
    promise = promise_create(
        invoice=invoice,
        amount="1000.00",
        promised_on=timezone.now().date() + dt.timedelta(days=3),
        actor=harbor["people"][Role.AR_OPERATOR],
    )
    sign_in(page, live_server.url, "dana.reyes@harborlane.example")
    page.goto(f"{live_server.url}/invoices/{invoice.public_id}/?plan_from={promise.public_id}")
    card = page.locator("#create-plan")
    card.get_by_label("Installments").fill("2")
    card.get_by_role("button", name="Review schedule").click()
    page.locator("#create-plan").get_by_role("button", name="Create plan").click()
    page.wait_for_url(re.compile(r"/plans/[0-9a-f-]{36}/$"))
    expect(page.locator("main")).to_contain_text("sent for approval")
    expect(page.locator("main")).to_contain_text("exceeds your $1,000.00 limit")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pending approval")
    shoot(page, screenshots, "plan-pending-approval", "desktop")

    # The Controller approves it from the inbox with one click.
    page.context.clear_cookies()
    sign_in(page, live_server.url, "ines.moreau@harborlane.example")
    page.get_by_role("navigation", name="Main").locator("summary", has_text="Collections").click()
    page.get_by_role("link", name="Approvals").first.click()
    approval = page.locator(".approval").first
    expect(approval).to_contain_text("Payment plan")
    approval.get_by_role("button", name="Approve").click()
    plan = PaymentPlan.objects.get(invoice=invoice)
    assert plan.status == PaymentPlan.Status.APPROVED

    # The payer pays both installments in the portal; the plan closes with the last one.
    page.context.clear_cookies()
    _, path = portal_link_issue(invoice=invoice)
    page.goto(f"{live_server.url}{path}")
    page.get_by_role("button", name="Open invoice").click()
    expect(page.locator("main")).to_contain_text("Your payment plan")
    for expected in ("1000.00", "1000.00"):
        page.get_by_role("link", name="Pay now").click()
        expect(page.get_by_label("Amount to pay")).to_have_value(expected)
        page.get_by_role("button", name="Continue to payment").click()
        page.wait_for_url(re.compile(r"/portal/sandbox/"))
        page.get_by_role("button", name=re.compile(r"^Pay ")).click()
        page.wait_for_url(re.compile(r"/portal/\?paid=1$"))
    shoot(page, screenshots, "plan-paid-in-portal", "desktop")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.COMPLETED
    assert page.js_errors == [], page.js_errors
