"""What payers and the team did: promise and plan adherence, disputes, the portal funnel and
email deliverability, over a period, for the member's accounts."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal, localcontext

from django.db.models import Count, Min

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.comms.deliverability import BOUNCE_RATE_LIMIT, COMPLAINT_RATE_LIMIT
from plixo.comms.models import EmailEvent, Message
from plixo.core.models import Membership
from plixo.core.money import quantize
from plixo.core.permissions import sees_only_own_accounts
from plixo.disputes.models import Dispute, ReasonCode
from plixo.ledger.selectors import org_today
from plixo.portal.models import PortalEvent, PortalEventKind
from plixo.reports.selectors.common import day_start, money_sum, money_value, scope_q, zone
from plixo.reports.selectors.rates import EXACT, Converter

ONE_DAY = dt.timedelta(days=1)


def ratio(part, whole) -> Decimal | None:
    """part / whole as a percentage with one decimal, None when there is no whole."""
    if not whole:
        return None
    with localcontext() as context:
        context.prec = EXACT
        return (Decimal(part) / Decimal(whole) * 100).quantize(Decimal("0.1"))


class _Money:
    """Exact amounts per currency and converted, with each amount's own date."""

    def __init__(self, converter: Converter):
        self.converter = converter
        self.by_currency: dict[str, Decimal] = defaultdict(Decimal)
        self.base = Decimal(0)
        self.complete = True

    def add(self, amount: Decimal, currency: str, day: dt.date) -> None:
        self.by_currency[currency] += amount
        converted = self.converter.convert(amount, currency, day)
        if converted is None:
            self.complete = False
        else:
            self.base += converted

    def shown(self) -> dict:
        return {
            "base": quantize(self.base, self.converter.base),
            "complete": self.complete,
            "by_currency": {
                code: quantize(value, code) for code, value in sorted(self.by_currency.items())
            },
        }


def adherence_report(*, membership: Membership, start: dt.date, end: dt.date) -> dict:
    """Promises falling due in [start, end]: how many were kept, missed, still open or
    cancelled (count and amount), and adherence = kept / (kept + missed). Plan installments
    due in the period: paid, missed, pending, and adherence = paid / (paid + missed). Exposure:
    open promises, and what remains unpaid on approved, active and defaulted plans, as of
    `end`."""
    converter = Converter(membership.organization, start, end)
    promises = (
        Promise.objects.filter(
            scope_q(membership, "invoice__"), promised_on__gte=start, promised_on__lte=end
        )
        .order_by()
        .values("status", "currency", "promised_on")
        .annotate(n=Count("id"), total=money_sum("amount"))
    )
    promise_counts: dict[str, int] = defaultdict(int)
    promise_money: dict[str, _Money] = {}
    for row in promises:
        promise_counts[row["status"]] += row["n"]
        money = promise_money.setdefault(row["status"], _Money(converter))
        money.add(money_value(row["total"]), row["currency"], row["promised_on"])

    installments = (
        PlanInstallment.objects.filter(
            scope_q(membership, "plan__invoice__"), due_on__gte=start, due_on__lte=end
        )
        .exclude(plan__status__in=[PaymentPlan.Status.CANCELLED, PaymentPlan.Status.REJECTED])
        .order_by()
        .values("status", "plan__currency", "due_on")
        .annotate(n=Count("id"), total=money_sum("amount"))
    )
    installment_counts: dict[str, int] = defaultdict(int)
    installment_money: dict[str, _Money] = {}
    for row in installments:
        installment_counts[row["status"]] += row["n"]
        money = installment_money.setdefault(row["status"], _Money(converter))
        money.add(money_value(row["total"]), row["plan__currency"], row["due_on"])

    exposure_promises = _Money(converter)
    for row in (
        Promise.objects.filter(scope_q(membership, "invoice__"), status=Promise.Status.OPEN)
        .order_by()
        .values("currency")
        .annotate(total=money_sum("amount"))
    ):
        exposure_promises.add(money_value(row["total"]), row["currency"], end)
    exposure_plans = _Money(converter)
    open_plans = [PaymentPlan.Status.APPROVED, PaymentPlan.Status.ACTIVE]
    open_plans.append(PaymentPlan.Status.DEFAULTED)
    remaining = (
        PlanInstallment.objects.filter(
            scope_q(membership, "plan__invoice__"), plan__status__in=open_plans
        )
        .exclude(status=PlanInstallment.Status.PAID)
        .order_by()
        .values("plan__currency")
        .annotate(total=money_sum("amount"), paid=money_sum("paid_amount"))
    )
    for row in remaining:
        left = money_value(row["total"]) - money_value(row["paid"])
        exposure_plans.add(left, row["plan__currency"], end)
    plan_statuses = dict(
        PaymentPlan.objects.filter(scope_q(membership, "invoice__"))
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )

    kept, missed = promise_counts["kept"], promise_counts["missed"]
    paid, late = installment_counts["paid"], installment_counts["missed"]
    return {
        "start": start,
        "end": end,
        "promises": {
            "counts": {s: promise_counts[s] for s in Promise.Status.values},
            "amounts": {s: m.shown() for s, m in promise_money.items()},
            "adherence": ratio(kept, kept + missed),
        },
        "installments": {
            "counts": {s: installment_counts[s] for s in PlanInstallment.Status.values},
            "amounts": {s: m.shown() for s, m in installment_money.items()},
            "adherence": ratio(paid, paid + late),
        },
        "plans_by_status": {s: plan_statuses.get(s, 0) for s in PaymentPlan.Status.values},
        "exposure": {
            "open_promises": exposure_promises.shown(),
            "open_plans": exposure_plans.shown(),
        },
        "formula": {
            "promise_adherence": "kept / (kept + missed) × 100, promises due in the period",
            "plan_adherence": "paid / (paid + missed) × 100, installments due in the period",
        },
        "conversion": converter.summary(),
    }


DISPUTE_AGES = ((0, 7, "0–7 days"), (8, 30, "8–30 days"), (31, 60, "31–60 days"))
DISPUTE_AGE_LAST = (61, None, "61+ days")
OPEN_DISPUTE = (Dispute.Status.OPEN, Dispute.Status.UNDER_REVIEW)


def disputes_report(*, membership: Membership, start: dt.date, end: dt.date) -> dict:
    """Disputes filed in [start, end] by reason and by status (count and amount), and the
    disputes open now by age. Plixo records no SLA target or resolution time for disputes
    yet, so SLA attainment cannot be told; the ages of open disputes stand in."""
    organization = membership.organization
    converter = Converter(organization, start, end)
    lo, hi = day_start(organization, start), day_start(organization, end + ONE_DAY)
    filed = Dispute.objects.filter(
        scope_q(membership, "invoice__"), created_at__gte=lo, created_at__lt=hi
    )
    by_reason: dict[str, dict] = {}
    by_status: dict[str, int] = defaultdict(int)
    total = _Money(converter)
    for row in (
        filed.order_by()
        .values("reason_code", "status", "currency")
        .annotate(n=Count("id"), amount=money_sum("amount"))
    ):
        entry = by_reason.setdefault(row["reason_code"], {"count": 0, "money": _Money(converter)})
        entry["count"] += row["n"]
        amount = money_value(row["amount"])
        # Converted at the period's end: disputed amounts are a snapshot, not a flow.
        entry["money"].add(amount, row["currency"], end)
        total.add(amount, row["currency"], end)
        by_status[row["status"]] += row["n"]
    now_day = org_today(organization)
    open_now = Dispute.objects.filter(scope_q(membership, "invoice__"), status__in=OPEN_DISPUTE)
    ages = []
    for low, high, label in (*DISPUTE_AGES, DISPUTE_AGE_LAST):
        newest = now_day - dt.timedelta(days=low) + ONE_DAY
        rows = open_now.filter(created_at__lt=day_start(organization, newest))
        if high is not None:
            rows = rows.filter(
                created_at__gte=day_start(organization, now_day - dt.timedelta(days=high))
            )
        ages.append({"label": label, "count": rows.count()})
    oldest = open_now.aggregate(first=Min("created_at"))["first"]
    count = sum(by_status.values())
    return {
        "start": start,
        "end": end,
        "filed": count,
        "amount": total.shown(),
        "by_reason": [
            {
                "reason": code,
                "label": ReasonCode(code).label if code in ReasonCode.values else code,
                "count": entry["count"],
                "share": ratio(entry["count"], count),
                "amount": entry["money"].shown(),
            }
            for code, entry in sorted(by_reason.items(), key=lambda item: -item[1]["count"])
        ],
        "by_status": {s: by_status.get(s, 0) for s in Dispute.Status.values},
        "open_now": {
            "count": sum(age["count"] for age in ages),
            "by_age": ages,
            "oldest_days": (now_day - oldest.astimezone(zone(organization)).date()).days
            if oldest
            else None,
        },
        "sla": None,
        "sla_note": "No SLA target or resolution time is recorded for disputes yet.",
        "conversion": converter.summary(),
    }


FUNNEL_STEPS = (
    PortalEventKind.LINK_OPENED,
    PortalEventKind.INVOICE_VIEWED,
    PortalEventKind.PAY_CLICKED,
    PortalEventKind.PAID,
)
FUNNEL_OUTCOMES = (
    PortalEventKind.PLAN_PROPOSED,
    PortalEventKind.PROMISE_MADE,
    PortalEventKind.DISPUTE_FILED,
)


def funnel_report(*, membership: Membership, start: dt.date, end: dt.date) -> dict:
    """Invoices whose payer reached each portal step in [start, end] (each invoice counted
    once per step), each step's completion rate (its invoices as a share of the previous
    step's), the overall rate (paid / opened), and the other ways out of the portal (plan
    proposed, promise made, dispute filed) as shares of the invoices viewed."""
    organization = membership.organization
    lo, hi = day_start(organization, start), day_start(organization, end + ONE_DAY)
    counts = dict(
        PortalEvent.objects.filter(scope_q(membership, "invoice__"), at__gte=lo, at__lt=hi)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("invoice", distinct=True))
    )
    steps, previous = [], None
    for kind in FUNNEL_STEPS:
        n = counts.get(kind, 0)
        steps.append(
            {
                "step": kind.value,
                "label": kind.label,
                "invoices": n,
                "rate": None if previous is None else ratio(n, previous),
            }
        )
        previous = n
    viewed = counts.get(PortalEventKind.INVOICE_VIEWED, 0)
    return {
        "start": start,
        "end": end,
        "steps": steps,
        "overall": ratio(counts.get(PortalEventKind.PAID, 0), counts.get(FUNNEL_STEPS[0], 0)),
        "outcomes": [
            {
                "step": kind.value,
                "label": kind.label,
                "invoices": counts.get(kind, 0),
                "rate": ratio(counts.get(kind, 0), viewed),
            }
            for kind in FUNNEL_OUTCOMES
        ],
        "formula": {
            "step": "invoices reaching the step / invoices reaching the previous step × 100",
            "overall": "invoices paid / invoices whose link was opened × 100",
            "outcomes": "invoices with the outcome / invoices viewed × 100",
        },
    }


def deliverability_report(*, membership: Membership, start: dt.date, end: dt.date) -> dict:
    """Per sending domain, emails sent in [start, end] and the hard bounces and complaints the
    provider reported in the same days, with their rates (None when nothing was sent)."""
    organization = membership.organization
    lo, hi = day_start(organization, start), day_start(organization, end + ONE_DAY)
    sent = dict(
        Message.objects.filter(
            scope_q(membership, "invoice__"),
            status=Message.Status.SENT,
            sent_at__gte=lo,
            sent_at__lt=hi,
        )
        .order_by()
        .values_list("sending_domain")
        .annotate(n=Count("id"))
    )
    events = EmailEvent.objects.filter(
        organization_id=organization.pk,
        kind__in=[EmailEvent.Kind.BOUNCED, EmailEvent.Kind.COMPLAINED],
        occurred_at__gte=lo,
        occurred_at__lt=hi,
    )
    if sees_only_own_accounts(membership.role):
        # Sales and CSMs: only the events of messages about their own accounts.
        events = events.filter(message__invoice__customer__owner_id=membership.user_id)
    counted = {
        (domain, kind): n
        for domain, kind, n in events.order_by()
        .values_list("sending_domain", "kind")
        .annotate(n=Count("id"))
    }
    domains = sorted(set(sent) | {domain for domain, _ in counted})
    rows = []
    for domain in domains:
        n = sent.get(domain, 0)
        bounced = counted.get((domain, EmailEvent.Kind.BOUNCED), 0)
        complained = counted.get((domain, EmailEvent.Kind.COMPLAINED), 0)
        bounce_rate, complaint_rate = ratio(bounced, n), ratio(complained, n)
        rows.append(
            {
                "domain": domain or "(unknown)",
                "sent": n,
                "bounced": bounced,
                "complained": complained,
                "bounce_rate": bounce_rate,
                "complaint_rate": complaint_rate,
                "bounce_rate_high": bounce_rate is not None
                and bounce_rate >= Decimal(str(BOUNCE_RATE_LIMIT * 100)),
                "complaint_rate_high": complaint_rate is not None
                and complaint_rate >= Decimal(str(COMPLAINT_RATE_LIMIT * 100)),
            }
        )
    return {
        "start": start,
        "end": end,
        "domains": rows,
        "limits": {
            "bounce_rate": Decimal(str(BOUNCE_RATE_LIMIT * 100)),
            "complaint_rate": Decimal(str(COMPLAINT_RATE_LIMIT * 100)),
        },
    }
