"""A new dispute gets its SLA deadline in the organization's business hours and is routed by
the first matching rule, whatever path filed it; routing is on the invoice's timeline."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.disputes.configuration import (
    dispute_settings_save,
    holiday_add,
    routing_rule_add,
    routing_rule_move,
)
from plixo.disputes.models import DisputeRoutingRule, DisputeSource
from plixo.disputes.services import dispute_file
from plixo.disputes.sla import SlaClock
from plixo.ledger.models import LedgerError, TimelineEvent
from tests.disputes.conftest import TUESDAY_10_NY
from tests.factories import InvoiceFactory

pytestmark = pytest.mark.django_db
UTC = dt.UTC


def file(invoice, **extra):
    args = {
        "invoice": invoice,
        "reason_code": "pricing",
        "amount": "100.00",
        "description": "Unit price differs from the contract.",
    }
    return dispute_file(**{**args, **extra})


def test_default_sla_is_24_business_hours_in_the_org_time_zone(open_invoice, personas):
    dispute = file(open_invoice, actor=personas.operator.user)
    # Tuesday 10:00 New York + 24 business hours (09:00–17:00, Mon–Fri) = Friday 10:00 EST.
    assert dispute.sla_due_at == dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize("source", [s.value for s in DisputeSource])
def test_every_path_that_files_a_dispute_gets_a_deadline(open_invoice, source):
    dispute = file(open_invoice, source=source, actor_label="someone")
    assert dispute.sla_due_at is not None


def test_reason_targets_holidays_and_weekends_shape_the_deadline(open_invoice, personas, ny_org):
    hours = {day: (dt.time(9), dt.time(17)) if day < 5 else None for day in range(7)}
    dispute_settings_save(
        organization=ny_org,
        actor=personas.controller.user,
        default_target_hours=24,
        reason_targets={"already_paid": 4, "pricing": 16},
        business_hours=hours,
        time_zone="",
        due_soon_hours=4,
    )
    holiday_add(organization=ny_org, day=dt.date(2026, 3, 4), name="Founders' day", actor=None)
    paid = file(open_invoice, reason_code="already_paid")
    # 4 h from Tuesday 10:00 = Tuesday 14:00 EST.
    assert paid.sla_due_at == dt.datetime(2026, 3, 3, 19, 0, tzinfo=UTC)
    pricing = file(open_invoice, amount="50.00")
    # 16 h: 7 on Tuesday, Wednesday is a holiday, 8 on Thursday, 1 on Friday → Friday 10:00.
    assert pricing.sla_due_at == dt.datetime(2026, 3, 6, 15, 0, tzinfo=UTC)
    other = file(open_invoice, reason_code="other", amount="10.00")
    # the 24 h default: Tuesday 7 + Thursday 8 + Friday 8 + Monday 1 → Monday 10:00 EST.
    assert other.sla_due_at == dt.datetime(2026, 3, 9, 14, 0, tzinfo=UTC)


def test_the_settings_time_zone_overrides_the_organizations(open_invoice, personas, ny_org):
    hours = {day: (dt.time(9), dt.time(17)) for day in range(7)}
    dispute_settings_save(
        organization=ny_org,
        actor=None,
        default_target_hours=2,
        reason_targets={},
        business_hours=hours,
        time_zone="Europe/Berlin",
        due_soon_hours=1,
    )
    # 15:00 UTC is 16:00 in Berlin: one hour today, one from 09:00 Berlin (08:00 UTC) tomorrow.
    assert file(open_invoice).sla_due_at == dt.datetime(2026, 3, 4, 9, 0, tzinfo=UTC)


def test_settings_refuse_a_week_without_working_hours(ny_org):
    with pytest.raises(LedgerError, match="at least one weekday"):
        dispute_settings_save(
            organization=ny_org,
            actor=None,
            default_target_hours=24,
            reason_targets={},
            business_hours={day: None for day in range(7)},
            time_zone="",
            due_soon_hours=4,
        )


def test_first_matching_rule_routes_and_assigns_on_the_timeline(open_invoice, personas, ny_org):
    legal = personas.members["legal"].user
    routing_rule_add(organization=ny_org, route_to="sales", reason_code="quantity", actor=None)
    routing_rule_add(
        organization=ny_org,
        route_to="legal",
        amount_at_least="500.00",
        currency="USD",
        assignee=legal,
        actor=None,
    )
    routing_rule_add(organization=ny_org, route_to="ar_manager", reason_code="pricing", actor=None)

    big = file(open_invoice, amount="600.00")
    assert (big.routed_to, big.assignee) == ("legal", legal)
    event = TimelineEvent.objects.filter(invoice=open_invoice, kind="dispute_routed").latest("id")
    assert event.data["team"] == "Legal"
    assert event.data["assignee"] == str(legal)
    assert event.data["dispute"] == str(big.public_id)
    assert "at least $500.00" in event.data["rule"]

    small = file(open_invoice, amount="100.00")
    assert (small.routed_to, small.assignee) == ("ar_manager", None)
    quantity = file(open_invoice, reason_code="quantity", amount="700.00")
    assert quantity.routed_to == "sales"  # first in order, though the amount rule matches too


def test_amount_rules_match_only_their_currency(customer, ny_org, clock):
    routing_rule_add(
        organization=ny_org, route_to="legal", amount_at_least="500", currency="USD", actor=None
    )
    eur = InvoiceFactory(customer=customer, currency="EUR", amount=Decimal("5000.00"))
    dispute = file(eur, amount="4000.00")
    assert dispute.routed_to == ""
    assert not TimelineEvent.objects.filter(invoice=eur, kind="dispute_routed").exists()


def test_moving_a_rule_changes_which_wins(open_invoice, ny_org):
    routing_rule_add(organization=ny_org, route_to="sales", reason_code="pricing", actor=None)
    second = routing_rule_add(
        organization=ny_org, route_to="legal", reason_code="pricing", actor=None
    )
    routing_rule_move(rule=second, up=True, actor=None)
    assert list(DisputeRoutingRule.objects.values_list("route_to", flat=True)) == [
        "legal",
        "sales",
    ]
    assert file(open_invoice).routed_to == "legal"


def test_a_rule_needs_a_condition_and_a_threshold_needs_its_currency(ny_org):
    with pytest.raises(LedgerError, match="needs a reason"):
        routing_rule_add(organization=ny_org, route_to="legal", actor=None)
    with pytest.raises(LedgerError, match="currency"):
        routing_rule_add(organization=ny_org, route_to="legal", amount_at_least="5", actor=None)
    with pytest.raises(LedgerError, match="Route to"):
        routing_rule_add(
            organization=ny_org, route_to="controller", reason_code="other", actor=None
        )


def test_a_rule_assignee_who_left_is_not_assigned(open_invoice, personas, ny_org):
    legal = personas.members["legal"]
    routing_rule_add(
        organization=ny_org,
        route_to="legal",
        reason_code="pricing",
        assignee=legal.user,
        actor=None,
    )
    legal.is_active = False
    legal.save(update_fields=["is_active"])
    dispute = file(open_invoice)
    assert (dispute.routed_to, dispute.assignee) == ("legal", None)


def test_sla_clock_states(open_invoice, ny_org, clock):
    dispute = file(open_invoice, reason_code="pricing")
    clock_now = SlaClock(ny_org)
    state = clock_now.state(dispute.sla_due_at)
    assert state.left == dt.timedelta(hours=24)
    assert not state.due_soon and not state.breached
    assert state.text == "24 h left"
    # Friday 07:00 New York: only 09:00–10:00 is left of the target, one hour: due soon.
    clock.move_to(dt.datetime(2026, 3, 6, 12, 0, tzinfo=UTC))
    state = SlaClock(ny_org).state(dispute.sla_due_at)
    assert state.left == dt.timedelta(hours=1) and state.due_soon
    clock.move_to(dt.datetime(2026, 3, 9, 15, 0, tzinfo=UTC))  # Monday 11:00 EDT
    state = SlaClock(ny_org).state(dispute.sla_due_at)
    assert state.breached and state.text == "Overdue by 9 h"
    assert dispute.sla_due_at > TUESDAY_10_NY
