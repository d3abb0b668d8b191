"""Reads for the cadence, segment rule and sending settings pages, always scoped to the member's
organization: another organization's id is a 404. Message reads live in
`selectors_messages`."""

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet
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


# --- going live ---------------------------------------------------------------------------------

# The domain each email provider (a django-anymail backend) asks its senders to include in SPF.
SPF_INCLUDES = {
    "amazon_ses": "amazonses.com",
    "mailgun": "mailgun.org",
    "sendgrid": "sendgrid.net",
    "postmark": "spf.mtasv.net",
    "mailjet": "spf.mailjet.com",
    "sparkpost": "sparkpostmail.com",
    "brevo": "spf.brevo.com",
    "sendinblue": "spf.sendinblue.com",
}
SPF_PLACEHOLDER = "<your email provider's SPF domain>"
# Top-level names that exist on no public DNS (RFC 2606, RFC 6761, RFC 6762).
RESERVED_TLDS = ("localhost", "local", "test", "example", "invalid")


@dataclass(frozen=True)
class GoLiveCheck:
    ok: bool
    title: str
    detail: str = ""
    record_type: str = ""  # a DNS record to publish, e.g. TXT …
    record_name: str = ""  # … at this name …
    record_value: str = ""  # … with this value
    link: str = ""  # the URL name of the page where it is dealt with
    link_text: str = ""


@dataclass(frozen=True)
class OutboxWaiting:
    queued: int  # queued in the outbox, held ones included
    held: int  # of those, held (outside the send window, over a cap, no test address …)


@dataclass(frozen=True)
class GoLiveReadiness:
    domain: str
    checks: list[GoLiveCheck] = field(default_factory=list)
    waiting: OutboxWaiting = OutboxWaiting(0, 0)

    @property
    def warnings(self) -> list[GoLiveCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def passed(self) -> list[GoLiveCheck]:
        return [c for c in self.checks if c.ok]


def outbox_waiting(*, organization: Organization) -> OutboxWaiting:
    """Emails queued in the outbox right now (one grouped count on the organization/status
    index). Their recipient is chosen when each goes out, so in test mode they go to the test
    address and after going live to the payers."""
    counts = Message.objects.filter(
        organization=organization, status=Message.Status.QUEUED
    ).aggregate(queued=Count("id"), held=Count("id", filter=~Q(hold_reason="")))
    return OutboxWaiting(queued=counts["queued"] or 0, held=counts["held"] or 0)


def spf_include() -> str:
    """The SPF include of the email provider this installation sends through, when known."""
    backend = str(getattr(settings, "EMAIL_BACKEND", ""))
    parts = backend.split(".")
    if backend.startswith("anymail.backends.") and len(parts) > 2:
        return SPF_INCLUDES.get(parts[2], SPF_PLACEHOLDER)
    return SPF_PLACEHOLDER


def _is_reserved(domain: str) -> bool:
    return domain.rsplit(".", 1)[-1] in RESERVED_TLDS


def _dns_check(name: str, label: str, status: str, domain: str) -> GoLiveCheck:
    Check = SendingDomain.Check
    if status == Check.PASS:
        return GoLiveCheck(ok=True, title=f"{label} record found on {domain}.")
    if status == Check.FAIL:
        title = f"No {label} record on {domain}."
    elif status == Check.UNRESOLVED:
        title = f"{label} of {domain} could not be checked: the DNS lookup got no answer."
    else:
        title = f"{label} of {domain} has not been checked."
    how = (
        "Use Check DNS under Sending domains below."
        if status != Check.FAIL
        else "Mail providers file or refuse email that fails it."
    )
    if name == "spf":
        include = spf_include()
        placeholder = (
            " Replace the part in angle brackets with the domain your email provider names."
            if include == SPF_PLACEHOLDER
            else ""
        )
        return GoLiveCheck(
            ok=False,
            title=title,
            detail=f"{how} If it is missing, publish this TXT record (one SPF record per "
            f"domain: if one exists, add the include to it).{placeholder}",
            record_type="TXT",
            record_name=domain,
            record_value=f"v=spf1 include:{include} ~all",
        )
    if name == "dkim":
        return GoLiveCheck(
            ok=False,
            title=title,
            detail=f"{how} If it is missing, publish the DKIM key your email provider gives you "
            f"(a TXT or CNAME record under <selector>._domainkey.{domain}).",
        )
    return GoLiveCheck(
        ok=False,
        title=title,
        detail=f"{how} If it is missing, publish this TXT record; p=none only asks for reports "
        "and changes no delivery. Use a mailbox someone reads for the reports.",
        record_type="TXT",
        record_name=f"_dmarc.{domain}",
        record_value=f"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}",
    )


def go_live_checks(*, organization: Organization, sending: SendingSettings) -> GoLiveReadiness:
    """What a Controller should know before switching sending live: the sending domain's SPF,
    DKIM and DMARC as last checked, whether the sender is the installation's default address,
    whether payers' replies reach someone, and how many queued emails would then go to payers
    instead of the test address. Going live stays possible whatever these say."""
    _sender, domain = sender_address(sending)
    checks: list[GoLiveCheck] = []
    row = (
        SendingDomain.objects.filter(organization=organization, domain=domain).first()
        if domain
        else None
    )
    for name, label in (("spf", "SPF"), ("dkim", "DKIM"), ("dmarc", "DMARC")):
        status = getattr(row, name) if row is not None else SendingDomain.Check.UNKNOWN
        checks.append(_dns_check(name, label, status, domain or "the sending domain"))

    _name, address = parseaddr(sending.from_email or settings.DEFAULT_FROM_EMAIL)
    _name, default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    if not sending.from_email or address.casefold() == default_address.casefold():
        reserved = (
            f" A .{domain.rsplit('.', 1)[-1]} address exists on no public mail server: mail "
            "providers refuse or file as spam email from it."
            if domain and _is_reserved(domain)
            else ""
        )
        checks.append(
            GoLiveCheck(
                ok=False,
                title=f"The sender is the installation's default address, {address}.",
                detail="Payers would see it on every email. Set your own sender address above, "
                f"on a domain whose DNS you can change.{reserved}",
            )
        )
    else:
        checks.append(GoLiveCheck(ok=True, title=f"Emails are sent from {address}."))

    if sending.reply_to:
        checks.append(GoLiveCheck(ok=True, title=f"Payers' replies go to {sending.reply_to}."))
    else:
        checks.append(
            GoLiveCheck(
                ok=False,
                title=f"No reply-to address: payers' replies go to {address}.",
                detail="Set a reply-to address above that your receivables team reads.",
            )
        )

    waiting = outbox_waiting(organization=organization)
    if waiting.queued:
        held = f" ({waiting.held:,} of them held for now)" if waiting.held else ""
        instead = f" instead of to {sending.test_address}" if sending.test_address else ""
        checks.append(
            GoLiveCheck(
                ok=False,
                title=f"{waiting.queued:,} email{'s are' if waiting.queued != 1 else ' is'} "
                f"queued now{held}.",
                detail=f"After going live {'they go' if waiting.queued != 1 else 'it goes'} to "
                f"payers' own addresses{instead}. To keep one from going out, cancel it in the "
                "outbox before going live.",
                link="comms:outbox",
                link_text="Open the outbox",
            )
        )
    else:
        checks.append(
            GoLiveCheck(ok=True, title="No emails are queued: none would go out at once.")
        )
    return GoLiveReadiness(domain=domain, checks=checks, waiting=waiting)
