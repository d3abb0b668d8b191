"""Reads for the sending settings page: today's sending against the caps, the sending domains
with their warmup, rates and DNS checks, and what a Controller should know before going live."""

import datetime as dt
from dataclasses import dataclass, field
from email.utils import parseaddr
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from plixo.comms.deliverability import domain_rates
from plixo.comms.models import (
    Message,
    OperatorSendWindow,
    SendingDomain,
    SendingSettings,
)
from plixo.comms.services.outbox import sender_address, warmup_cap
from plixo.core.models import Membership, Organization
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import one_or_404

RATE_WINDOW_DAYS = 30


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
    sent, hard bounces and complaints (`deliverability.domain_rates`), and the last DNS check.
    A fixed number of grouped queries whatever the number of domains."""
    now = now or timezone.now()
    since_today = org_day_start(organization, now)
    today = since_today.date()
    since_30d = now - dt.timedelta(days=RATE_WINDOW_DAYS)
    _from, current = sender_address(sending)
    domains = list(SendingDomain.objects.filter(organization=organization).order_by("domain"))
    names = [d.domain for d in domains]

    today_sent = dict(
        Message.objects.filter(
            organization=organization,
            sending_domain__in=names,
            status__in=_CLAIMED,
            claimed_at__gte=since_today,
        )
        .values_list("sending_domain")
        .annotate(n=Count("id"))
        .order_by()
    )
    month = {row["domain"]: row for row in domain_rates(organization=organization, since=since_30d)}
    rows = []
    for domain in domains:
        rates = month.get(domain.domain, {})
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
                sent_today=today_sent.get(domain.domain, 0),
                sent_30d=rates.get("sent", 0),
                bounced_30d=rates.get("hard_bounces", 0),
                complained_30d=rates.get("complaints", 0),
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


# The settings an organization edits on the sending settings page and through
# `/api/v1/settings/sending`: quiet hours on the organization, the rest on SendingSettings.
SENDING_FIELDS = (
    "send_on_weekends",
    "skip_holidays",
    "daily_cap",
    "operator_daily_cap",
    "warmup_enabled",
    "warmup_first_day_cap",
    "from_name",
    "from_email",
    "reply_to",
    "test_address",
)


def sending_settings_values(*, organization: Organization, sending: SendingSettings) -> dict:
    """Every editable sending setting by name, times as `datetime.time`."""
    return {
        "quiet_hours_start": organization.quiet_hours_start,
        "quiet_hours_end": organization.quiet_hours_end,
        **{name: getattr(sending, name) for name in SENDING_FIELDS},
    }


@dataclass
class OperatorWindowRow:
    membership: Membership
    start: dt.time | None  # None: the organization's window
    end: dt.time | None


def operator_windows(*, organization: Organization) -> list[OperatorWindowRow]:
    """Every active member who approves and sends email, with their own send window if a
    manager gave them one."""
    own = {w.membership_id: w for w in OperatorSendWindow.objects.filter(organization=organization)}
    rows = []
    for membership in (
        Membership.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ):
        if not role_can(membership.role, Cap.MESSAGES_SEND):
            continue
        window = own.get(membership.pk)
        rows.append(
            OperatorWindowRow(
                membership, window.start if window else None, window.end if window else None
            )
        )
    return rows
