"""Users & Roles in a real browser: a Controller invites a teammate, the teammate accepts the
link and sets her password, the Controller makes her A/R Manager until Friday with a reason,
the revert job runs after Friday, and the page shows her back to A/R Operator. Each step is
photographed at 1440×900 and 390×844 into `artifacts/screenshots/` for review."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import Page, expect

from plixo.core.models import Membership, Role

pytestmark = pytest.mark.e2e

PASSWORD = "harbor-lane-2024"
NEW_PASSWORD = "mara-lind-2024!"
ZONE = "America/New_York"


@pytest.fixture
def harbor_team(transactional_db):
    from plixo.core import services as core

    org = core.organization_create(name="Harbor Lane Foods", slug="harbor", time_zone=ZONE)
    for role, email, name in (
        (Role.CONTROLLER, "ines.moreau@harborlane.example", "Inès Moreau"),
        (Role.AR_MANAGER, "sam.okafor@harborlane.example", "Sam Okafor"),
        (Role.AR_OPERATOR, "dana.reyes@harborlane.example", "Dana Reyes"),
    ):
        user = core.user_get_or_create(email=email, password=PASSWORD, full_name=name)
        core.membership_add(organization=org, user=user, role=role)
    return org


def _sign_in(page: Page, base_url: str, email: str, password: str = PASSWORD) -> None:
    page.goto(f"{base_url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def _shoot(page: Page, screenshots, name: str, viewport: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(screenshots / f"{name}-{viewport}.png"), full_page=True)


def _next_friday_at_five() -> dt.datetime:
    zone = zoneinfo.ZoneInfo(ZONE)
    today = timezone.now().astimezone(zone).date()
    days = (4 - today.weekday()) % 7 or 7
    return dt.datetime.combine(today + dt.timedelta(days=days), dt.time(17, 0), tzinfo=zone)


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_controller_invites_upgrades_until_friday_and_sees_the_revert(
    request, browser, harbor_team, live_server, screenshots, viewport
):
    from plixo.core.services import temporary_roles_revert
    from tests.e2e.conftest import DESKTOP, PHONE, _page

    size = DESKTOP if viewport == "desktop" else PHONE
    extra = {} if viewport == "desktop" else {"is_mobile": True, "has_touch": True}
    base = live_server.url

    # Given the Controller on Users & Roles …
    context, page = _page(browser, size, **extra)
    _sign_in(page, base, "ines.moreau@harborlane.example")
    page.goto(f"{base}/team/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Users & Roles")
    _shoot(page, screenshots, "users-roles", viewport)

    # … when she invites Mara as an A/R Operator, an email with a single-use link goes out.
    invite = page.locator(".invite-card")
    invite.get_by_label("Email").fill("mara.lind@harborlane.example")
    invite.get_by_label("Role").select_option(label="A/R Operator")
    invite.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".flash-success")).to_contain_text("Invitation sent to mara.lind")
    expect(page.locator(".invitations-table")).to_contain_text("Pending")
    _shoot(page, screenshots, "users-roles-invited", viewport)
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/invite/\S+/", mail.outbox[0].body).group(0)
    path = link[link.index("/invite/") :]

    # Mara opens the link, sets her name and password, and lands in Harbor Lane Foods.
    mara_context, mara = _page(browser, size, **extra)
    mara.goto(f"{base}{path}")
    expect(mara.get_by_role("heading", level=1)).to_have_text("Join Harbor Lane Foods")
    mara.get_by_label("Your name").fill("Mara Lind")
    mara.get_by_label("Choose a password").fill(NEW_PASSWORD)
    mara.get_by_label("Password again").fill(NEW_PASSWORD)
    _shoot(mara, screenshots, "invitation-accept", viewport)
    mara.get_by_role("button", name="Create account and join").click()
    expect(mara.locator(".flash-success")).to_contain_text("Welcome to Harbor Lane Foods")
    # The link worked once: opened again, it says so.
    mara.goto(f"{base}{path}")
    expect(mara.get_by_role("heading", level=1)).to_have_text("This invitation was used already")
    _shoot(mara, screenshots, "invitation-used", viewport)
    # The browser logs the used link's 410 as a failed load; nothing else may show up.
    unexpected = [error for error in mara.js_errors if "status of 410" not in error]
    assert unexpected == [], unexpected
    mara_context.close()
    membership = Membership.objects.get(user__email="mara.lind@harborlane.example")
    assert membership.role == Role.AR_OPERATOR

    # The Controller makes her A/R Manager until Friday 17:00, saying why.
    friday = _next_friday_at_five()
    page.goto(f"{base}/team/")
    row = page.locator("tr.member-row", has_text="mara.lind@harborlane.example")
    row.locator("summary", has_text="Manage").click()
    temporary = row.get_by_role("form", name="Temporary role")
    temporary.get_by_label("Temporary role").select_option(label="A/R Manager")
    temporary.get_by_label("Until").fill(friday.strftime("%Y-%m-%dT%H:%M"))
    temporary.get_by_label("Reason").fill("Covering Sam's quarter-end close")
    _shoot(page, screenshots, "users-roles-temporary-form", viewport)
    temporary.get_by_role("button", name="Give temporary role").click()
    expect(page.locator(".flash-success")).to_contain_text("A/R Manager until")
    row = page.locator("tr.member-row", has_text="mara.lind@harborlane.example")
    day = f"{friday:%a} {friday.day} {friday:%b}"
    expect(row).to_contain_text(
        f"A/R Manager until {day}, 17:00 (Covering Sam's quarter-end close), then A/R Operator"
    )
    _shoot(page, screenshots, "users-roles-temporary", viewport)

    # Friday passes: the revert job runs, and the page shows her back to A/R Operator.
    assert temporary_roles_revert(now=friday + dt.timedelta(minutes=5)) == 1
    page.reload()
    row = page.locator("tr.member-row", has_text="mara.lind@harborlane.example")
    expect(row).not_to_contain_text("until")
    expect(row.locator(".member-role" if viewport == "desktop" else ".show-sm")).to_contain_text(
        "A/R Operator"
    )
    trail = page.locator("section", has=page.get_by_role("heading", name="Access audit trail"))
    expect(trail).to_contain_text("Temporary role ended")
    expect(trail).to_contain_text("The temporary role expired.")
    _shoot(page, screenshots, "users-roles-reverted", viewport)
    assert page.js_errors == [], page.js_errors
    context.close()
    membership.refresh_from_db()
    assert membership.role == Role.AR_OPERATOR and not membership.is_temporary
