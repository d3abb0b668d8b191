"""Reads behind the Drafts and Outbox pages and a message's own page, always scoped to one
organization and, for Sales and CSMs, to the accounts they own.

Lists page by keyset on an indexed ordering (`msg_org_status`: organization, status,
created_at; `msg_org_sent`: organization, sent_at), so a deep page costs what the first does.
"""

import base64
import binascii
import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from plixo.comms.merge import MergeFieldError, render
from plixo.comms.models import Message, SendingSettings
from plixo.comms.services.outbox import merge_context, payer_window, payer_zone
from plixo.comms.windows import window_check
from plixo.core.models import Membership, Organization
from plixo.core.selectors import one_or_404, visible_to
from plixo.ledger.models import Contact, TimelineEvent

PAGE_SIZE = 50

# What stands in for {pay_link} in a preview: visibly not a link, so that nobody copies a
# preview into an email by hand. Each sent email gets its own single-use link.
PREVIEW_PAY_LINK = "[pay link: a fresh single-use link is created when it is sent]"

_RELATED = (
    "invoice__customer",
    "contact",
    "cadence",
    "step",
    "approved_by",
)


# --- visibility --------------------------------------------------------------------------------


def messages_visible(*, membership: Membership) -> QuerySet[Message]:
    return visible_to(
        Message.objects, membership=membership, owner_path="invoice__customer__owner_id"
    )


def message_for(*, membership: Membership, public_id) -> Message:
    message = one_or_404(
        messages_visible(membership=membership).select_related(*_RELATED), public_id
    )
    message.invoice.organization = membership.organization
    return message


# --- keyset pages ------------------------------------------------------------------------------


@dataclass
class KeysetPage:
    """One page of rows ordered by (`key`, id) descending. `next_cursor` leads to older rows,
    `prev_cursor` back to newer ones; None when there are none."""

    rows: list
    next_cursor: str | None = None
    prev_cursor: str | None = None

    def __iter__(self):
        return iter(self.rows)

    def __len__(self):
        return len(self.rows)

    @property
    def has_other_pages(self) -> bool:
        return bool(self.next_cursor or self.prev_cursor)


def _encode(value: dt.datetime, pk: int) -> str:
    raw = f"{value.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """A cursor from the address bar; anything malformed means "the first page"."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, pk = raw.rsplit("|", 1)
        value = dt.datetime.fromisoformat(stamp)
        if timezone.is_naive(value):
            return None
        return value, int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None


def keyset_page(
    queryset: QuerySet,
    *,
    key: str,
    after: str | None = None,
    before: str | None = None,
    size: int = PAGE_SIZE,
) -> KeysetPage:
    """Rows newest first by `key` (a non-null datetime column) then id. `after` pages to older
    rows, `before` back to newer ones."""
    after_at, before_at = _decode(after), _decode(before)
    if before_at is not None:
        value, pk = before_at
        chunk = list(
            queryset.filter(Q(**{f"{key}__gt": value}) | Q(**{key: value, "pk__gt": pk})).order_by(
                key, "pk"
            )[: size + 1]
        )
        has_newer = len(chunk) > size
        rows = list(reversed(chunk[:size]))
        page = KeysetPage(rows)
        if has_newer and rows:
            page.prev_cursor = _encode(getattr(rows[0], key), rows[0].pk)
        if rows:
            page.next_cursor = _encode(getattr(rows[-1], key), rows[-1].pk)
        return page
    if after_at is not None:
        value, pk = after_at
        queryset = queryset.filter(Q(**{f"{key}__lt": value}) | Q(**{key: value, "pk__lt": pk}))
    chunk = list(queryset.order_by(f"-{key}", "-pk")[: size + 1])
    rows = chunk[:size]
    page = KeysetPage(rows)
    if len(chunk) > size and rows:
        page.next_cursor = _encode(getattr(rows[-1], key), rows[-1].pk)
    if after_at is not None and rows:
        page.prev_cursor = _encode(getattr(rows[0], key), rows[0].pk)
    return page


# --- the drafts page ---------------------------------------------------------------------------

DRAFT_FILTERS = {
    "draft": ("Awaiting approval", Q(status=Message.Status.DRAFT)),
    "queued": ("Queued", Q(status=Message.Status.QUEUED, hold_reason="")),
    "held": ("Held", Q(status=Message.Status.QUEUED) & ~Q(hold_reason="")),
}


def draft_counts(*, membership: Membership) -> dict[str, int]:
    """How many drafts, queued and held emails: one grouped query on (organization, status)."""
    rows = (
        messages_visible(membership=membership)
        .filter(status__in=[Message.Status.DRAFT, Message.Status.QUEUED])
        .values("status")
        .annotate(
            total=Count("id"),
            held=Count("id", filter=~Q(hold_reason="")),
        )
        .order_by()
    )
    counts = {"draft": 0, "queued": 0, "held": 0}
    for row in rows:
        if row["status"] == Message.Status.DRAFT:
            counts["draft"] = row["total"]
        else:
            counts["held"] = row["held"]
            counts["queued"] = row["total"] - row["held"]
    return counts


def draft_list(
    *,
    membership: Membership,
    status: str = "draft",
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """Drafts (or queued, or held emails), the newest first."""
    _label, condition = DRAFT_FILTERS.get(status, DRAFT_FILTERS["draft"])
    queryset = messages_visible(membership=membership).filter(condition).select_related(*_RELATED)
    page = keyset_page(queryset, key="created_at", after=after, before=before)
    for message in page:
        message.invoice.organization = membership.organization
    return page


@dataclass(frozen=True)
class Flag:
    kind: str  # "window", "suppressed", "contact", "test"
    text: str


def _clock(value: dt.datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _day(value: dt.datetime, zone: str, now: dt.datetime) -> str:
    local, today = value.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    if local.date() == today.date():
        return "today"
    if local.date() == today.date() + dt.timedelta(days=1):
        return "tomorrow"
    return f"{local:%a %b} {local.day}"


def draft_flags(
    message: Message,
    sending: SendingSettings,
    organization: Organization,
    now: dt.datetime | None = None,
) -> list[Flag]:
    """What would stop or delay this email if it were sent now: the payer's send window
    (quiet hours, weekend, public holiday), a suppressed or missing contact, test mode."""
    now = now or timezone.now()
    flags = []
    contact = message.contact
    if contact is None:
        flags.append(Flag("contact", "No contact: add one to the customer before it can go."))
    elif contact.is_suppressed:
        until = contact.suppressed_until
        text = f"Contact suppressed: {contact.suppression_reason or 'no reason given'}"
        if until is not None:
            local = timezone.localtime(until, ZoneInfo(organization.time_zone))
            text += f" (until {local:%b} {local.day}, {local.year})"
        flags.append(Flag("suppressed", text + "."))
    check = window_check(payer_window(message, contact, sending), now)
    if not check.open_now:
        zone = payer_zone(message, contact)
        if check.opens_at is None:
            text = f"Outside the send window for {zone} ({check.reason})."
        else:
            text = (
                f"Outside the send window for {zone} ({check.reason}) — would go at "
                f"{_clock(check.opens_at, zone)} local, {_day(check.opens_at, zone, now)}."
            )
        flags.append(Flag("window", text))
    if not organization.is_live:
        to = sending.test_address or "the test address (none set yet)"
        meant = contact.email if contact is not None else "the customer's contact"
        flags.append(Flag("test", f"Test mode: goes to {to}, meant for {meant}."))
    return flags


@dataclass
class Preview:
    subject: str = ""
    body: str = ""
    error: str = ""
    notes: list[str] = field(default_factory=list)


def message_preview(message: Message, sending: SendingSettings) -> Preview:
    """The email as it would read if sent now, with the merge fields filled. Nothing is
    written: the pay link is a placeholder, never a usable link."""
    contact = message.contact
    if contact is None:
        contact = (
            Contact.objects.filter(customer_id=message.invoice.customer_id)
            .order_by("-is_primary", "created_at", "id")
            .first()
        )
    context = merge_context(message, contact, sending, PREVIEW_PAY_LINK)
    try:
        return Preview(subject=render(message.subject, context), body=render(message.body, context))
    except MergeFieldError as exc:
        return Preview(error=f"This draft cannot be filled in: {exc}")


def preview_subject(message: Message, sending: SendingSettings) -> str:
    """The subject as the payer would read it (the template itself if it cannot be filled)."""
    context = merge_context(message, message.contact, sending, PREVIEW_PAY_LINK)
    try:
        return render(message.subject, context)
    except MergeFieldError:
        return message.subject


# --- the outbox --------------------------------------------------------------------------------

OUTBOX_TABS = {
    "queued": ("Queued & held", Q(status__in=[Message.Status.QUEUED, Message.Status.SENDING])),
    "sent": ("Sent", Q(status=Message.Status.SENT)),
    "failed": (
        "Failed / delivery unknown",
        Q(status__in=[Message.Status.FAILED, Message.Status.UNKNOWN]),
    ),
    "cancelled": ("Cancelled", Q(status=Message.Status.CANCELLED)),
}


def outbox_list(
    *,
    membership: Membership,
    tab: str = "queued",
    after: str | None = None,
    before: str | None = None,
) -> KeysetPage:
    """One tab of the outbox. Sent emails newest sent first (`msg_org_sent`), the others newest
    created first (`msg_org_status`)."""
    _label, condition = OUTBOX_TABS.get(tab, OUTBOX_TABS["queued"])
    queryset = messages_visible(membership=membership).filter(condition).select_related(*_RELATED)
    if tab == "sent":
        page = keyset_page(
            queryset.filter(sent_at__isnull=False), key="sent_at", after=after, before=before
        )
    else:
        page = keyset_page(queryset, key="created_at", after=after, before=before)
    for message in page:
        message.invoice.organization = membership.organization
        message.payer_zone = payer_zone(message, message.contact)
        message.payer_time = (
            _payer_clock(message.send_after, message.payer_zone)
            if message.send_after is not None
            else ""
        )
    return page


def _payer_clock(value: dt.datetime, zone: str) -> str:
    """A time as the payer reads it, e.g. "08:00 Wed Mar 4 in America/New_York"."""
    local = value.astimezone(ZoneInfo(zone))
    return f"{local:%H:%M %a %b} {local.day} in {zone}"


# --- one message -------------------------------------------------------------------------------


def message_timeline(*, message: Message) -> QuerySet[TimelineEvent]:
    """The invoice timeline entries about this email (they carry its public id)."""
    return (
        TimelineEvent.objects.filter(
            invoice_id=message.invoice_id, data__message=str(message.public_id)
        )
        .select_related("actor")
        .order_by("-at", "-id")
    )


def message_provider_events(*, message: Message):
    return message.events.order_by("-occurred_at", "-id")
