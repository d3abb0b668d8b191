"""The tick (COMMS-3): due work found through the indexed next-action time, one draft per invoice
per step, late joiners get only the latest step, steps come on their day, auto-send cadences
queue, segment rules assign cadences in priority order."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, connection, transaction

from plixo.comms.models import Cadence, CadenceEnrollment, CadenceStep, Message, SegmentRule
from plixo.comms.services import cadence_tick, default_cadences_ensure
from plixo.comms.services.enrollment import _due_enrollments
from plixo.ledger.models import TimelineEvent
from tests.comms.conftest import NOON_NY, invoice_due
from tests.factories import CustomerFactory

TODAY = NOON_NY.date()  # Tuesday 2026-03-03


def _cadence(org, name, offsets, *, approval=True, default=False):
    cadence = Cadence.objects.create(
        organization=org, name=name, requires_approval=approval, is_default=default
    )
    for offset in offsets:
        CadenceStep.objects.create(
            cadence=cadence,
            offset_days=offset,
            subject=f"{name} {offset:+d}: {{invoice_number}}",
            body="Hello {contact_name}, {amount_due} is open. {pay_link}",
        )
    return cadence


def test_running_the_tick_twice_creates_nothing_new(personas, customer, contact, sending, clock):
    invoice = invoice_due(customer, TODAY - dt.timedelta(days=4))
    first = cadence_tick()
    assert first.drafted == 1
    second = cadence_tick()
    assert (second.drafted, second.queued, second.evaluated) == (0, 0, 0)
    assert Message.objects.filter(invoice=invoice).count() == 1
    assert TimelineEvent.objects.filter(invoice=invoice, kind="email_drafted").count() == 1


def test_the_database_refuses_a_second_message_for_the_same_step(
    personas, customer, contact, sending, clock
):
    invoice = invoice_due(customer, TODAY - dt.timedelta(days=4))
    cadence_tick()
    draft = Message.objects.get(invoice=invoice)
    with pytest.raises(IntegrityError), transaction.atomic():
        Message.objects.create(
            organization=draft.organization,
            invoice=invoice,
            purpose=draft.purpose,
            idempotency_key="another-key",
            subject="Duplicate",
            body="Duplicate",
        )


def test_due_work_is_found_through_the_next_action_index(personas, customer, contact, clock):
    soon = invoice_due(customer, TODAY + dt.timedelta(days=10))
    cadence_tick()
    enrollment = CadenceEnrollment.objects.get(invoice=soon)
    # The step 3 days before the due date, at 06:00 in the organization's zone (New York,
    # already on summer time: UTC-4).
    assert enrollment.next_action_at == dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC)
    assert _due_enrollments(NOON_NY, 1000) == []
    assert [e.pk for e in _due_enrollments(enrollment.next_action_at, 1000)] == [enrollment.pk]
    if connection.vendor == "sqlite":
        qs = CadenceEnrollment.objects.filter(next_action_at__lte=NOON_NY).order_by(
            "next_action_at", "pk"
        )
        sql, params = qs.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "enrollment_due_idx" in plan, plan


def test_an_invoice_imported_60_days_overdue_gets_only_the_latest_step(
    personas, customer, contact, sending, clock
):
    invoice = invoice_due(customer, TODAY - dt.timedelta(days=60))
    result = cadence_tick()
    messages = list(Message.objects.filter(invoice=invoice))
    assert len(messages) == 1
    assert messages[0].step.offset_days == 30  # Friendly: -3, +3, +14, +30
    assert result.drafted == 1
    event = TimelineEvent.objects.get(invoice=invoice, kind="email_drafted")
    assert event.data["earlier_steps_skipped"] == 3
    enrollment = CadenceEnrollment.objects.get(invoice=invoice)
    assert enrollment.state == CadenceEnrollment.State.FINISHED
    assert enrollment.next_action_at is None
    assert cadence_tick().drafted == 0


def test_a_future_invoice_waits_for_its_first_step_then_each_step_on_its_day(
    personas, customer, contact, sending, clock
):
    due = TODAY + dt.timedelta(days=10)  # 2026-03-13
    invoice = invoice_due(customer, due)
    assert cadence_tick().drafted == 0
    assert not Message.objects.filter(invoice=invoice).exists()

    def offsets():
        return sorted(m.step.offset_days for m in Message.objects.filter(invoice=invoice))

    # The day before the first step (-3), at noon: still nothing.
    clock.move_to(dt.datetime(2026, 3, 9, 16, 0, tzinfo=dt.UTC))
    assert cadence_tick().drafted == 0
    # 06:00 New York on 2026-03-10 (EDT, so 10:00 UTC): the -3 step.
    clock.move_to(dt.datetime(2026, 3, 10, 10, 0, tzinfo=dt.UTC))
    assert cadence_tick().drafted == 1
    assert offsets() == [-3]
    clock.move_to(dt.datetime(2026, 3, 15, 16, 0, tzinfo=dt.UTC))  # due + 2
    assert cadence_tick().drafted == 0
    clock.move_to(dt.datetime(2026, 3, 16, 16, 0, tzinfo=dt.UTC))  # due + 3
    assert cadence_tick().drafted == 1
    assert offsets() == [-3, 3]
    assert cadence_tick().drafted == 0


def test_an_auto_send_cadence_queues_instead_of_drafting(
    personas, customer, contact, sending, clock
):
    _cadence(personas.org, "Automatic", [3], approval=False, default=True)
    invoice = invoice_due(customer, TODAY - dt.timedelta(days=4))
    result = cadence_tick()
    assert (result.drafted, result.queued) == (0, 1)
    message = Message.objects.get(invoice=invoice)
    assert message.status == Message.Status.QUEUED
    assert message.requires_approval is False
    assert message.send_after == NOON_NY
    assert TimelineEvent.objects.filter(invoice=invoice, kind="email_queued").count() == 1


def test_segment_rules_assign_cadences_in_priority_order_with_the_default_as_fallback(
    personas, customer, contact, sending, clock
):
    org = personas.org
    default_cadences_ensure(org)
    fallback = Cadence.objects.get(organization=org, is_default=True)
    firm = _cadence(org, "Mid-market firm", [1])
    gentle = _cadence(org, "Mid-market gentle", [2])
    # Both match a mid-market invoice; the lower priority number wins, whatever the order of
    # creation.
    SegmentRule.objects.create(
        organization=org, cadence=gentle, name="Second", priority=20, segment="mid-market"
    )
    SegmentRule.objects.create(
        organization=org, cadence=firm, name="First", priority=10, segment="Mid-Market"
    )
    smb = CustomerFactory(organization=org, segment="smb", time_zone="America/New_York")
    mid_invoice = invoice_due(customer, TODAY - dt.timedelta(days=5))
    smb_invoice = invoice_due(smb, TODAY - dt.timedelta(days=5))
    cadence_tick()
    assert CadenceEnrollment.objects.get(invoice=mid_invoice).cadence == firm
    assert CadenceEnrollment.objects.get(invoice=smb_invoice).cadence == fallback
    assert Message.objects.get(invoice=mid_invoice).step.cadence == firm


def test_amount_rules_only_match_their_currency(personas, customer, contact, sending, clock):
    org = personas.org
    default_cadences_ensure(org)
    fallback = Cadence.objects.get(organization=org, is_default=True)
    big = _cadence(org, "Large EUR balances", [1])
    SegmentRule.objects.create(
        organization=org,
        cadence=big,
        name="EUR over 1,000",
        priority=1,
        currency="EUR",
        min_amount=Decimal("1000"),
    )
    euro = CustomerFactory(organization=org, currency="EUR", country="DE")
    eur_big = invoice_due(euro, TODAY - dt.timedelta(days=5), amount="5000.00", currency="EUR")
    eur_small = invoice_due(euro, TODAY - dt.timedelta(days=5), amount="500.00", currency="EUR")
    usd_big = invoice_due(customer, TODAY - dt.timedelta(days=5), amount="5000.00")
    cadence_tick()
    assert CadenceEnrollment.objects.get(invoice=eur_big).cadence == big
    assert CadenceEnrollment.objects.get(invoice=eur_small).cadence == fallback
    # 5,000 USD is above 1,000 — but dollars are never compared with euros.
    assert CadenceEnrollment.objects.get(invoice=usd_big).cadence == fallback


def test_tick_at_a_fixed_instant_is_independent_of_the_wall_clock(
    personas, customer, contact, sending
):
    with time_machine.travel(NOON_NY, tick=False):
        invoice = invoice_due(customer, TODAY - dt.timedelta(days=4))
    # `now` passed explicitly (as the job does) decides what is due.
    # Two days after the due date only the -3 step has fallen due; on the fourth day the +3.
    assert cadence_tick(now=NOON_NY - dt.timedelta(days=2)).drafted == 1
    assert [m.step.offset_days for m in Message.objects.filter(invoice=invoice)] == [-3]
    assert cadence_tick(now=NOON_NY).drafted == 1
    assert sorted(m.step.offset_days for m in Message.objects.filter(invoice=invoice)) == [-3, 3]


def test_an_invoice_that_commits_behind_the_watermark_is_enrolled_from_its_gap(personas, clock):
    """On PostgreSQL an invoice can commit after one with a higher id. The tick notes the ids it
    passed over and enrols what appears there later."""
    from plixo.comms.models import CadenceEnrollment, TickState
    from plixo.comms.services import cadence_tick
    from tests.factories import CustomerFactory, InvoiceFactory

    customer = CustomerFactory(organization=personas.org)
    first = InvoiceFactory(customer=customer, organization=personas.org)
    # An id is taken but its invoice is not committed yet: simulate by creating the next one
    # with an id two above, ticking, then creating the skipped id.
    late_id = first.pk + 1
    InvoiceFactory(customer=customer, organization=personas.org, id=first.pk + 2)
    cadence_tick()
    # (On PostgreSQL ids do not restart between tests: earlier gaps may be listed too.)
    assert [late_id, late_id] in [gap[:2] for gap in TickState.objects.get(pk=1).gaps]
    late = InvoiceFactory(customer=customer, organization=personas.org, id=late_id)
    assert not CadenceEnrollment.objects.filter(invoice=late).exists()
    cadence_tick()
    assert CadenceEnrollment.objects.filter(invoice=late).exists()
