"""`plixo demo`: a demo organization that looks real, built idempotently through the services,
served with a worker and the scheduler that stop together."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from io import StringIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone

from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.ledger.models import (
    OPEN_STATUSES,
    Allocation,
    Contact,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    TimelineEvent,
)
from plixo.ledger.selectors import bucket_for, customers_visible, org_today
from plixo.ledger.services import invoice_balance_from_rows
from plixo.seeding.demo import DEMO_SLUG, EUROPE_SLUG, demo_build
from plixo.seeding.management.commands.demo import Child, Supervisor, port_is_free
from plixo.seeding.members import DEMO_PASSWORD

SHORT_NAMES = ("controller", "manager", "operator", "billing", "sales", "csm", "legal")
COUNTED = (Organization, User, Membership, AuditEvent, Customer, Contact, Invoice, Payment,
           Allocation, TimelineEvent)  # fmt: skip


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


@pytest.mark.django_db
def test_demo_looks_real_and_a_second_build_changes_nothing(django_assert_max_num_queries):
    result = demo_build()
    assert result.created == [DEMO_SLUG, EUROPE_SLUG]
    org = Organization.objects.get(slug=DEMO_SLUG)
    assert (org.name, org.base_currency, org.time_zone) == (
        "Northwind Supply Co.",
        "USD",
        "America/New_York",
    )

    # Logins: one per role, the documented password.
    members = Membership.objects.filter(organization=org).select_related("user")
    assert {m.role for m in members} == set(Role.values)
    assert {m.user.email for m in members} == {f"{s}@demo.plixo.test" for s in SHORT_NAMES}
    assert all(m.user.check_password(DEMO_PASSWORD) for m in members)
    controller = members.get(role=Role.CONTROLLER).user
    europe = Organization.objects.get(slug=EUROPE_SLUG)
    assert Membership.objects.filter(organization=europe, user=controller).exists()
    assert Invoice.objects.filter(organization=europe).exists()

    # Customers: ~50, several countries, time zones, currencies and segments, owners.
    customers = Customer.objects.filter(organization=org)
    assert customers.count() == 50
    assert customers.values("country").distinct().count() >= 8
    assert customers.values("time_zone").distinct().count() >= 10
    assert {"USD", "EUR", "GBP", "CAD", "AUD", "JPY"} <= set(
        customers.values_list("currency", flat=True)
    )
    assert set(customers.values_list("segment", flat=True)) == {"enterprise", "mid-market", "smb"}
    assert len(set(customers.values_list("risk_score", flat=True))) > 10
    for role in (Role.SALES, Role.CSM):
        membership = members.get(role=role)
        assert customers_visible(membership=membership).count() >= 5

    # Contacts: one to three each, exactly one primary; a few suppressed with a reason.
    for customer in customers.annotate(n=Count("contacts")):
        assert 1 <= customer.n <= 3
        assert customer.contacts.filter(is_primary=True).count() == 1
    suppressed = Contact.objects.filter(organization=org).exclude(suppression_reason="")
    assert suppressed.count() >= 2
    assert suppressed.filter(suppressed_until__gt=timezone.now()).count() >= 1

    # Invoices: ~300 across every aging bucket and status, every currency of the customers.
    invoices = Invoice.objects.filter(organization=org)
    assert 250 <= invoices.count() <= 350
    statuses = Counter(invoices.values_list("status", flat=True))
    for status in (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID,
                   InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF):  # fmt: skip
        assert statuses[status] >= 2, status
    today = org_today(org)
    buckets = Counter(
        bucket_for((today - due).days).key
        for due in invoices.filter(status__in=OPEN_STATUSES).values_list("due_date", flat=True)
    )
    assert set(buckets) == {"current", "1_30", "31_60", "61_90", "90_plus"}
    assert min(buckets.values()) >= 3
    assert set(invoices.values_list("currency", flat=True)) == set(
        customers.values_list("currency", flat=True)
    )

    # Money rows and timelines agree; the story happens in the past, in order.
    for invoice in invoices:
        assert invoice.balance == invoice_balance_from_rows(invoice), invoice.number
    assert Payment.objects.filter(organization=org, allocated_amount=0).exists()  # on account
    zone = ZoneInfo(org.time_zone)
    for invoice in invoices:
        opening = invoice.timeline.order_by("at", "id").first()
        assert opening.kind in (TimelineEvent.Kind.CREATED, TimelineEvent.Kind.IMPORTED)
        assert opening.at.astimezone(zone).date() == invoice.issue_date
    assert not TimelineEvent.objects.filter(at__gt=timezone.now()).exists()
    kinds = set(TimelineEvent.objects.filter(organization=org).values_list("kind", flat=True))
    assert {"imported", "created", "email_drafted", "email_approved", "payment_recorded",
            "note", "voided", "written_off"} <= kinds  # fmt: skip
    # Honest demo: the cadence engine wrote the drafts; no email is claimed as sent unless the
    # outbox sent it.
    from plixo.comms.models import Message

    for event in TimelineEvent.objects.filter(organization=org, kind="email_sent"):
        assert Message.objects.filter(
            public_id=event.data["message"], status=Message.Status.SENT
        ).exists()
    assert Message.objects.filter(organization=org, status=Message.Status.DRAFT).count() >= 10
    queued = Message.objects.filter(organization=org, status=Message.Status.QUEUED)
    assert queued.filter(kind=Message.Kind.STEP).count() == 3
    # The schedule of the plan agreed on the phone, on its way to the payer.
    assert [m.purpose.split(":")[1] for m in queued.exclude(kind=Message.Kind.STEP)] == [
        "plan_accepted"
    ]
    # The Commitment Radar has work: a promise due today, a plan's installment due soon, and
    # the payers' proposals awaiting a decision.
    from plixo.commitments.selectors import commitment_radar

    radar = commitment_radar(membership=org_controller(org))
    badges = {label for item in radar.items for label, _ in item.badges}
    assert {"Due today", "Installment due soon"} <= badges
    assert len(radar.proposals) == 2
    paid = invoices.filter(status=InvoiceStatus.PAID).first()
    payment_event = paid.timeline.get(kind=TimelineEvent.Kind.PAYMENT_RECORDED)
    assert payment_event.at > paid.timeline.order_by("at").first().at

    # A second build changes nothing and costs a handful of queries.
    before = counts()
    with django_assert_max_num_queries(40):
        again = demo_build()
    assert again.created == []
    assert counts() == before


@pytest.mark.django_db
def test_demo_command_prints_every_login_and_restores_a_missing_one():
    out = StringIO()
    call_command("demo", "--no-serve", stdout=out, stderr=StringIO())
    banner = out.getvalue()
    assert DEMO_PASSWORD in banner
    for short in SHORT_NAMES:
        assert f"{short}@demo.plixo.test" in banner
    assert "Northwind Supply Europe" in banner

    User.objects.filter(email="legal@demo.plixo.test").delete()
    before = counts()
    call_command("demo", "--no-serve", stdout=StringIO(), stderr=StringIO())
    after = counts()
    legal = User.objects.get(email="legal@demo.plixo.test")
    assert legal.check_password(DEMO_PASSWORD)
    assert Membership.objects.get(user=legal).role == Role.LEGAL
    assert after["User"] == before["User"] + 1
    assert after["Invoice"] == before["Invoice"]
    # Each run prints a fresh payer link (only token hashes are stored, so an old one cannot be
    # shown again); issuing it is the one new event on the demo timeline.
    assert after["TimelineEvent"] == before["TimelineEvent"] + 1
    assert "Payer portal link (single use): http" in banner


def _sleeper(seconds: float) -> list[str]:
    return [sys.executable, "-c", f"import time; time.sleep({seconds})"]


def test_supervisor_stops_everything_when_the_web_server_stops():
    messages = []
    supervisor = Supervisor(
        children=[
            Child("web server", [sys.executable, "-c", "raise SystemExit(3)"], essential=True),
            Child("worker", _sleeper(60)),
            Child("scheduler", [sys.executable, "-c", "raise SystemExit(1)"]),
        ],
        write=messages.append,
        grace_seconds=5,
    )
    supervisor.start()
    try:
        assert supervisor.watch(poll_seconds=0.05) == 3
    finally:
        supervisor.stop()
    assert all(child.process.poll() is not None for child in supervisor.children)
    assert any("web server stopped (exit code 3)" in m for m in messages)


def test_supervisor_restarts_a_worker_that_dies_and_gives_up_when_it_keeps_dying(tmp_path):
    starts = tmp_path / "starts"
    crashing = [sys.executable, "-c", f"open({str(starts)!r}, 'a').write('x'); raise SystemExit(1)"]
    web = [sys.executable, "-c", "import time; time.sleep(3); raise SystemExit(0)"]
    messages = []
    supervisor = Supervisor(
        children=[Child("web server", web, essential=True), Child("worker", crashing)],
        write=messages.append,
        grace_seconds=5,
        restart_limit=3,
    )
    supervisor.start()
    try:
        supervisor.watch(poll_seconds=0.05)
    finally:
        supervisor.stop()
    assert starts.read_text() == "xxxx"  # the first start and three restarts
    assert sum("starting it again" in m for m in messages) == 3
    assert any("it is not restarted again" in m for m in messages)


def test_supervisor_kills_a_child_that_ignores_sigterm():
    stubborn = [
        sys.executable,
        "-c",
        "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)",
    ]
    supervisor = Supervisor(children=[Child("worker", stubborn)], write=print, grace_seconds=1)
    supervisor.start()
    time.sleep(0.5)
    started = time.monotonic()
    supervisor.stop()
    assert supervisor.children[0].process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 10


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _children_of(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def test_plixo_demo_serves_and_sigterm_stops_all_processes(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="plixo.settings.dev", PLIXO_DATA_DIR=str(tmp_path))
    demo = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "plixo.cli", "demo", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and demo.poll() is None and port_is_free(port):
            time.sleep(0.5)
        assert demo.poll() is None, demo.stdout.read()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/admin/login/", timeout=10) as page:  # noqa: S310
            assert page.status == 200
        # Plixo's own error page with its request id, never Django's debug page of URLs.
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page/", timeout=10)  # noqa: S310
        body = missing.value.read().decode()
        assert missing.value.code == 404 and "Request ID" in body and "URLconf" not in body
        css = f"http://127.0.0.1:{port}/static/plixo/plixo.css"
        with urllib.request.urlopen(css, timeout=10) as sheet:  # noqa: S310
            assert sheet.status == 200
        children = _children_of(demo.pid)
        assert len(children) == 3
    finally:
        demo.send_signal(signal.SIGTERM)
        output, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, output
    assert "Plixo demo is running at" in output
    assert "operator@demo.plixo.test" in output
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_demo_has_promises_plans_and_disputes_through_the_services(db):
    from plixo.commitments.models import PaymentPlan, Promise
    from plixo.disputes.models import Dispute, DisputeAttachment
    from plixo.ledger.models import Invoice
    from plixo.seeding.demo import demo_build

    demo_build()
    assert Promise.objects.filter(organization__slug="demo").count() == 4
    plans = PaymentPlan.objects.filter(organization__slug="demo")
    assert sorted(plans.values_list("status", flat=True)) == ["approved", "proposed", "proposed"]
    disputes = Dispute.objects.filter(organization__slug="demo")
    assert disputes.count() == 2 and DisputeAttachment.objects.count() == 1
    for dispute in disputes:
        assert dispute.invoice.status == "disputed"
        assert dispute.invoice.timeline.filter(kind="dispute_filed").exists()
    assert Invoice.objects.filter(organization__slug="demo", status="disputed").count() == 2


def test_demo_reports_convert_every_currency_at_a_rate_of_today(db):
    from plixo.ledger.models import Invoice
    from plixo.reports.models import ExchangeRate
    from plixo.seeding.demo import demo_build

    demo_build()
    for slug, base in (("demo", "USD"), ("northwind-eu", "EUR")):
        invoiced = set(
            Invoice.objects.filter(organization__slug=slug).values_list("currency", flat=True)
        ) - {base}
        rates = ExchangeRate.objects.filter(organization__slug=slug)
        assert invoiced and set(rates.values_list("currency", flat=True)) == invoiced
        assert {rate.base_currency for rate in rates} == {base}
        latest = rates.order_by("-on").first()
        assert (latest.on - rates.order_by("on").first().on).days == 180


@pytest.mark.django_db
def test_a_demo_built_just_after_midnight_keeps_todays_invoices_on_today():
    """The story's events are clamped to just before now; in the first minutes of the
    organization's day that used to put today's invoices on yesterday."""
    import datetime as dt

    import time_machine

    just_after_midnight_in_new_york = dt.datetime(2026, 12, 1, 5, 1, 30, tzinfo=dt.UTC)
    with time_machine.travel(just_after_midnight_in_new_york, tick=False):
        demo_build()
        org = Organization.objects.get(slug=DEMO_SLUG)
        zone = ZoneInfo(org.time_zone)
        for invoice in Invoice.objects.filter(organization=org):
            opening = invoice.timeline.order_by("at", "id").first()
            assert opening.at.astimezone(zone).date() == invoice.issue_date, invoice.number
            assert opening.at <= timezone.now()


def org_controller(org):
    from plixo.core.models import Membership, Role

    return Membership.objects.get(organization=org, role=Role.CONTROLLER, is_active=True)
