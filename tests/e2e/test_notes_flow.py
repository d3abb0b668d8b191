"""Internal notes and @mentions in a real browser: an A/R Manager writes a note on an invoice
mentioning a Legal colleague; the colleague signs in, finds the mention unread on the mentions
page and answers it there; the answer shows in the invoice's thread. Each step is photographed
at 1440×900 and at 375 px wide into `artifacts/screenshots/` for review."""

import pytest
from playwright.sync_api import expect

from plixo.core.models import Role
from tests.e2e.conftest import DESKTOP, _page
from tests.e2e.test_collections_flow import PASSWORD, harbor, shoot, sign_in  # noqa: F401

pytestmark = pytest.mark.e2e

NARROW = {"width": 375, "height": 812}


@pytest.fixture
def legal(harbor):  # noqa: F811 — the fixture imported above
    from plixo.core import services as core

    user = core.user_get_or_create(
        email="priya.shah@harborlane.example", password=PASSWORD, full_name="Priya Shah"
    )
    core.membership_add(organization=harbor["org"], user=user, role=Role.LEGAL)
    return user


@pytest.mark.parametrize("viewport", ["desktop", "narrow"])
def test_a_mention_reaches_legal_who_answers_from_the_mentions_page(
    browser,
    harbor,  # noqa: F811
    legal,
    live_server,
    screenshots,
    viewport,
):
    from plixo.notes.models import Mention, Note

    size = DESKTOP if viewport == "desktop" else NARROW
    extra = {} if viewport == "desktop" else {"is_mobile": True, "has_touch": True}
    invoice = harbor["invoices"]["INV-2043"]
    thread_url = f"{live_server.url}/notes/invoices/{invoice.public_id}/"

    # The manager writes a note asking Legal about the payer's rebate claim.
    context, page = _page(browser, size, **extra)
    sign_in(page, live_server.url, "sam.okafor@harborlane.example")
    page.goto(thread_url)
    thread = page.locator(".notes-thread")
    expect(thread).to_contain_text("No notes yet.")
    thread.locator("summary", has_text="Who can I mention?").click()
    expect(thread.locator(".notes-handle-list")).to_contain_text("@priya.shah")
    box = thread.get_by_label("Note")
    box.fill("@priya.shah the payer claims a 10% rebate under clause 4.2 — can we credit it?")
    thread.get_by_role("button", name="Add note").click()
    # HTMX re-renders the thread in place: no navigation, the note and its mention highlighted.
    expect(page.locator(".notes-thread .flash")).to_contain_text("1 member notified")
    expect(page.locator(".notes-thread mark.mention")).to_have_text("@priya.shah")
    expect(page.locator(".notes-thread .note-mentions")).to_contain_text("Notified @priya.shah")
    assert page.url == thread_url
    page.evaluate("window.scrollTo(0, 0)")
    shoot(page, screenshots, "notes-thread-manager", viewport)

    # A mistyped handle is refused with the valid ones, and the text is kept.
    box = page.locator(".notes-thread").get_by_label("Note")
    box.fill("@priya please also check the late fee")
    page.locator(".notes-thread").get_by_role("button", name="Add note").click()
    expect(page.locator(".notes-thread .form-errors")).to_contain_text("@priya.shah")
    expect(page.locator(".notes-thread").get_by_label("Note")).to_have_value(
        "@priya please also check the late fee"
    )
    shoot(page, screenshots, "notes-refused", viewport)
    assert page.js_errors == [], page.js_errors
    context.close()
    assert Note.objects.count() == 1
    assert Mention.objects.get().user == legal

    # Legal signs in and finds the mention waiting, unread.
    context, page = _page(browser, size, **extra)
    sign_in(page, live_server.url, "priya.shah@harborlane.example")
    bell = page.locator("#notes-bell .notes-bell-count")
    if bell.count():  # once the top bar carries the bell
        expect(bell).to_have_text("1")
    page.goto(f"{live_server.url}/mentions/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mentions")
    expect(page.locator(".chip.is-active")).to_contain_text("Unread 1")
    card = page.locator(".mention-card")
    expect(card).to_have_count(1)
    expect(card).to_contain_text("Sam Okafor mentioned you on invoice INV-2043")
    expect(card).to_contain_text("Kestrel Analytics GmbH")
    expect(card.locator(".badge")).to_have_text("Unread")
    shoot(page, screenshots, "mentions-unread", viewport)

    # She answers in place.
    card.get_by_label("Reply to Sam Okafor").fill(
        "Yes: clause 4.2 allows it. Credit 10% and note it."
    )
    card.get_by_role("button", name="Reply", exact=True).click()
    card = page.locator(".mention-card")
    expect(card.locator(".flash")).to_have_text("Reply added to the thread.")
    expect(card.locator(".badge")).to_have_text("Answered")
    expect(card.locator(".mention-thread")).to_contain_text("Credit 10% and note it.")
    shoot(page, screenshots, "mentions-answered", viewport)
    page.goto(f"{live_server.url}/mentions/?show=unread")
    expect(page.locator(".empty")).to_contain_text("No unread mentions")
    assert page.js_errors == [], page.js_errors
    context.close()

    # Back on the invoice's notes, the manager sees the answer under the question.
    context, page = _page(browser, size, **extra)
    sign_in(page, live_server.url, "sam.okafor@harborlane.example")
    page.goto(thread_url)
    reply = page.locator(".notes-thread .note-reply")
    expect(reply).to_contain_text("Priya Shah")
    expect(reply).to_contain_text("Credit 10% and note it.")
    expect(page.locator(".notes-thread .note-mentions")).to_contain_text("@priya.shah (answered)")
    shoot(page, screenshots, "notes-thread-answered", viewport)
    assert page.js_errors == [], page.js_errors
    context.close()
