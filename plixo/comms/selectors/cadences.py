"""Reads for the cadence and segment rule pages and the cadence preview, scoped to the
member's organization: another organization's id is a 404."""

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal

from babel.numbers import format_decimal
from django.conf import settings
from django.db.models import Count, Prefetch, QuerySet

from plixo.comms.merge import MergeContext
from plixo.comms.models import (
    Cadence,
    CadenceEnrollment,
    CadenceStep,
    SegmentRule,
    SendingSettings,
)
from plixo.core.models import Membership, Organization
from plixo.core.selectors import one_or_404
from plixo.ledger.models import OPEN_STATUSES, Contact, Invoice
from plixo.ledger.selectors import invoices_visible, org_today

PREVIEW_CHOICES = 20
# Invoices ending in the digits typed that a number look-up reads at most.
NUMBER_CANDIDATES = 50
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
        # Only the states the page shows, so the paid and void invoices (most of a large
        # ledger) are not counted; COUNT(*) lets the (organization, state, cadence) index
        # answer alone.
        for row in CadenceEnrollment.objects.filter(
            organization=organization,
            cadence__isnull=False,
            state__in=[
                CadenceEnrollment.State.ACTIVE,
                CadenceEnrollment.State.PAUSED,
                CadenceEnrollment.State.FINISHED,
            ],
        )
        .values("cadence_id", "state")
        .annotate(n=Count("*"))
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


def _range(low: str | None, high: str | None, *, before: str = "", after: str = "") -> str:
    """A condition's bounds in words: "USD 10,000 or more", "up to USD 5,000",
    "USD 1,000–5,000". A range with a negative bound says "to", as an en dash beside a minus
    sign reads badly."""
    if low is not None and high is not None:
        if low == high:
            return f"{before}{low}{after}"
        dash = " to " if "−" in low or "−" in high else "–"
        return f"{before}{low}{dash}{high}{after}"
    if low is not None:
        return f"{before}{low} or more{after}"
    return f"up to {before}{high}{after}"


def rule_conditions(rule: SegmentRule, locale: str = "en_US") -> list[str]:
    """A rule's conditions in words, e.g. ["Segment enterprise", "USD 10,000 or more",
    "31–90 days overdue", "risk 60 or more"]; empty when the rule matches every invoice."""
    parts = []
    if rule.segment:
        parts.append(f"Segment {rule.segment}")
    if rule.min_amount is not None or rule.max_amount is not None:
        low = _number(rule.min_amount, locale) if rule.min_amount is not None else None
        high = _number(rule.max_amount, locale) if rule.max_amount is not None else None
        parts.append(_range(low, high, before=f"{rule.currency} "))
    elif rule.currency:
        parts.append(f"Invoices in {rule.currency}")
    if rule.min_days_overdue is not None or rule.max_days_overdue is not None:
        low, high = _signed(rule.min_days_overdue), _signed(rule.max_days_overdue)
        parts.append(_range(low, high, after=" days overdue"))
    if rule.min_risk is not None or rule.max_risk is not None:
        low = str(rule.min_risk) if rule.min_risk is not None else None
        high = str(rule.max_risk) if rule.max_risk is not None else None
        parts.append(f"risk {_range(low, high)}")
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


def preview_invoice(*, membership: Membership, public_id=None) -> Invoice | None:
    """The open invoice a preview uses: the one asked for by public id (a foreign or closed
    one is a 404), else the open invoice due last."""
    if public_id:
        visible = invoices_visible(membership=membership).filter(status__in=OPEN_STATUSES)
        return one_or_404(visible.select_related("customer"), public_id)
    recent = open_invoices_recent(membership=membership, limit=1)
    return recent[0] if recent else None


_TRAILING_DIGITS = re.compile(r"(\d+)\D*$")
_NUMBER_PREFIX = re.compile(r"^(\D*)\d+$")


def open_invoice_by_number(
    *, membership: Membership, number: str, known: Iterable[Invoice] = ()
) -> Invoice | None:
    """The open invoice a person means by a number typed as they remember it: `INV-10019`,
    `inv-10019` or `10019`. Tried in order, only among the open invoices the member sees:
    the number exactly; the usual spellings of it (upper or lower case, or the digits behind a
    prefix the `known` invoices use, such as `INV-`), found through the (organization, number)
    index; the number without regard to case; then a number ending in the same digits (the
    first of at most `NUMBER_CANDIDATES` by due date, latest first). None when nothing
    matches."""
    term = number.strip()[:100]
    if not term:
        return None
    visible = (
        invoices_visible(membership=membership)
        .filter(status__in=OPEN_STATUSES)
        .select_related("customer")
    )
    digits_match = _TRAILING_DIGITS.search(term)
    digits = digits_match.group(1) if digits_match else ""
    spellings = [term, term.upper(), term.lower()]
    if digits:
        prefixes = {m.group(1) for i in known if (m := _NUMBER_PREFIX.match(i.number))}
        spellings += [f"{prefix}{digits}" for prefix in sorted(prefixes)]
    spellings = list(dict.fromkeys(spellings))
    found = {i.number: i for i in visible.filter(number__in=spellings)}
    for spelling in spellings:
        if spelling in found:
            return found[spelling]
    invoice = visible.filter(number__iexact=term).order_by("-due_date", "-id").first()
    if invoice is not None or not digits:
        return invoice
    wanted = digits.lstrip("0") or "0"
    for candidate in visible.filter(number__endswith=digits).order_by("-due_date", "-id")[
        :NUMBER_CANDIDATES
    ]:
        # "10019" means INV-10019 or INV-010019, never INV-110019.
        trailing = _TRAILING_DIGITS.search(candidate.number)
        if trailing and (trailing.group(1).lstrip("0") or "0") == wanted:
            return candidate
    return None


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
    *,
    invoice: Invoice,
    contact: Contact | None,
    sending: SendingSettings,
    as_of: dt.date | None = None,
) -> MergeContext:
    """What a step would be filled with for this invoice, as the outbox fills it, but with a
    pay link that leads nowhere: a preview never issues a payer link. `as_of` is the day the
    email would be written (a step's own day; today when not given): it sets the days overdue
    (never below 0), while the amount stays today's balance."""
    organization = invoice.organization
    as_of = as_of or org_today(organization)
    return MergeContext(
        invoice_number=invoice.number,
        amount_due=invoice.balance,
        currency=invoice.currency,
        due_date=invoice.due_date,
        customer_name=invoice.customer.name,
        contact_name=(contact.name if contact else "") or "",
        days_overdue=max((as_of - invoice.due_date).days, 0),
        sender_name=sending.from_name or organization.name,
        pay_link=preview_pay_link(),
        locale=organization.locale or "en_US",
    )
