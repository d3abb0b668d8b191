"""The sending settings page: the settings form and its service (refused values write
nothing), the live/test switch (Controller only), and the sending domains with their warmup,
rates and DNS check."""

import datetime as dt
import html
import sys
import types
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone

from plixo.comms.models import (
    CommsError,
    EmailEvent,
    Message,
    SendingDomain,
    SendingSettings,
)
from plixo.comms.services import sending_settings_for
from plixo.comms.services.settings import (
    organization_live_set,
    sending_domain_ensure,
    sending_settings_update,
)
from plixo.core.models import Organization, Role
from tests.comms.conftest import NOON_NY, invoice_due
from tests.factories import CustomerFactory, data_ready

URL = "comms:sending-settings"
OTHERS = [Role.AR_OPERATOR, Role.BILLING_ADMIN, Role.SALES, Role.CSM, Role.LEGAL]


def _form(**changes) -> dict:
    data = {
        "quiet_hours_start": "09:00",
        "quiet_hours_end": "17:30",
        "skip_holidays": "on",
        "daily_cap": "300",
        "operator_daily_cap": "120",
        "warmup_enabled": "on",
        "warmup_first_day_cap": "40",
        "from_name": "Acme Receivables",
        "from_email": "ar@mail.acme.example",
        "reply_to": "billing@acme.example",
        "test_address": "ar-test@acme.example",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def _snapshot(org) -> tuple:
    org = Organization.objects.get(pk=org.pk)
    sending = SendingSettings.objects.get(organization=org)
    return (
        org.quiet_hours_start,
        org.quiet_hours_end,
        org.is_live,
        sending.daily_cap,
        sending.operator_daily_cap,
        sending.warmup_first_day_cap,
        sending.from_name,
        sending.from_email,
        sending.reply_to,
        sending.test_address,
        sending.send_on_weekends,
    )


# --- the page ------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.CONTROLLER, Role.AR_MANAGER])
def test_page_shows_test_mode_and_its_address(personas, sending, role):
    response = personas.client_for(role).get(reverse(URL))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Test mode" in page
    assert "ar-test@acme.example" in page
    go_live = reverse("comms:sending-live")
    if role == Role.CONTROLLER:
        assert go_live in page and "Go live" in page
    else:
        assert go_live not in page
        assert "Only a Controller can switch" in page


@pytest.mark.parametrize("role", OTHERS)
def test_page_is_refused_to_roles_that_do_not_manage_sending(personas, role):
    assert personas.client_for(role).get(reverse(URL)).status_code == 403


def test_live_organization_says_live(personas, live_org):
    page = personas.client_for(Role.AR_MANAGER).get(reverse(URL)).content.decode()
    assert "Emails go to payers' own addresses." in page


def test_settings_are_saved_through_the_service(personas, sending):
    response = personas.client_for(Role.AR_MANAGER).post(reverse(URL), _form(send_on_weekends="on"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert _snapshot(personas.org) == (
        dt.time(9, 0),
        dt.time(17, 30),
        False,
        300,
        120,
        40,
        "Acme Receivables",
        "ar@mail.acme.example",
        "billing@acme.example",
        "ar-test@acme.example",
        True,
    )
    page = personas.client_for(Role.AR_MANAGER).get(reverse(URL)).content.decode()
    assert 'value="09:00"' in page and "mail.acme.example" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"daily_cap": "0"}, "greater than or equal to 1"),
        ({"operator_daily_cap": "100001"}, "less than or equal to 100000"),
        ({"warmup_first_day_cap": "lots"}, "Enter a whole number"),
        ({"from_email": "not-an-address"}, "Enter a valid email address"),
        ({"test_address": "a@b"}, "Enter a valid email address"),
        ({"from_name": "Acme\x07Receivables"}, "contains a control character"),
        ({"from_name": "Acme\nBcc: x@evil.example"}, "must be a single line"),
        ({"quiet_hours_start": "25:00"}, "Enter a time on the 24-hour clock"),
        ({"quiet_hours_start": "08:00 AM"}, "Enter a time on the 24-hour clock"),
        ({"quiet_hours_end": "5pm"}, "Enter a time on the 24-hour clock"),
        ({"quiet_hours_end": "09:00"}, "cannot start and stop at the same time"),
        ({"test_address": ""}, "cannot be empty"),
    ],
)
def test_refused_settings_write_nothing(personas, sending, changes, message):
    before = _snapshot(personas.org)
    response = personas.client_for(Role.AR_MANAGER).post(reverse(URL), _form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _snapshot(personas.org) == before


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"daily_cap": 0}, "between 1 and 100,000"),
        ({"daily_cap": 100_001}, "between 1 and 100,000"),
        ({"daily_cap": True}, "whole number"),
        ({"reply_to": "nobody"}, "is not an email address"),
        ({"from_name": "A\x00B"}, "contains a control character"),
        ({"from_name": "A\r\nB"}, "must be a single line"),
        ({"quiet_hours_start": "8 o'clock"}, "time of day"),
        ({"send_on_weekends": "yes"}, "true or false"),
        ({"colour": "blue"}, "Unknown sending settings: colour"),
    ],
)
def test_service_refuses_bad_values_and_writes_nothing(personas, sending, fields, message):
    before = _snapshot(personas.org)
    with pytest.raises(CommsError, match=message):
        # A valid change beside the bad one must not be written either.
        sending_settings_update(organization=personas.org, operator_daily_cap=77, **fields)
    assert _snapshot(personas.org) == before


def test_service_accepts_times_as_text_and_windows_across_midnight(personas, sending):
    sending_settings_update(
        organization=personas.org, quiet_hours_start="20:00", quiet_hours_end="06:00"
    )
    org = Organization.objects.get(pk=personas.org.pk)
    assert (org.quiet_hours_start, org.quiet_hours_end) == (dt.time(20, 0), dt.time(6, 0))
    assert personas.org.quiet_hours_start == dt.time(20, 0)  # the caller's object follows


def test_times_are_24_hour_text_boxes(personas, sending):
    page = personas.client_for(Role.AR_MANAGER).get(reverse(URL)).content.decode()
    assert 'type="time"' not in page
    assert 'name="quiet_hours_start" value="08:00"' in page
    assert 'pattern="[0-2][0-9]:[0-5][0-9]"' in page and 'placeholder="08:00"' in page
    response = personas.client_for(Role.AR_MANAGER).post(
        reverse(URL), _form(quiet_hours_start="7:30", quiet_hours_end="19:05")
    )
    assert response.status_code == 302
    org = Organization.objects.get(pk=personas.org.pk)
    assert (org.quiet_hours_start, org.quiet_hours_end) == (dt.time(7, 30), dt.time(19, 5))


# --- live and test mode ---------------------------------------------------------------------------


def test_manager_cannot_switch_sending_live(personas, sending):
    response = personas.client_for(Role.AR_MANAGER).post(
        reverse("comms:sending-live"), {"live": "1", "confirm": "on"}
    )
    assert response.status_code == 403
    assert not Organization.objects.get(pk=personas.org.pk).is_live


def test_controller_goes_live_after_confirming_and_back_to_test_mode(personas, sending):
    data_ready(personas.org)
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("comms:sending-live"), {"live": "1"})
    assert response.status_code == 200
    assert "Tick the box to confirm" in response.content.decode()
    assert not Organization.objects.get(pk=personas.org.pk).is_live

    response = client.post(
        reverse("comms:sending-live"), {"live": "1", "confirm": "on"}, follow=True
    )
    assert Organization.objects.get(pk=personas.org.pk).is_live
    assert "Sending is live" in response.content.decode()

    response = client.post(reverse("comms:sending-live"), {"live": "0"}, follow=True)
    assert not Organization.objects.get(pk=personas.org.pk).is_live
    assert "every email now goes to ar-test@acme.example" in response.content.decode()


def _queued(invoice, *, hold_reason=""):
    key = uuid.uuid4().hex
    return Message.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        purpose=f"manual:{key}",
        idempotency_key=f"test:{key}",
        subject="Hello",
        body="Hello",
        status=Message.Status.QUEUED,
        hold_reason=hold_reason,
    )


def test_go_live_lists_what_to_fix_first(personas, sending, customer, settings):
    settings.DEFAULT_FROM_EMAIL = "Plixo <no-reply@plixo.localhost>"
    invoice = invoice_due(customer, NOON_NY.date())
    _queued(invoice)
    _queued(invoice, hold_reason="Outside the send window")
    _queued(invoice)
    other = invoice_due(CustomerFactory(organization=personas.other_org), NOON_NY.date())
    _queued(other)  # another organization's email is not counted

    response = personas.client_for(Role.CONTROLLER).get(reverse(URL))
    readiness = response.context["readiness"]
    titles = [c.title for c in readiness.warnings]
    assert readiness.domain == "plixo.localhost"
    assert (readiness.waiting.queued, readiness.waiting.held) == (3, 1)
    assert "SPF of plixo.localhost has not been checked." in titles
    assert "The sender is the installation's default address, no-reply@plixo.localhost." in titles
    assert "No reply-to address: payers' replies go to no-reply@plixo.localhost." in titles
    assert "3 emails are queued now (1 of them held for now)." in titles
    page = html.unescape(response.content.decode())
    assert "6 things to look at" in page
    assert "v=spf1 include:<your email provider's SPF domain> ~all" in page
    assert "v=DMARC1; p=none; rua=mailto:dmarc-reports@plixo.localhost" in page
    assert "_dmarc.plixo.localhost" in page
    assert "publish the DKIM key your email provider gives you" in page
    assert "A .localhost address exists on no public mail server" in page
    assert "instead of to ar-test@acme.example" in page
    assert "starting with the 3 emails queued now." in page
    assert page.index("Before going live") < page.index("Go live</button>")


def test_go_live_checks_that_pass_are_listed_as_in_order(personas, sending, settings):
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    sending_settings_update(
        organization=personas.org,
        from_email="ar@mail.acme.example",
        reply_to="billing@acme.example",
    )
    domain = sending_domain_ensure(organization=personas.org)
    SendingDomain.objects.filter(pk=domain.pk).update(spf="pass", dkim="pass", dmarc="fail")
    response = personas.client_for(Role.CONTROLLER).get(reverse(URL))
    readiness = response.context["readiness"]
    assert [c.title for c in readiness.warnings] == ["No DMARC record on mail.acme.example."]
    assert [c.title for c in readiness.passed] == [
        "SPF record found on mail.acme.example.",
        "DKIM record found on mail.acme.example.",
        "Emails are sent from ar@mail.acme.example.",
        "Payers' replies go to billing@acme.example.",
        "No emails are queued: none would go out at once.",
    ]
    page = html.unescape(response.content.decode())
    assert "1 thing to look at" in page
    assert "I understand that emails will go to payers' real addresses from now on." in page
    # An SPF record would name the provider this installation sends through.
    SendingDomain.objects.filter(pk=domain.pk).update(spf="fail")
    page = personas.client_for(Role.CONTROLLER).get(reverse(URL)).content.decode()
    assert "v=spf1 include:spf.mtasv.net ~all" in page


def test_go_live_checks_are_for_the_controller_before_going_live(personas, sending, live_org):
    assert personas.client_for(Role.CONTROLLER).get(reverse(URL)).context["readiness"] is None
    Organization.objects.filter(pk=personas.org.pk).update(is_live=False)
    response = personas.client_for(Role.AR_MANAGER).get(reverse(URL))
    assert response.context["readiness"] is None
    assert "Before going live" not in response.content.decode()


def test_going_live_with_warnings_still_needs_only_the_tick(personas, sending, customer):
    _queued(invoice_due(customer, NOON_NY.date()))
    data_ready(personas.org)
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("comms:sending-live"), {"live": "1"})
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Tick the box to confirm" in page
    assert "starting with the 1 email queued now." in page
    assert not Organization.objects.get(pk=personas.org.pk).is_live
    client.post(reverse("comms:sending-live"), {"live": "1", "confirm": "on"})
    assert Organization.objects.get(pk=personas.org.pk).is_live


def test_test_mode_needs_a_test_address(personas, live_org, sending):
    SendingSettings.objects.filter(pk=sending.pk).update(test_address="")
    response = personas.client_for(Role.CONTROLLER).post(
        reverse("comms:sending-live"), {"live": "0"}
    )
    assert response.status_code == 200
    assert "set a test address first" in response.content.decode()
    assert Organization.objects.get(pk=personas.org.pk).is_live
    with pytest.raises(CommsError):
        organization_live_set(organization=personas.org, live=False, actor=None)


def test_live_organization_may_clear_its_test_address(personas, live_org, sending):
    sending_settings_update(organization=personas.org, test_address="")
    assert SendingSettings.objects.get(pk=sending.pk).test_address == ""


# --- sending domains -------------------------------------------------------------------------


def _message(invoice, *, domain: str, status=Message.Status.SENT, sent_at=None, claimed_at=None):
    key = uuid.uuid4().hex
    return Message.objects.create(
        organization=invoice.organization,
        invoice=invoice,
        purpose=f"manual:{key}",
        idempotency_key=f"test:{key}",
        subject="Hello",
        body="Hello",
        status=status,
        sending_domain=domain,
        sent_at=sent_at,
        claimed_at=claimed_at,
    )


def _event(org, *, kind, domain, at):
    return EmailEvent.objects.create(
        provider="postmark",
        event_id=uuid.uuid4().hex,
        kind=kind,
        organization=org,
        sending_domain=domain,
        occurred_at=at,
    )


def test_domains_show_warmup_sends_today_and_30_day_rates(personas, sending, customer, clock):
    SendingSettings.objects.filter(pk=sending.pk).update(
        from_email="ar@mail.acme.example", daily_cap=500, warmup_first_day_cap=50
    )
    sending.refresh_from_db()
    domain = sending_domain_ensure(organization=personas.org)
    assert domain.domain == "mail.acme.example"
    SendingDomain.objects.filter(pk=domain.pk).update(
        warmup_started_on=NOON_NY.date() - dt.timedelta(days=2)
    )
    invoice = invoice_due(customer, NOON_NY.date() - dt.timedelta(days=10))
    now = timezone.now()
    for _ in range(3):
        _message(invoice, domain="mail.acme.example", sent_at=now, claimed_at=now)
    for days in (3, 6, 20, 25):
        then = now - dt.timedelta(days=days)
        _message(invoice, domain="mail.acme.example", sent_at=then, claimed_at=then)
    old = now - dt.timedelta(days=45)  # outside the 30 days
    _message(invoice, domain="mail.acme.example", sent_at=old, claimed_at=old)
    _event(personas.org, kind=EmailEvent.Kind.BOUNCED, domain="mail.acme.example", at=now)
    _event(personas.org, kind=EmailEvent.Kind.COMPLAINED, domain="mail.acme.example", at=now)
    _event(personas.org, kind=EmailEvent.Kind.SOFT_BOUNCE, domain="mail.acme.example", at=now)
    _event(personas.org, kind=EmailEvent.Kind.BOUNCED, domain="mail.acme.example", at=old)

    response = personas.client_for(Role.AR_MANAGER).get(reverse(URL))
    row = next(r for r in response.context["domains"] if r.domain.pk == domain.pk)
    assert row.is_current
    assert (row.warmup_day, row.cap_today, row.warmed_up) == (3, 200, False)  # 50 → 100 → 200
    assert (row.sent_today, row.sent_30d, row.bounced_30d, row.complained_30d) == (3, 7, 1, 1)
    assert round(row.bounce_rate, 2) == round(100 / 7, 2)
    today = response.context["today"]
    assert (today.sent, today.cap, today.warming_up) == (3, 200, True)
    page = response.content.decode()
    assert "mail.acme.example" in page
    assert "14.3%" in page
    assert "Day 3" in page


def test_new_domain_is_listed_before_its_first_email(personas, sending):
    page = personas.client_for(Role.AR_MANAGER).get(reverse(URL)).content.decode()
    domain = SendingDomain.objects.get(organization=personas.org)
    assert domain.warmup_started_on is None
    assert domain.domain in page
    assert "Starts with the first email" in page
    assert "Never checked" in page


@pytest.fixture
def fake_dns(monkeypatch):
    """Stands in for the DNS check so no test touches the network; records its calls."""
    calls = []

    def sending_domain_check(*, domain):
        calls.append(domain.pk)
        domain.spf, domain.dkim, domain.dmarc = "pass", "fail", "unresolved"
        domain.check_details = {"spf": {"result": "pass", "detail": "SPF record found"}}
        domain.checked_at = timezone.now()
        domain.save()
        return domain

    module = types.ModuleType("plixo.comms.deliverability")
    module.sending_domain_check = sending_domain_check
    monkeypatch.setitem(sys.modules, "plixo.comms.deliverability", module)
    return calls


def test_dns_check_button_checks_the_domain(personas, sending, fake_dns):
    domain = sending_domain_ensure(organization=personas.org)
    url = reverse("comms:sending-domain-check", kwargs={"domain_id": domain.public_id})
    client = personas.client_for(Role.AR_MANAGER)
    assert client.get(url).status_code == 405
    response = client.post(url, follow=True)
    assert fake_dns == [domain.pk]
    page = response.content.decode()
    assert "SPF found, DKIM missing, DMARC could not resolve" in page
    assert "SPF record found" in page


def test_dns_check_of_another_organizations_domain_is_not_found(personas, sending, fake_dns):
    sending_settings_for(personas.other_org)
    theirs = sending_domain_ensure(organization=personas.other_org)
    url = reverse("comms:sending-domain-check", kwargs={"domain_id": theirs.public_id})
    assert personas.client_for(Role.CONTROLLER).post(url).status_code == 404
    assert fake_dns == []


@pytest.mark.parametrize("role", OTHERS)
def test_dns_check_is_refused_to_other_roles(personas, sending, fake_dns, role):
    domain = sending_domain_ensure(organization=personas.org)
    url = reverse("comms:sending-domain-check", kwargs={"domain_id": domain.public_id})
    assert personas.client_for(role).post(url).status_code == 403
    assert fake_dns == []
