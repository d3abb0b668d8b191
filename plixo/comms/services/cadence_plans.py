"""What the cadence engine knows of an organization for one run (its cadences, their active
steps, its segment rules, its time zone), and which cadence an invoice gets."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

import structlog

from plixo.comms.models import (
    Cadence,
    CadenceStep,
    SegmentRule,
)
from plixo.comms.services.setup import default_cadences_ensure
from plixo.core.models import Organization
from plixo.ledger.models import OPEN_STATUSES, Invoice

log = structlog.get_logger("plixo.comms")


# Drafts for a day's steps are written at this local time of the organization, so operators
# find them in the morning; the send window decides when they actually go.
DRAFT_HOUR = dt.time(6, 0)


@dataclass
class OrgPlan:
    organization: Organization
    zone: ZoneInfo
    default: Cadence | None
    cadences: dict[int, Cadence]
    steps: dict[int, list[CadenceStep]]  # cadence id -> active steps by offset
    rules: list[SegmentRule]

    def today(self, now: dt.datetime) -> dt.date:
        return now.astimezone(self.zone).date()

    def at(self, day: dt.date, when: dt.time = DRAFT_HOUR) -> dt.datetime:
        return dt.datetime.combine(day, when).replace(tzinfo=self.zone).astimezone(dt.UTC)


class OrgPlans:
    def __init__(self):
        self._plans: dict[int, OrgPlan] = {}

    def get(self, organization_id: int) -> OrgPlan:
        plan = self._plans.get(organization_id)
        if plan is None:
            organization = Organization.objects.get(pk=organization_id)
            default_cadences_ensure(organization)
            cadences = {
                c.pk: c for c in Cadence.objects.filter(organization=organization, is_active=True)
            }
            steps: dict[int, list[CadenceStep]] = defaultdict(list)
            for step in CadenceStep.objects.filter(
                cadence_id__in=list(cadences), is_active=True
            ).order_by("offset_days"):
                steps[step.cadence_id].append(step)
            rules = list(
                SegmentRule.objects.filter(
                    organization=organization, cadence__is_active=True
                ).order_by("priority", "id")
            )
            default = next((c for c in cadences.values() if c.is_default), None)
            plan = OrgPlan(
                organization, ZoneInfo(organization.time_zone), default, cadences, steps, rules
            )
            self._plans[organization_id] = plan
        return plan


@dataclass(frozen=True)
class Enrollee:
    """What enrolment needs to know of an invoice, read as plain values (no model instances:
    enrolling a million invoices must not build a million of them)."""

    pk: int
    organization_id: int
    status: str
    balance: Decimal
    due_date: dt.date
    currency: str
    segment: str
    risk_score: int

    FIELDS = (
        "pk",
        "organization_id",
        "status",
        "balance",
        "due_date",
        "currency",
        "customer__segment",
        "customer__risk_score",
    )

    @classmethod
    def of(cls, invoice: Invoice) -> "Enrollee":
        return cls(
            invoice.pk,
            invoice.organization_id,
            invoice.status,
            invoice.balance,
            invoice.due_date,
            invoice.currency,
            invoice.customer.segment,
            invoice.customer.risk_score,
        )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES and self.balance > 0


def _rule_matches(rule: SegmentRule, who: Enrollee, days_overdue: int) -> bool:
    if rule.segment and rule.segment.casefold() != (who.segment or "").casefold():
        return False
    if rule.currency and rule.currency != who.currency:
        return False
    if rule.min_amount is not None and who.balance < rule.min_amount:
        return False
    if rule.max_amount is not None and who.balance > rule.max_amount:
        return False
    if rule.min_days_overdue is not None and days_overdue < rule.min_days_overdue:
        return False
    if rule.max_days_overdue is not None and days_overdue > rule.max_days_overdue:
        return False
    if rule.min_risk is not None and who.risk_score < rule.min_risk:
        return False
    return not (rule.max_risk is not None and who.risk_score > rule.max_risk)


def cadence_for_invoice(
    plan: OrgPlan, invoice: "Invoice | Enrollee", today: dt.date
) -> Cadence | None:
    """The first segment rule (by priority) that matches assigns the cadence; otherwise the
    default cadence."""
    who = invoice if isinstance(invoice, Enrollee) else Enrollee.of(invoice)
    days = (today - who.due_date).days
    for rule in plan.rules:
        if _rule_matches(rule, who, days):
            return plan.cadences.get(rule.cadence_id)
    return plan.default
