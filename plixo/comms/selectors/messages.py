"""Reads behind the Drafts and Outbox pages and a message's own page, always scoped to one
organization and, for Sales and CSMs, to the accounts they own.

Lists page by keyset on an indexed ordering (`msg_org_status`: organization, status,
created_at; `msg_org_sent`: organization, sent_at), so a deep page costs what the first does.
"""

import base64
import binascii
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import BooleanField, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from plixo.comms.merge import MergeFieldError, render
from plixo.comms.models import CadenceEnrollment, CadenceStep, Message, SendingSettings
from plixo.comms.services.outbox import merge_context, payer_window, payer_zone
from plixo.comms.windows import window_check
from plixo.core.models import Membership, Organization
from plixo.core.selectors import one_or_404, visible_to
from plixo.core.text import date_problem
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
        number = int(pk)
        if timezone.is_naive(value) or date_problem(value) or not 0 < number < 2**63:
            return None
        # In UTC: PostgreSQL refuses offsets past ±15:59, which ISO 8601 allows.
        return value.astimezone(dt.UTC), number
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
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


# Chip counts stop here ("10,000+"): counting every one of 200,000 drafts on each page view
# costs more than the number tells.
COUNT_CAP = 10_000


def capped_count(queryset: QuerySet, cap: int | None = None) -> int:
    """How many rows, reading at most `cap + 1` of them (more than `cap` reads as `cap + 1`)."""
    cap = COUNT_CAP if cap is None else cap
    return queryset.order_by()[: cap + 1].count()


def draft_counts(*, membership: Membership) -> dict[str, int]:
    """How many drafts, queued and held emails, each count bounded by COUNT_CAP."""
    visible = messages_visible(membership=membership)
    queued = visible.filter(status=Message.Status.QUEUED)
    held = capped_count(queued.exclude(hold_reason=""))
    return {
        "draft": capped_count(visible.filter(status=Message.Status.DRAFT)),
        "queued": max(capped_count(queued) - held, 0),
        "held": held,
    }


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
    kind: str  # "window", "held", "suppressed", "contact", "test"
    text: str


def zone_label(zone: str) -> str:
    """A time zone as people say it: "America/New_York" → "New York"."""
    return zone.rsplit("/", 1)[-1].replace("_", " ")


def _clock(value: dt.datetime, zone: str) -> str:
    return value.astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _day(value: dt.datetime, zone: str, now: dt.datetime) -> str:
    local, today = value.astimezone(ZoneInfo(zone)), now.astimezone(ZoneInfo(zone))
    if local.date() == today.date():
        return "today"
    if local.date() == today.date() + dt.timedelta(days=1):
        return "tomorrow"
    return f"{local:%a %b} {local.day}"


def _payer_when(value: dt.datetime, zone: str, now: dt.datetime) -> str:
    """E.g. "08:00 Denver time tomorrow" or "08:00 Denver time on Mon Mar 9"."""
    day = _day(value, zone, now)
    day = day if day in ("today", "tomorrow") else f"on {day}"
    return f"{_clock(value, zone)} {zone_label(zone)} time {day}"


_QUIET_HOURS = re.compile(r"^quiet hours: sends (\d\d:\d\d)–(\d\d:\d\d)\b.*$")


def window_words(reason: str) -> str:
    """A closed-window or hold reason as these pages say it: the window is the "send window",
    and the payer's zone is named once, beside the time, not again in the reason."""
    match = _QUIET_HOURS.match(reason)
    if match:
        return f"send window {match[1]}–{match[2]}"
    return reason


def hold_line(message: Message, now: dt.datetime | None = None) -> str:
    """A held email in one line, from what is stored on it (`hold_reason`, `send_after`) and
    nothing computed beside it, so two notes can never disagree."""
    if message.status != Message.Status.QUEUED or not message.hold_reason:
        return ""
    now = now or timezone.now()
    reason = window_words(message.hold_reason)
    if message.send_after is None:
        return f"Held ({reason})."
    zone = payer_zone(message, message.contact)
    return f"Held until {_payer_when(message.send_after, zone, now)} ({reason})."


@dataclass
class SendNotes:
    """What would stop or delay this email if it were sent now, and how its send button reads
    ("Send now", or the payer's time it would actually go)."""

    flags: list[Flag] = field(default_factory=list)
    send_label: str = "Send now"


def send_notes(
    message: Message,
    sending: SendingSettings,
    organization: Organization,
    now: dt.datetime | None = None,
) -> SendNotes:
    """The notes of an unsent email. A held one gets a single line from its stored hold; a draft
    or a queued one what would happen now: the payer's send window (hours, weekend, public
    holiday), a suppressed or missing contact, test mode."""
    now = now or timezone.now()
    notes = SendNotes()
    contact = message.contact
    held = hold_line(message, now)
    if held:
        notes.flags.append(Flag("held", held))
        if message.send_after is not None and message.send_after > now:
            zone = payer_zone(message, contact)
            notes.send_label = "Try to send now"
        return notes
    if contact is None:
        notes.flags.append(Flag("contact", "No contact: add one to the customer before it can go."))
    elif contact.is_suppressed:
        until = contact.suppressed_until
        text = f"Contact suppressed: {contact.suppression_reason or 'no reason given'}"
        if until is not None:
            local = timezone.localtime(until, ZoneInfo(organization.time_zone))
            text += f" (until {local:%b} {local.day}, {local.year})"
        notes.flags.append(Flag("suppressed", text + "."))
    check = window_check(payer_window(message, contact, sending), now)
    if not check.open_now:
        zone = payer_zone(message, contact)
        reason = window_words(check.reason)
        if check.opens_at is None:
            text = f"No send window soon for {zone_label(zone)} time ({reason})."
            notes.send_label = "Queue (no send window soon)"
        else:
            text = f"Waits until {_payer_when(check.opens_at, zone, now)} ({reason})."
            day = _day(check.opens_at, zone, now)
            day = "" if day == "today" else f" {day}"
            notes.send_label = f"Send at {_clock(check.opens_at, zone)}{day} (payer's time)"
        notes.flags.append(Flag("window", text))
    if not organization.is_live:
        to = sending.test_address or "the test address (none set yet)"
        meant = contact.email if contact is not None else "the customer's contact"
        notes.flags.append(Flag("test", f"Test mode: goes to {to}, meant for {meant}."))
    return notes


def draft_flags(
    message: Message,
    sending: SendingSettings,
    organization: Organization,
    now: dt.datetime | None = None,
) -> list[Flag]:
    return send_notes(message, sending, organization, now).flags


@dataclass
class Preview:
    subject: str = ""
    body: str = ""
    error: str = ""
    signed_as: str = ""
    notes: list[str] = field(default_factory=list)


def _preview_context(message: Message, contact, sending: SendingSettings, viewer):
    """The merge fields of a preview. An email is signed by whoever approves it (the outbox
    signs with the approver's name): an approved one shows its approver, an unapproved one
    the person looking at it, since it goes out in their name if they approve it."""
    context = merge_context(message, contact, sending, PREVIEW_PAY_LINK)
    if message.approved_by_id is None and viewer is not None and viewer.full_name:
        context = dataclasses.replace(context, sender_name=viewer.full_name)
    return context


def message_preview(message: Message, sending: SendingSettings, viewer=None) -> Preview:
    """The email as it would read if sent now, with the merge fields filled. Nothing is
    written: the pay link is a placeholder, never a usable link. `viewer` is the user looking
    at it (see `_preview_context`)."""
    contact = message.contact
    if contact is None:
        contact = (
            Contact.objects.filter(customer_id=message.invoice.customer_id)
            .order_by("-is_primary", "created_at", "id")
            .first()
        )
    context = _preview_context(message, contact, sending, viewer)
    try:
        return Preview(
            subject=render(message.subject, context),
            body=render(message.body, context),
            signed_as=context.sender_name,
        )
    except MergeFieldError as exc:
        return Preview(error=f"This draft cannot be filled in: {exc}")


def preview_subject(message: Message, sending: SendingSettings, viewer=None) -> str:
    """The subject as the payer would read it (the template itself if it cannot be filled)."""
    context = _preview_context(message, message.contact, sending, viewer)
    try:
        return render(message.subject, context)
    except MergeFieldError:
        return message.subject


# --- the outbox --------------------------------------------------------------------------------


def _status_one_of(*statuses: str) -> RawSQL:
    """`status IN (…)` with the statuses written into the statement rather than bound: SQLite
    uses a partial index (`msg_org_outbox_queued`, `msg_org_outbox_failed`) only when the
    query's condition matches the index's literally, and a bound `IN (?, ?)` never does, so
    the outbox would read every message of the organization to fill a page. The statuses are
    this model's own choices, never input."""
    known = set(Message.Status.values)
    assert all(status in known for status in statuses), statuses  # noqa: S101
    listed = ", ".join(f"'{status}'" for status in statuses)
    return RawSQL(  # noqa: S611 (constants from the model's choices, checked above)
        f'"comms_message"."status" IN ({listed})', (), output_field=BooleanField()
    )


OUTBOX_TABS = {
    "queued": (
        "Queued & held",
        Q(_status_one_of(Message.Status.QUEUED, Message.Status.SENDING)),
    ),
    "sent": ("Sent", Q(status=Message.Status.SENT)),
    "failed": (
        "Failed / delivery unknown",
        Q(_status_one_of(Message.Status.FAILED, Message.Status.UNKNOWN)),
    ),
    "cancelled": ("Cancelled", Q(status=Message.Status.CANCELLED)),
}


# Only tabs whose rows leave again get a count: queued and failed emails are few and move on,
# so counting them on `msg_org_status` (organization, status, …) reads a short index range. Sent
# and cancelled emails pile up over the organization's whole history; counting them would read
# every one of those index entries on each visit, so those tabs show no count.
COUNTED_TABS = {
    "queued": (Message.Status.QUEUED, Message.Status.SENDING),
    "failed": (Message.Status.FAILED, Message.Status.UNKNOWN),
}


def outbox_counts(*, membership: Membership) -> dict[str, int]:
    """Rows in the outbox tabs that are cheap to count (see `COUNTED_TABS`), each bounded by
    COUNT_CAP."""
    visible = messages_visible(membership=membership)
    return {
        tab: capped_count(visible.filter(status__in=list(group)))
        for tab, group in COUNTED_TABS.items()
    }


def count_label(count: int | None) -> str | None:
    """A chip's count as shown: "1,234", or "10,000+" past the cap."""
    if count is None:
        return None
    return f"{COUNT_CAP:,}+" if count > COUNT_CAP else f"{count:,}"


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
    now = timezone.now()
    for message in page:
        message.invoice.organization = membership.organization
        message.payer_zone = payer_zone(message, message.contact)
        message.hold_text = hold_line(message, now)
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


# --- the invoice page's Emails card ------------------------------------------------------------

_FOLLOWUPS = {
    "promise_missed": "a follow-up after the missed promise",
    "plan_missed": "a follow-up after the missed plan installment",
    "dispute_resolved": "a follow-up after the resolved dispute",
}
_ISO_DAY = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


@dataclass(frozen=True)
class CadenceStatus:
    cadence: str  # the cadence's name, "" when none
    state: str  # "active", "paused", "stopped", "finished", "" when not enrolled yet
    label: str  # "Active"
    text: str  # "next: “3 days after due” on Dec 4"


def _short_day(day: dt.date, today: dt.date) -> str:
    return f"{day:%b} {day.day}" if day.year == today.year else f"{day:%b} {day.day}, {day.year}"


def _sentence_part(text: str) -> str:
    """A stored reason ("Invoice is paid") as the second half of a line ("invoice is paid")."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text


def invoice_cadence_status(*, invoice, now: dt.datetime | None = None) -> CadenceStatus:
    """Which cadence chases the invoice and where it stands, in words. Two small indexed reads:
    the invoice's enrolment, and its cadence's next step when it is active."""

    State = CadenceEnrollment.State
    now = now or timezone.now()
    zone = ZoneInfo(invoice.organization.time_zone)
    today = now.astimezone(zone).date()
    enrollment = CadenceEnrollment.objects.filter(invoice=invoice).select_related("cadence").first()
    if enrollment is None:
        if invoice.is_open:
            return CadenceStatus(
                "", "", "Not scheduled yet", "the next scheduler run assigns a cadence"
            )
        return CadenceStatus(
            "", "", "Not chased", f"invoice is {invoice.get_status_display().lower()}"
        )
    name = enrollment.cadence.name if enrollment.cadence else ""
    label = enrollment.get_state_display()
    resumes = (
        _short_day(timezone.localtime(enrollment.next_action_at, zone).date(), today)
        if enrollment.next_action_at
        else ""
    )

    def days(text: str) -> str:
        return _ISO_DAY.sub(
            lambda m: _short_day(dt.date.fromisoformat(m[1]), today), _sentence_part(text)
        )

    if enrollment.state == State.ACTIVE:
        if enrollment.followup:
            kind = enrollment.followup.split(":", 1)[0]
            what = _FOLLOWUPS.get(kind, "a follow-up")
            return CadenceStatus(
                name, "active", label, f"next: {what}" + (f" on {resumes}" if resumes else "")
            )
        if enrollment.cadence is None:
            return CadenceStatus(name, "active", label, "no cadence assigned yet")
        steps = CadenceStep.objects.filter(cadence=enrollment.cadence, is_active=True)
        if enrollment.last_offset is not None:
            steps = steps.filter(offset_days__gt=enrollment.last_offset)
        step = steps.order_by("offset_days", "id").first()
        if step is None:
            return CadenceStatus(name, "active", label, "no further steps")
        on = invoice.due_date + dt.timedelta(days=step.offset_days)
        when = "due now" if on <= today else f"on {_short_day(on, today)}"
        return CadenceStatus(name, "active", label, f"next: “{step.offset_label}” {when}")
    if enrollment.state == State.PAUSED:
        text = days(enrollment.reason or "paused")
        promised = _ISO_DAY.search(enrollment.reason or "")
        if enrollment.reason.startswith("Promise") and promised:
            # The engine looks in earlier for the promise's reminders; chasing itself resumes
            # the day after the promised date.
            after = dt.date.fromisoformat(promised[1]) + dt.timedelta(days=1)
            text += f"; chasing resumes {_short_day(after, today)} if unpaid"
        elif enrollment.reason == "Invoice is disputed":
            text += "; chasing resumes when the dispute is closed"
        elif resumes:
            text += f"; looked at again {resumes}"
        return CadenceStatus(name, "paused", label, text)
    if enrollment.state == State.STOPPED:
        return CadenceStatus(name, "stopped", label, days(enrollment.reason or "stopped"))
    return CadenceStatus(name, "finished", label, "all steps done, nothing more is scheduled")


def invoice_emails(*, invoice, sending: SendingSettings, viewer=None, limit: int = 20) -> list:
    """The invoice's emails, newest first, each with the subject the payer reads (as sent, or
    for an unsent one filled in as in the preview)."""
    rows = list(
        Message.objects.filter(invoice=invoice)
        .select_related("contact", "cadence", "step", "approved_by")
        .order_by("-created_at", "-id")[:limit]
    )
    now = timezone.now()
    for message in rows:
        message.invoice = invoice
        message.hold_text = hold_line(message, now)
        message.subject_text = message.rendered_subject or preview_subject(message, sending, viewer)
    return rows
