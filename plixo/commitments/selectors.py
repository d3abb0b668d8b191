"""Reads of promises and plans for the pages and API routes that show them."""

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Exists, F, Max, Min, OuterRef, Q, QuerySet, Sum

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.core.models import Membership
from plixo.core.money import quantize
from plixo.core.selectors import one_or_404, visible_to
from plixo.disputes.models import Dispute
from plixo.disputes.selectors import invoice_disputes
from plixo.ledger.models import Invoice
from plixo.ledger.selectors import org_today
from plixo.portal.models import PortalLink
from plixo.reports.selectors.rates import Converter

ACCEPTED = (
    PaymentPlan.Status.APPROVED,
    PaymentPlan.Status.ACTIVE,
    PaymentPlan.Status.DEFAULTED,
)
AWAITING_DECISION = (PaymentPlan.Status.PROPOSED, PaymentPlan.Status.PENDING_APPROVAL)
# A promise or plan at or above this amount, in the organization's base currency, is flagged
# "High exposure" on the radar.
HIGH_EXPOSURE = Decimal("10000")
RADAR_ROWS = 50
# What a radar row shows of its invoice and customer (a row loads nothing else of them).
_RADAR_RELATED = ("invoice__public_id", "invoice__number", "invoice__customer__name")
RADAR_PROMISE_FIELDS = (
    "public_id",
    "organization",
    "amount",
    "currency",
    "promised_on",
    "status",
    *_RADAR_RELATED,
)
RADAR_PLAN_FIELDS = (
    "public_id",
    "organization",
    "total",
    "currency",
    "status",
    "created_at",
    "source",
    *_RADAR_RELATED,
)
ADHERENCE_DAYS = 90


def promises_visible(*, membership: Membership) -> QuerySet[Promise]:
    return visible_to(
        Promise.objects, membership=membership, owner_path="invoice__customer__owner_id"
    )


def plans_visible(*, membership: Membership) -> QuerySet[PaymentPlan]:
    return visible_to(
        PaymentPlan.objects, membership=membership, owner_path="invoice__customer__owner_id"
    )


def promise_for(*, membership: Membership, public_id) -> Promise:
    return one_or_404(
        promises_visible(membership=membership).select_related(
            "invoice__customer", "invoice__organization", "contact"
        ),
        public_id,
    )


def plan_for(*, membership: Membership, public_id) -> PaymentPlan:
    return one_or_404(
        plans_visible(membership=membership).select_related(
            "invoice__customer", "invoice__organization", "contact", "counter_to"
        ),
        public_id,
    )


def invoice_promises(*, invoice: Invoice) -> QuerySet[Promise]:
    return (
        Promise.objects.filter(invoice=invoice)
        .select_related("contact")
        .order_by("-created_at", "-id")
    )


def invoice_plans(*, invoice: Invoice) -> QuerySet[PaymentPlan]:
    return (
        PaymentPlan.objects.filter(invoice=invoice)
        .select_related("contact")
        .prefetch_related("installments")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class InvoiceCommitments:
    """What the payer committed to or contested on one invoice, newest first."""

    promises: list[Promise] = field(default_factory=list)
    plans: list[PaymentPlan] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.promises or self.plans or self.disputes)


def invoice_commitments(*, invoice: Invoice) -> InvoiceCommitments:
    """Promises, plans and disputes of an invoice the caller has already been allowed to see
    (the invoice comes from a scoped selector such as `ledger.selectors.invoice_for`)."""
    return InvoiceCommitments(
        promises=list(invoice_promises(invoice=invoice)),
        plans=list(invoice_plans(invoice=invoice)),
        disputes=list(invoice_disputes(invoice=invoice)),
    )


@dataclass(frozen=True)
class NextInstallment:
    plan: PaymentPlan
    installment: PlanInstallment
    owed: Decimal  # what it still owes, at most the invoice's balance


def invoice_accepted_plan(*, invoice: Invoice) -> PaymentPlan | None:
    """The invoice's accepted plan (approved, active or defaulted) with its installments."""
    return (
        PaymentPlan.objects.filter(invoice_id=invoice.pk, status__in=ACCEPTED)
        .prefetch_related("installments")
        .order_by("created_at", "pk")
        .first()
    )


def invoice_next_installment(*, invoice: Invoice) -> NextInstallment | None:
    """The earliest unpaid installment of the invoice's accepted plan: what the payer is asked
    to pay next."""
    plan = invoice_accepted_plan(invoice=invoice)
    if plan is None:
        return None
    unpaid = sorted(
        (i for i in plan.installments.all() if i.status != PlanInstallment.Status.PAID),
        key=lambda i: i.sequence,
    )
    if not unpaid:
        return None
    owed = min(unpaid[0].amount - unpaid[0].paid_amount, invoice.balance)
    return NextInstallment(plan, unpaid[0], owed) if owed > 0 else None


# --- the plan inspector ------------------------------------------------------------------------


@dataclass
class InstallmentRow:
    installment: PlanInstallment
    state: str  # "paid", "paid_late", "due", "missed", "upcoming"
    label: str
    badge: str
    owed: Decimal


@dataclass
class PlanInspection:
    plan: PaymentPlan
    rows: list[InstallmentRow]
    paid: Decimal
    owed: Decimal
    adherence: int | None  # % of installments due so far that were paid on time
    next_due: PlanInstallment | None
    guardrails: list[str]


def plan_inspection(*, plan: PaymentPlan, today: dt.date) -> PlanInspection:
    from plixo.commitments.services.plans import plan_coverage_warning

    rows, due_so_far, on_time = [], 0, 0
    next_due = None
    # From the prefetched rows when the caller prefetched them (an API page of plans).
    for installment in sorted(plan.installments.all(), key=lambda i: i.sequence):
        owed = installment.amount - installment.paid_amount
        if installment.status == PlanInstallment.Status.PAID:
            late = installment.paid_on is not None and installment.paid_on > installment.due_on
            state, label, badge = (
                ("paid_late", "Paid late", "warning") if late else ("paid", "Paid", "ok")
            )
        elif installment.status == PlanInstallment.Status.MISSED or installment.due_on < today:
            state, label, badge = "missed", "Missed", "error"
        elif installment.due_on == today:
            state, label, badge = "due", "Due today", "warning"
        else:
            state, label, badge = "upcoming", "Upcoming", "open"
        if installment.due_on <= today:
            due_so_far += 1
            on_time += state == "paid"
        if next_due is None and installment.status != PlanInstallment.Status.PAID:
            next_due = installment
        rows.append(InstallmentRow(installment, state, label, badge, owed))
    paid = sum((r.installment.paid_amount for r in rows), Decimal("0"))
    invoice = plan.invoice
    guardrails = []
    if plan.status in (*AWAITING_DECISION, *ACCEPTED) and invoice.is_open:
        coverage = plan_coverage_warning(total=plan.total - paid, invoice=invoice)
        if coverage and plan.status in AWAITING_DECISION:
            guardrails.append(coverage)
        if plan.status in AWAITING_DECISION and plan.total > invoice.balance:
            guardrails.append(
                "The plan's total is more than what the invoice still owes; counter it."
            )
    if plan.status == PaymentPlan.Status.PENDING_APPROVAL:
        from plixo.approvals.models import ApprovalRequest

        waiting = ApprovalRequest.objects.filter(
            organization_id=plan.organization_id,
            target_key=f"plan:{plan.public_id}",
            status=ApprovalRequest.Status.PENDING,
        ).first()
        if waiting is not None:
            guardrails.insert(0, f"Waiting for approval: {waiting.guardrail}.")
    missed = [r for r in rows if r.state == "missed"]
    if missed and plan.status in ACCEPTED:
        guardrails.append(
            f"{len(missed)} installment{'s' if len(missed) != 1 else ''} missed: the invoice is "
            "back in its cadence with a follow-up."
        )
    if plan.status in AWAITING_DECISION and rows and rows[0].installment.due_on < today:
        guardrails.append("The first installment's date has passed; counter with new dates.")
    return PlanInspection(
        plan=plan,
        rows=rows,
        paid=paid,
        owed=plan.total - paid,
        adherence=round(100 * on_time / due_so_far) if due_so_far else None,
        next_due=next_due,
        guardrails=guardrails,
    )


# --- the Commitment Radar ------------------------------------------------------------------


@dataclass
class RadarItem:
    kind: str  # "promise" or "plan"
    record: Promise | PaymentPlan
    invoice: Invoice
    amount: Decimal
    currency: str
    day: dt.date | None  # the promise date, or the plan's next or first missed installment
    badges: list[tuple[str, str]]  # (label, style)
    urgency: int


@dataclass
class Radar:
    today: dt.date
    items: list[RadarItem]
    proposals: list[PaymentPlan]
    promise_exposure: dict[str, Decimal]  # open promises, by currency
    plan_exposure: dict[str, Decimal]  # unpaid installments of accepted plans, by currency
    base_currency: str
    # Each exposure in the base currency at the latest exchange rate, with the currencies that
    # had no rate (left out of the base total, never converted at 1).
    promise_exposure_base: Decimal
    plan_exposure_base: Decimal
    unconverted: list[str]
    kept: int
    missed: int
    more: bool

    @property
    def adherence(self) -> int | None:
        resolved = self.kept + self.missed
        return round(100 * self.kept / resolved) if resolved else None


def _by_currency(rows) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for currency, total in rows:
        if total:
            totals[currency] += total
    return dict(sorted(totals.items()))


def _in_base(totals: dict[str, Decimal], converter) -> tuple[Decimal, set[str]]:
    """The per-currency totals summed in the base currency, and the currencies with no rate."""
    base, missing = Decimal("0"), set()
    for currency, total in totals.items():
        converted = converter.convert(total, currency, converter.end, note_missing=False)
        if converted is None:
            missing.add(currency)
        else:
            base += converted
    return quantize(base, converter.base), missing


def _high(amount: Decimal, currency: str, converter) -> bool:
    """At or above `HIGH_EXPOSURE` in the base currency, at the latest exchange rate; an amount
    in a currency without a rate is never guessed high or low."""
    converted = converter.convert(amount, currency, converter.end, note_missing=False)
    return converted is not None and converted >= HIGH_EXPOSURE


def _plan_figures(plans: list[PaymentPlan]) -> None:
    """Each plan's installment figures, summed in SQL for these plans only (one statement, not
    their installments loaded row by row): what is still owed, missed installments, the next
    unpaid date, and the schedule's count and first and last dates."""
    unpaid = ~Q(status=PlanInstallment.Status.PAID)
    figures = (
        {
            row["plan_id"]: row
            for row in PlanInstallment.objects.filter(plan__in=[plan.pk for plan in plans])
            .order_by()
            .values("plan_id")
            .annotate(
                owed=Sum(F("amount") - F("paid_amount"), filter=unpaid),
                missed_count=Count("pk", filter=Q(status=PlanInstallment.Status.MISSED)),
                next_due=Min("due_on", filter=unpaid),
                installment_count=Count("pk"),
                first_due=Min("due_on"),
                last_due=Max("due_on"),
            )
        }
        if plans
        else {}
    )
    for plan in plans:
        row = figures.get(plan.pk, {})
        plan.owed = row.get("owed") or Decimal("0")
        plan.missed_count = row.get("missed_count", 0)
        plan.next_due = row.get("next_due")
        plan.installment_count = row.get("installment_count", 0)
        plan.first_due = row.get("first_due")
        plan.last_due = row.get("last_due")


def commitment_radar(*, membership: Membership, rows: int = RADAR_ROWS) -> Radar:
    """Promises due today or overdue, and plans defaulted or approaching default, most urgent
    first, with the badges that say why; open proposals awaiting a decision; exposure totals by
    currency and promise adherence over the last 90 days. Every read is by the organization's
    (status, date) indexes and is bounded by the open commitments, not by the invoice count."""
    organization = membership.organization
    today = org_today(organization)
    converter = Converter(organization=organization, start=today, end=today)
    promises = promises_visible(membership=membership)
    plans = plans_visible(membership=membership)
    has_link = Exists(PortalLink.objects.filter(invoice_id=OuterRef("invoice_id")))
    due_promises = list(
        promises.filter(
            Q(status=Promise.Status.OPEN, promised_on__lte=today)
            | Q(
                status=Promise.Status.MISSED,
                promised_on__gte=today - dt.timedelta(days=30),
                invoice__balance__gt=0,
            )
        )
        .annotate(has_link=has_link)
        .select_related("invoice__customer")
        .only(*RADAR_PROMISE_FIELDS)
        .order_by("promised_on", "pk")[: rows + 1]
    )
    items = []
    for promise in due_promises:
        badges = []
        if promise.status == Promise.Status.MISSED or promise.promised_on < today:
            badges.append(("Missed", "error"))
        else:
            badges.append(("Due today", "warning"))
        if not promise.has_link:
            badges.append(("No invoice link", "warning"))
        if _high(promise.amount, promise.currency, converter):
            badges.append(("High exposure", "error"))
        urgency = 0 if badges[0][0] == "Missed" else 1
        items.append(
            RadarItem(
                "promise",
                promise,
                promise.invoice,
                promise.amount,
                promise.currency,
                promise.promised_on,
                badges,
                urgency,
            )
        )
    troubled = PlanInstallment.objects.filter(
        Q(status=PlanInstallment.Status.MISSED)
        | Q(status=PlanInstallment.Status.PENDING, due_on__lte=today + dt.timedelta(days=3))
    ).values("plan_id")
    risky_plans = list(
        plans.filter(status__in=ACCEPTED)
        .filter(Q(status=PaymentPlan.Status.DEFAULTED) | Q(pk__in=troubled))
        .select_related("invoice__customer")
        .only(*RADAR_PLAN_FIELDS)
        .order_by("pk")[: rows + 1]
    )
    _plan_figures(risky_plans)
    for plan in risky_plans:
        owed = plan.owed
        badges = []
        if plan.status == PaymentPlan.Status.DEFAULTED:
            badges.append(("Defaulted", "error"))
        elif plan.missed_count:
            badges.append(("Missed installment", "error"))
        else:
            badges.append(("Installment due soon", "warning"))
        if _high(owed, plan.currency, converter):
            badges.append(("High exposure", "error"))
        urgency = (
            0 if plan.status == PaymentPlan.Status.DEFAULTED else (1 if plan.missed_count else 2)
        )
        items.append(
            RadarItem(
                "plan",
                plan,
                plan.invoice,
                owed,
                plan.currency,
                plan.next_due,
                badges,
                urgency,
            )
        )
    more = len(due_promises) > rows or len(risky_plans) > rows
    items.sort(key=lambda i: (i.urgency, i.day or today, -i.amount))
    proposals = list(
        plans.filter(status__in=AWAITING_DECISION)
        .select_related("invoice__customer")
        .only(*RADAR_PLAN_FIELDS)
        .order_by("created_at", "pk")[:rows]
    )
    _plan_figures(proposals)
    promise_exposure = _by_currency(
        promises.filter(status=Promise.Status.OPEN)
        .values("currency")
        .annotate(total=Sum("amount"))
        .values_list("currency", "total")
    )
    plan_exposure = _by_currency(
        PlanInstallment.objects.filter(plan__in=plans.filter(status__in=ACCEPTED))
        .exclude(status=PlanInstallment.Status.PAID)
        .values("plan__currency")
        .annotate(total=Sum("amount") - Sum("paid_amount"))
        .values_list("plan__currency", "total")
    )
    since = today - dt.timedelta(days=ADHERENCE_DAYS)
    resolved = dict(
        promises.filter(
            status__in=(Promise.Status.KEPT, Promise.Status.MISSED), promised_on__gte=since
        )
        .values("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    promise_base, promise_missing = _in_base(promise_exposure, converter)
    plan_base, plan_missing = _in_base(plan_exposure, converter)
    return Radar(
        base_currency=organization.base_currency,
        promise_exposure_base=promise_base,
        plan_exposure_base=plan_base,
        unconverted=sorted(promise_missing | plan_missing),
        today=today,
        items=items[:rows],
        proposals=proposals,
        promise_exposure=promise_exposure,
        plan_exposure=plan_exposure,
        kept=resolved.get(Promise.Status.KEPT, 0),
        missed=resolved.get(Promise.Status.MISSED, 0),
        more=more,
    )
