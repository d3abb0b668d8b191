"""Reads for the cadence, segment rule and sending settings pages, always scoped to the member's
organization: another organization's id is a 404. Message reads live in
`selectors_messages`."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from plixo.comms.merge import MergeContext
from plixo.comms.models import (
    Cadence,
    CadenceEnrollment,
    CadenceStep,
    EmailEvent,
    Message,
    SegmentRule,
    SendingDomain,
    SendingSettings,
)
from plixo.comms.services.outbox import sender_address, warmup_cap
from plixo.core.models import Membership, Organization
from plixo.core.selectors import one_or_404
from plixo.ledger.models import OPEN_STATUSES, Contact, Invoice
from plixo.ledger.selectors import invoices_visible, org_today

RATE_WINDOW_DAYS = 30
PREVIEW_CHOICES = 20
# Where a preview's pay link points: a page that does not exist, so it can never be used.
PREVIEW_PAY_PATH = "/p/preview-link-created-when-sent"


# --- cadences ----------------------------------------------------------------------------------


def cadence_for(*, membership: Membership, public_id) -> Cadence:
    return one_or_404(Cadence.objects.filter(organization_id=membership.organization_id), public_id)


def day_label(offset_days: int) -> str:
    """A step's day relative to the due date as the pages show it: −3, 0, +14."""
    if offset_days < 0:
        return f"−{-offset_days}"
    return f"+{offset_days}" if offset_days else "0"


def cadence_steps(*, cadence: Cadence) -> list[CadenceStep]:
    """The steps that are scheduled (retired steps keep their rows for sent email), each with
    its `.day` label."""
    steps = list(cadence.steps.filter(is_active=True).order_by("offset_days", "id"))
    for step in steps:
        step.day = day_label(step.offset_days)
    return steps


def cadences_of(*, organization: Organization) -> QuerySet[Cadence]:
    return Cadence.objects.filter(organization=organization).order_by("-is_default", "name")


def cadences_overview(*, organization: Organization) -> list[Cadence]:
    """Every cadence with its active steps (`.active_steps`) and how many invoices it holds:
    `.enrolled` (active), `.paused` and `.finished`, counted in one grouped query."""
    cadences = list(
        cadences_of(organization=organization).prefetch_related(
            Prefetch(
                "steps",
                queryset=CadenceStep.objects.filter(is_active=True).order_by("offset_days", "id"),
                to_attr="active_steps",
            )
        )
    )
    counts: dict[tuple[int, str], int] = {
        (row["cadence_id"], row["state"]): row["n"]
        for row in CadenceEnrollment.objects.filter(
            organization=organization, cadence__isnull=False
        )
        .values("cadence_id", "state")
        .annotate(n=Count("id"))
        .order_by()
    }
    for cadence in cadences:
        for step in cadence.active_steps:
            step.day = day_label(step.offset_days)
        cadence.enrolled = counts.get((cadence.pk, CadenceEnrollment.State.ACTIVE), 0)
        cadence.paused = counts.get((cadence.pk, CadenceEnrollment.State.PAUSED), 0)
        cadence.finished = counts.get((cadence.pk, CadenceEnrollment.State.FINISHED), 0)
    return cadences


# --- segment rules ---------------------------------------------------------------------------


def rule_for(*, membership: Membership, public_id) -> SegmentRule:
    return one_or_404(
        SegmentRule.objects.filter(organization_id=membership.organization_id).select_related(
            "cadence"
        ),
        public_id,
    )


def segment_rules_of(*, organization: Organization) -> QuerySet[SegmentRule]:
    """In the order they are tried: the first that matches an invoice assigns its cadence."""
    return (
        SegmentRule.objects.filter(organization=organization)
        .select_related("cadence")
        .order_by("priority", "id")
    )


def _number(value: Decimal, locale: str) -> str:
    try:
        return format_decimal(value, locale=locale)
    except (ValueError, TypeError):
        return format_decimal(value, locale="en_US")


def _range(low, high, *, unit: str = "", prefix: str = "") -> str:
    if low is not None and high is not None:
        return f"{prefix}{low}–{high}{unit}"
    if low is not None:
        return f"{prefix}{low}–∞{unit}"
    return f"{prefix}up to {high}{unit}"


def rule_conditions(rule: SegmentRule, locale: str = "en_US") -> list[str]:
    """A rule's conditions in words, e.g. ["Segment enterprise", "USD 10,000–∞",
    "31–90 days overdue", "risk ≥ 60"]; empty when the rule matches every invoice."""
    parts = []
    if rule.segment:
        parts.append(f"Segment {rule.segment}")
    if rule.min_amount is not None or rule.max_amount is not None:
        low = _number(rule.min_amount, locale) if rule.min_amount is not None else None
        high = _number(rule.max_amount, locale) if rule.max_amount is not None else None
        parts.append(_range(low, high, prefix=f"{rule.currency} "))
    elif rule.currency:
        parts.append(f"Invoices in {rule.currency}")
    if rule.min_days_overdue is not None or rule.max_days_overdue is not None:
        low, high = _signed(rule.min_days_overdue), _signed(rule.max_days_overdue)
        if low is not None and high is None:
            parts.append(f"{low}+ days overdue")
        else:
            parts.append(_range(low, high, unit=" days overdue"))
    if rule.min_risk is not None and rule.max_risk is not None:
        parts.append(f"risk {rule.min_risk}–{rule.max_risk}")
    elif rule.min_risk is not None:
        parts.append(f"risk ≥ {rule.min_risk}")
    elif rule.max_risk is not None:
        parts.append(f"risk ≤ {rule.max_risk}")
    return parts


def _signed(days: int | None) -> str | None:
    """Days with a real minus sign (−3 is three days before the due date)."""
    return None if days is None else str(days).replace("-", "−")


# --- preview -----------------------------------------------------------------------------------


def open_invoices_recent(*, membership: Membership, limit: int = PREVIEW_CHOICES) -> list[Invoice]:
    """The open invoices with the latest due dates (the organization/due-date index)."""
    return list(
        invoices_visible(membership=membership)
        .filter(status__in=OPEN_STATUSES)
        .select_related("customer")
        .order_by("-due_date", "-id")[:limit]
    )


def preview_invoice(*, membership: Membership, public_id=None, number: str = "") -> Invoice | None:
    """The open invoice a preview uses: the one asked for (by public id or number; a foreign
    or closed one is a 404), else the open invoice due last."""
    visible = invoices_visible(membership=membership).filter(status__in=OPEN_STATUSES)
    if public_id:
        return one_or_404(visible.select_related("customer"), public_id)
    if number:
        invoice = visible.select_related("customer").filter(number=number.strip()).first()
        if invoice is None:
            raise Http404("No open invoice with that number.")
        return invoice
    recent = open_invoices_recent(membership=membership, limit=1)
    return recent[0] if recent else None


def preview_contact(*, invoice: Invoice) -> Contact | None:
    """Whom the email would go to: as the outbox chooses, the primary contact first."""
    return (
        Contact.objects.filter(customer_id=invoice.customer_id)
        .order_by("-is_primary", "created_at", "id")
        .first()
    )


def preview_pay_link() -> str:
    return f"{settings.PLIXO_PUBLIC_URL}{PREVIEW_PAY_PATH}"


def preview_context(
    *, invoice: Invoice, contact: Contact | None, sending: SendingSettings
) -> MergeContext:
    """What a step would be filled with for this invoice today, as the outbox fills it, but
    with a pay link that leads nowhere: a preview never issues a payer link."""
    organization = invoice.organization
    return MergeContext(
        invoice_number=invoice.number,
        amount_due=invoice.balance,
        currency=invoice.currency,
        due_date=invoice.due_date,
        customer_name=invoice.customer.name,
        contact_name=(contact.name if contact else "") or "",
        days_overdue=(org_today(organization) - invoice.due_date).days,
        sender_name=sending.from_name or organization.name,
        pay_link=preview_pay_link(),
        locale=organization.locale or "en_US",
    )


# --- sending domains ----------------------------------------------------------------------------


def domain_for(*, membership: Membership, public_id) -> SendingDomain:
    return one_or_404(
        SendingDomain.objects.filter(organization_id=membership.organization_id), public_id
    )


def org_day_start(organization: Organization, now: dt.datetime) -> dt.datetime:
    """Midnight today in the organization's time zone: caps count from here, as the outbox
    counts them."""
    zone = ZoneInfo(organization.time_zone)
    local = now.astimezone(zone)
    return dt.datetime.combine(local.date(), dt.time(0, 0)).replace(tzinfo=zone)


_CLAIMED = (Message.Status.SENDING, Message.Status.SENT, Message.Status.UNKNOWN)


@dataclass(frozen=True)
class SendingToday:
    sent: int  # claimed today (sending, sent or unknown), as the caps count
    cap: int  # today's cap: the daily cap, or less while the domain warms up
    warming_up: bool


def sending_today(
    *, organization: Organization, sending: SendingSettings, now: dt.datetime | None = None
) -> SendingToday:
    now = now or timezone.now()
    since = org_day_start(organization, now)
    _from, domain_name = sender_address(sending)
    domain = SendingDomain.objects.filter(organization=organization, domain=domain_name).first()
    cap = min(sending.daily_cap, warmup_cap(sending, domain, since.date()))
    sent = Message.objects.filter(
        organization=organization, status__in=_CLAIMED, claimed_at__gte=since
    ).count()
    return SendingToday(sent=sent, cap=cap, warming_up=cap < sending.daily_cap)


@dataclass
class DomainRow:
    domain: SendingDomain
    is_current: bool
    cap_today: int
    warmup_day: int | None  # 1 on the first day; None before the first email or when off
    warmed_up: bool
    sent_today: int
    sent_30d: int
    bounced_30d: int
    complained_30d: int
    checks: list[tuple[str, str, str, str]]  # (name, status, label, detail)

    @property
    def bounce_rate(self) -> float | None:
        return self.bounced_30d / self.sent_30d * 100 if self.sent_30d else None

    @property
    def complaint_rate(self) -> float | None:
        return self.complained_30d / self.sent_30d * 100 if self.sent_30d else None


def _check_detail(details, name: str) -> str:
    value = details.get(name) if isinstance(details, dict) else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        for key in ("detail", "message", "reason", "record"):
            if isinstance(value.get(key), str):
                return value[key]
    if isinstance(value, list):
        return "; ".join(str(item) for item in value if isinstance(item, str | int | float))
    return ""


def sending_domains_overview(
    *, organization: Organization, sending: SendingSettings, now: dt.datetime | None = None
) -> list[DomainRow]:
    """Each sending domain with today's warmup cap and sends, and its last 30 days: emails
    sent, hard bounces and complaints (from the provider's events), and the last DNS check.
    Three grouped queries whatever the number of domains."""
    now = now or timezone.now()
    since_today = org_day_start(organization, now)
    today = since_today.date()
    since_30d = now - dt.timedelta(days=RATE_WINDOW_DAYS)
    _from, current = sender_address(sending)
    domains = list(SendingDomain.objects.filter(organization=organization).order_by("domain"))
    names = [d.domain for d in domains]

    sent = {
        row["sending_domain"]: row
        for row in Message.objects.filter(
            organization=organization, sending_domain__in=names, status__in=_CLAIMED
        )
        .filter(Q(sent_at__gte=since_30d) | Q(claimed_at__gte=since_today))
        .values("sending_domain")
        .annotate(
            month=Count("id", filter=Q(status=Message.Status.SENT, sent_at__gte=since_30d)),
            today=Count("id", filter=Q(claimed_at__gte=since_today)),
        )
        .order_by()
    }
    events: dict[tuple[str, str], int] = {
        (row["sending_domain"], row["kind"]): row["n"]
        for row in EmailEvent.objects.filter(
            organization=organization,
            sending_domain__in=names,
            kind__in=[EmailEvent.Kind.BOUNCED, EmailEvent.Kind.COMPLAINED],
            occurred_at__gte=since_30d,
        )
        .values("sending_domain", "kind")
        .annotate(n=Count("id"))
        .order_by()
    }
    rows = []
    for domain in domains:
        counts = sent.get(domain.domain, {})
        started = domain.warmup_started_on
        warmup_day = (
            max((today - started).days, 0) + 1
            if sending.warmup_enabled and started is not None
            else None
        )
        cap = min(sending.daily_cap, warmup_cap(sending, domain, today))
        rows.append(
            DomainRow(
                domain=domain,
                is_current=domain.domain == current,
                cap_today=cap,
                warmup_day=warmup_day,
                warmed_up=cap >= sending.daily_cap,
                sent_today=counts.get("today", 0),
                sent_30d=counts.get("month", 0),
                bounced_30d=events.get((domain.domain, EmailEvent.Kind.BOUNCED), 0),
                complained_30d=events.get((domain.domain, EmailEvent.Kind.COMPLAINED), 0),
                checks=[
                    (
                        label,
                        getattr(domain, name),
                        getattr(domain, f"get_{name}_display")(),
                        _check_detail(domain.check_details, name),
                    )
                    for name, label in (("spf", "SPF"), ("dkim", "DKIM"), ("dmarc", "DMARC"))
                ],
            )
        )
    rows.sort(key=lambda row: (not row.is_current, row.domain.domain))
    return rows
