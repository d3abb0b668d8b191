"""Writes of an organization's dispute settings: SLA targets, business hours, time zone,
holidays and routing rules. New settings apply to disputes opened from then on; a deadline
already set stays what the dispute was promised."""

import datetime as dt
import zoneinfo

from django.db import IntegrityError, transaction
from django.db.models import Max

from plixo.core.models import Organization, User
from plixo.core.money import MoneyError, is_currency, parse_amount
from plixo.core.text import date_problem, text_problem
from plixo.disputes.models import (
    MAX_TARGET_HOURS,
    ROUTABLE_TEAMS,
    DisputeHoliday,
    DisputeRoutingRule,
    DisputeSettings,
    ReasonCode,
)
from plixo.disputes.workflow import assignable_check
from plixo.ledger.models import LedgerError

MAX_HOLIDAYS = 400
MAX_RULES = 50


def _hours_check(value, what: str) -> int:
    try:
        hours = int(value)
    except (TypeError, ValueError) as exc:
        raise LedgerError(f"{what} must be a whole number of hours.") from exc
    if not 1 <= hours <= MAX_TARGET_HOURS:
        raise LedgerError(f"{what} must be between 1 and {MAX_TARGET_HOURS:,} business hours.")
    return hours


@transaction.atomic
def dispute_settings_save(
    *,
    organization: Organization,
    actor: User | None,
    default_target_hours: int,
    reason_targets: dict[str, int | None],
    business_hours: dict[int, tuple[dt.time, dt.time] | None],
    time_zone: str,
    due_soon_hours: int,
) -> DisputeSettings:
    """Save the SLA settings. At least one weekday must have working hours."""
    default_target_hours = _hours_check(default_target_hours, "The default target")
    due_soon_hours = _hours_check(due_soon_hours, "The due-soon warning")
    targets = {}
    for code, hours in (reason_targets or {}).items():
        if code not in ReasonCode.values:
            raise LedgerError(f"Unknown reason {code!r}.")
        if hours in (None, ""):
            continue
        targets[code] = _hours_check(hours, f"The target for “{ReasonCode(code).label}”")
    windows = {}
    for day in range(7):
        pair = business_hours.get(day)
        if pair is None:
            windows[str(day)] = None
            continue
        start, end = pair
        if not isinstance(start, dt.time) or not isinstance(end, dt.time):
            raise LedgerError("Working hours are times such as 09:00.")
        windows[str(day)] = [start.strftime("%H:%M"), end.strftime("%H:%M")]
    if not any(windows.values()):
        raise LedgerError("Set working hours for at least one weekday: SLA hours run only then.")
    time_zone = (time_zone or "").strip()
    if time_zone and time_zone not in zoneinfo.available_timezones():
        raise LedgerError(f"{time_zone!r} is not an IANA time zone such as Europe/Berlin.")
    settings, _ = DisputeSettings.objects.select_for_update().get_or_create(
        organization=organization
    )
    settings.default_target_hours = default_target_hours
    settings.reason_targets = targets
    settings.business_hours = windows
    settings.time_zone = time_zone
    settings.due_soon_hours = due_soon_hours
    settings.updated_by = actor
    settings.save()
    return settings


def _name_check(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise LedgerError("Name the holiday.")
    if len(name) > 100:
        raise LedgerError("A holiday's name is at most 100 characters.")
    if problem := text_problem(name, single_line=True):
        raise LedgerError(f"The name {problem}.")
    return name


@transaction.atomic
def holiday_add(
    *, organization: Organization, day: dt.date, name: str, actor: User | None
) -> DisputeHoliday:
    if not isinstance(day, dt.date) or (problem := date_problem(day)):
        raise LedgerError(f"The date {problem or 'is not a date'}.")
    name = _name_check(name)
    if DisputeHoliday.objects.filter(organization=organization).count() >= MAX_HOLIDAYS:
        raise LedgerError(f"At most {MAX_HOLIDAYS} holidays; remove past ones first.")
    try:
        with transaction.atomic():
            return DisputeHoliday.objects.create(organization=organization, day=day, name=name)
    except IntegrityError as exc:
        raise LedgerError(f"{day:%b %-d, %Y} is already a holiday.") from exc


@transaction.atomic
def holiday_delete(*, holiday: DisputeHoliday, actor: User | None) -> None:
    holiday.delete()


@transaction.atomic
def routing_rule_add(
    *,
    organization: Organization,
    route_to: str,
    actor: User | None,
    reason_code: str = "",
    amount_at_least=None,
    currency: str = "",
    assignee: User | None = None,
) -> DisputeRoutingRule:
    """Add a rule at the end of the list: by reason, by an amount at or above a threshold in
    one currency, or both; it routes to a team and optionally assigns a member."""
    if route_to not in [team.value for team in ROUTABLE_TEAMS]:
        raise LedgerError("Route to Legal, Sales, A/R or the A/R Manager.")
    if reason_code and reason_code not in ReasonCode.values:
        raise LedgerError(f"Unknown reason {reason_code!r}.")
    currency = (currency or "").strip().upper()
    if amount_at_least in (None, ""):
        amount_at_least, currency = None, ""
    else:
        if not is_currency(currency):
            raise LedgerError("An amount threshold needs its currency (an ISO 4217 code).")
        try:
            amount_at_least = parse_amount(amount_at_least, currency)
        except MoneyError as exc:
            raise LedgerError(f"The threshold: {exc}") from exc
        if amount_at_least <= 0:
            raise LedgerError("The threshold must be more than zero.")
    if not reason_code and amount_at_least is None:
        raise LedgerError("A rule needs a reason, an amount threshold, or both.")
    if assignee is not None:
        from plixo.core.models import Membership

        if not Membership.objects.filter(
            organization=organization, user=assignee, is_active=True
        ).exists():
            raise LedgerError("Only an active member of the organization can be assigned.")
    rules = DisputeRoutingRule.objects.select_for_update().filter(organization=organization)
    if rules.count() >= MAX_RULES:
        raise LedgerError(f"At most {MAX_RULES} routing rules.")
    position = (rules.aggregate(last=Max("position"))["last"] or 0) + 1
    return DisputeRoutingRule.objects.create(
        organization=organization,
        position=position,
        reason_code=reason_code or "",
        amount_at_least=amount_at_least,
        currency=currency,
        route_to=route_to,
        assignee=assignee,
    )


@transaction.atomic
def routing_rule_delete(*, rule: DisputeRoutingRule, actor: User | None) -> None:
    rule.delete()


@transaction.atomic
def routing_rule_move(*, rule: DisputeRoutingRule, up: bool, actor: User | None) -> None:
    """Swap the rule with its neighbour above (or below): rules are tried in order."""
    rules = list(
        DisputeRoutingRule.objects.select_for_update()
        .filter(organization_id=rule.organization_id)
        .order_by("position", "id")
    )
    index = next(i for i, found in enumerate(rules) if found.pk == rule.pk)
    other = index - 1 if up else index + 1
    if not 0 <= other < len(rules):
        return
    rules[index], rules[other] = rules[other], rules[index]
    for position, found in enumerate(rules, start=1):
        if found.position != position:
            found.position = position
            found.save(update_fields=["position"])


__all__ = [
    "assignable_check",
    "dispute_settings_save",
    "holiday_add",
    "holiday_delete",
    "routing_rule_add",
    "routing_rule_delete",
    "routing_rule_move",
]
