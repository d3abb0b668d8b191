"""Limits: who a decision's amount is covered for, the boundary, currencies and routing."""

from decimal import Decimal

import pytest

from plixo.approvals.limits import (
    approval_check,
    effective_limit,
    route_for,
    to_base_currency,
)
from plixo.approvals.models import ApprovalError
from plixo.approvals.services import approval_route_set, role_limit_set
from plixo.core.models import AuditEvent, Role


def check(personas, member, amount, currency="USD", kind="write_off"):
    return approval_check(
        organization=personas.org,
        actor=member.user,
        kind=kind,
        amount=Decimal(amount),
        currency=currency,
    )


def test_exactly_at_the_limit_passes_and_a_cent_above_needs_approval(personas, manager):
    assert check(personas, manager, "1000.00") is None
    guardrail = check(personas, manager, "1000.01")
    assert guardrail is not None
    assert guardrail.route_to == Role.CONTROLLER


def test_the_guardrail_says_what_triggered_it(personas, manager):
    guardrail = check(personas, manager, "1704.77")
    assert guardrail.message == (
        "Write-off of $1,704.77 exceeds your $1,000.00 limit — Controller approval required"
    )
    assert guardrail.amount_in_base == Decimal("1704.77")


def test_the_controller_has_no_limit(personas, controller):
    assert effective_limit(membership=controller) is None
    assert check(personas, controller, "999999999.00") is None
    assert check(personas, controller, "5000.00", currency="EUR") is None


def test_a_role_default_raises_the_members_limit(personas, manager, controller):
    role_limit_set(
        organization=personas.org,
        role=Role.AR_MANAGER,
        amount="5000.00",
        actor=controller.user,
        reason="Managers settle up to $5k",
    )
    assert effective_limit(membership=manager) == Decimal("5000.00")
    assert check(personas, manager, "1704.77") is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.LIMIT_CHANGED)
    assert event.reason == "Managers settle up to $5k"
    assert event.after["approval_limit"] == "5000.00"
    assert "A/R Manager" in event.after["applies_to"]


def test_a_members_own_higher_limit_wins_over_the_role_default(personas, manager, controller):
    role_limit_set(
        organization=personas.org,
        role=Role.AR_MANAGER,
        amount="500.00",
        actor=controller.user,
        reason="Policy",
    )
    assert effective_limit(membership=manager) == Decimal("1000.00")


def test_a_role_limit_change_needs_a_reason(personas, controller):
    with pytest.raises(ApprovalError, match="Say why"):
        role_limit_set(
            organization=personas.org,
            role=Role.AR_MANAGER,
            amount="5000.00",
            actor=controller.user,
            reason="  ",
        )


def test_another_currency_is_never_converted_at_one(personas, manager):
    assert to_base_currency(organization=personas.org, amount=Decimal("10"), currency="EUR") is None
    guardrail = check(personas, manager, "10.00", currency="EUR")
    assert guardrail is not None, "a missing rate must not pass as 1:1"
    assert "No EUR→USD exchange rate" in guardrail.message
    assert guardrail.message.endswith("Controller approval required")
    assert guardrail.amount_in_base is None


def test_routing_by_kind_and_threshold(personas, controller):
    org = personas.org

    def set_rule(kind, above, to):
        approval_route_set(
            organization=org,
            kind=kind,
            amount_above=above,
            route_to=to,
            actor=controller.user,
            reason="Routing policy",
        )

    assert route_for(organization=org, kind="write_off", amount_in_base=Decimal("9"))[0] == (
        Role.CONTROLLER
    )
    set_rule("write_off", "50000.00", Role.LEGAL)
    route = lambda amount: route_for(  # noqa: E731
        organization=org, kind="write_off", amount_in_base=amount
    )[0]
    assert route(Decimal("50000.00")) == Role.CONTROLLER  # "above" is strictly above
    assert route(Decimal("50000.01")) == Role.LEGAL
    assert route(None) == Role.CONTROLLER  # no rate: a threshold cannot match
    assert (
        route_for(organization=org, kind="plan", amount_in_base=Decimal("60000"))[0]
        == Role.CONTROLLER
    )
    set_rule("", None, Role.LEGAL)  # everything else to Legal
    assert route(Decimal("10")) == Role.LEGAL
    assert route_for(organization=org, kind="plan", amount_in_base=None)[0] == Role.LEGAL
    set_rule("write_off", "1000.00", Role.CONTROLLER)
    assert route(Decimal("2000")) == Role.CONTROLLER  # the kind's rule beats "any"
    assert route(Decimal("60000")) == Role.LEGAL  # the highest threshold that matches
    assert AuditEvent.objects.filter(action=AuditEvent.Action.APPROVAL_ROUTE_CHANGED).count() == 3


def test_a_guardrail_names_the_routing_rule(personas, manager, controller):
    approval_route_set(
        organization=personas.org,
        kind="write_off",
        amount_above="1500.00",
        route_to=Role.LEGAL,
        actor=controller.user,
        reason="Large write-offs to Legal",
    )
    guardrail = check(personas, manager, "1704.77")
    assert guardrail.route_to == Role.LEGAL
    assert guardrail.message == (
        "Write-off of $1,704.77 exceeds your $1,000.00 limit — Legal approval required "
        "(write-offs above $1,500.00 go to Legal)"
    )


def test_another_currency_converts_at_the_latest_imported_rate(personas, manager):
    import datetime as dt

    from plixo.ledger.selectors import org_today
    from plixo.reports.models import ExchangeRate

    today = org_today(personas.org)
    for days, rate in ((5, "1.00"), (1, "1.10"), (-1, "9.99")):  # the future one is not used
        ExchangeRate.objects.create(
            organization=personas.org,
            on=today - dt.timedelta(days=days),
            currency="EUR",
            base_currency="USD",
            rate=Decimal(rate),
        )
    # €10.005 is not an amount; €9.09 × 1.10 = $9.999, rounded up to $10.00.
    assert to_base_currency(
        organization=personas.org, amount=Decimal("9.09"), currency="EUR"
    ) == Decimal("10.00")
    guardrail = check(personas, manager, "1000000.00", currency="EUR")
    assert guardrail is not None and guardrail.amount_in_base == Decimal("1100000.00")
    assert "No EUR" not in guardrail.message
