"""Template helpers every staff page shares: money in the organization's locale, status
badges, sortable column headers, and the human-readable story of timeline and audit events."""

import datetime as dt
import re
import zoneinfo
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal

from babel.core import UnknownLocaleError
from django import template
from django.conf import settings
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

from plixo.core.models import Role
from plixo.core.money import MoneyError, format_money, to_decimal

register = template.Library()

DEFAULT_LOCALE = "en_US"

# Filters cannot see the template context, so the active organization's locale travels in a
# context variable that the `plixo` context processor sets at the start of every render.
_money_locale: ContextVar[str] = ContextVar("plixo_money_locale", default=DEFAULT_LOCALE)


def money_locale_activate(locale: str | None) -> None:
    _money_locale.set(locale or DEFAULT_LOCALE)


def money_text(amount, currency: str, locale: str | None = None) -> str:
    """`amount` formatted in `currency`; never raises (a page must not 500 over a bad value)."""
    if amount is None or amount == "":
        return ""
    try:
        value = to_decimal(amount)
    except MoneyError:
        return str(amount)
    try:
        return format_money(value, currency, locale or _money_locale.get())
    except (MoneyError, UnknownLocaleError, ValueError):
        try:
            return format_money(value, currency, DEFAULT_LOCALE)
        except (MoneyError, ValueError):
            return f"{value} {currency}"


@register.filter
def money(amount, currency):
    return money_text(amount, currency)


STATUS_LABELS = {
    "open": "Open",
    "partially_paid": "Partially paid",
    "paid": "Paid",
    "disputed": "Disputed",
    "void": "Void",
    "written_off": "Written off",
}


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, str(status).replace("_", " ").capitalize())


@register.filter
def status_badge(status):
    """A badge for an invoice (or job) status: `badge badge-<status>`."""
    return format_html('<span class="badge badge-{}">{}</span>', status, status_label(status))


@register.filter
def org_time_zone(organization):
    """The zone staff pages show times in: the active organization's, else the server's."""
    return getattr(organization, "time_zone", None) or settings.TIME_ZONE


def when_label(moment, organization=None) -> str:
    """A moment as people say it, in the organization's zone: "Fri 4 Dec, 17:00"; the year is
    added when it is not the current one."""
    if not moment:
        return ""
    try:
        zone = zoneinfo.ZoneInfo(org_time_zone(organization))
    except (KeyError, ValueError, zoneinfo.ZoneInfoNotFoundError):
        zone = dt.UTC
    local = moment.astimezone(zone)
    text = f"{local:%a} {local.day} {local:%b}"
    if local.year != timezone.now().astimezone(zone).year:
        text += f" {local.year}"
    return f"{text}, {local:%H:%M}"


@register.filter
def when(moment, organization=None):
    return when_label(moment, organization)


@register.filter
def role_label(role):
    try:
        return Role(role).label
    except ValueError:
        return str(role)


@register.filter
def days_overdue(invoice, today):
    """Whole days past due for an open invoice, else 0."""
    if not getattr(invoice, "is_open", False) or today is None:
        return 0
    return max((today - invoice.due_date).days, 0)


@register.filter
def duration_words(value):
    """A timedelta as people say it: "30 minutes", "2 hours", "1 day"."""
    if not isinstance(value, dt.timedelta):
        return ""
    minutes = int(value.total_seconds() // 60)
    for unit, size in (("day", 1440), ("hour", 60), ("minute", 1)):
        if minutes >= size and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    seconds = int(value.total_seconds())
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@register.simple_tag(takes_context=True)
def sort_header(context, key, label, css_class=""):
    """A column header that sorts by `key`; a second click reverses the order. The current
    sort comes from the `sort` variable of the page (default order has no arrow)."""
    request = context["request"]
    current = context.get("sort", "")
    if current == key:
        target, state, arrow = f"-{key}", "ascending", "▲"
    elif current == f"-{key}":
        target, state, arrow = key, "descending", "▼"
    else:
        target, state, arrow = key, "none", ""
    params = request.GET.copy()
    params["sort"] = target
    params.pop("page", None)
    params.pop("cursor", None)
    return format_html(
        '<th scope="col" class="{}" aria-sort="{}"><a class="sort" href="?{}">{}'
        '<span class="sort-arrow" aria-hidden="true">{}</span></a></th>',
        css_class,
        state,
        params.urlencode(),
        label,
        arrow,
    )


# --- timeline ------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    title: str
    summary: str = ""
    details: list[tuple[str, str]] = field(default_factory=list)


METHOD_LABELS = {
    "ach": "ACH",
    "card": "card",
    "wire": "wire",
    "check": "check",
    "cash": "cash",
    "other": "other",
}
SOURCE_LABELS = {
    "manual": "entered by hand",
    "import": "CSV import",
    "api": "API",
    "stripe": "Stripe",
    "sandbox": "sandbox checkout",
    "bank": "bank statement",
}
MONEY_KEYS = {"amount", "balance", "amount_due", "total", "approval_limit"}
DATE_KEYS = {"due_date", "issue_date", "paid_date", "due_on", "promised_on"}


def _date_text(value) -> str:
    try:
        day = value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    return date_format(day, "M j, Y")


_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")

PROVIDER_LABELS = {"stripe": "Stripe", "sandbox": "Sandbox (test)"}


def _value_text(key: str, value, currency: str) -> str:
    if value is None or value == "":
        return "—"
    if key in MONEY_KEYS:
        return money_text(value, currency)
    if key in DATE_KEYS:
        return _date_text(value)
    if key == "status" or (key in ("from", "to") and "@" not in str(value)):
        return status_label(str(value))
    if key == "provider":
        return PROVIDER_LABELS.get(str(value), str(value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{_field_label(str(k))}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _field_label(key: str) -> str:
    labels = {
        "po_number": "PO number",
        "due_date": "Due date",
        "issue_date": "Issue date",
        "role_after": "Then",
        "active": "Access",
    }
    return labels.get(key, key.replace("_", " ").capitalize())


def _status_move(data: dict) -> str:
    before, after = data.get("from"), data.get("to")
    if before and after and before != after:
        return f"{status_label(before)} → {status_label(after)}"
    return ""


# Timeline kinds written by the comms app (cadences, the outbox, suppression, provider
# tracking events), with the title each shows.
_COMMS_TITLES = {
    "email_drafted": "Reminder drafted",
    "email_queued": "Reminder queued",
    "email_approved": "Email approved",
    "email_held": "Email held",
    "email_failed": "Email failed",
    "email_cancelled": "Email cancelled",
    "email_requeued": "Email queued again",
    "email_delivery_unknown": "Email delivery unknown",
    "email_bounced": "Email bounced",
    "email_complained": "Spam complaint",
    "email_soft_bounced": "Email soft-bounced",
    "contact_suppressed": "Contact suppressed",
    "contact_unsuppressed": "Suppression lifted",
    "cadence_paused": "Cadence paused",
    "cadence_resumed": "Cadence resumed",
    "cadence_stopped": "Cadence stopped",
}
_FOLLOWUP_LABELS = {
    "promise_missed": "follow-up after a missed promise",
    "plan_missed": "follow-up after a missed plan installment",
    "dispute_resolved": "follow-up after a resolved dispute",
}


def _when_text(value) -> str:
    """An ISO timestamp from event data in the zone the page is shown in (the organization's:
    staff pages render inside `{% timezone %}`), with the zone named."""
    try:
        moment = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if timezone.is_naive(moment):
        return date_format(moment, "M j, Y H:i")
    local = timezone.localtime(moment)
    return f"{date_format(local, 'M j, Y H:i')} {timezone.get_current_timezone_name()}"


def _step_text(step) -> str:
    """A step as stored in event data ("+3", "-1", "followup:promise_missed:7") in words."""
    text = str(step or "")
    try:
        days = int(text)
    except ValueError:
        kind = text.removeprefix("followup:").split(":")[0]
        return _FOLLOWUP_LABELS.get(kind, text.replace("_", " "))
    if days == 0:
        return "on the due date"
    unit = "day" if abs(days) == 1 else "days"
    return f"{abs(days)} {unit} {'before' if days < 0 else 'after'} due"


class _KeepUnknown(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def _subject_text(subject: str, invoice, at) -> str:
    """A subject as recorded (the template, merge fields and all) with the fields the invoice
    alone answers filled in; the others stay as written."""
    if "{" not in subject or invoice is None:
        return subject
    values = _KeepUnknown(invoice_number=getattr(invoice, "number", ""))
    due = getattr(invoice, "due_date", None)
    if isinstance(due, dt.date):
        values["due_date"] = date_format(due, "M j, Y")
        if isinstance(at, dt.datetime):
            values["days_overdue"] = str(max((timezone.localtime(at).date() - due).days, 0))
    try:
        return subject.format_map(values)
    except (ValueError, IndexError, AttributeError, KeyError):
        return subject


def _describe_comms_event(kind: str, data: dict, entry: TimelineEntry, event, invoice) -> None:
    entry.title = _COMMS_TITLES[kind]
    subject = _subject_text(str(data.get("subject") or ""), invoice, getattr(event, "at", None))
    reason = str(data.get("reason") or "")
    recipient = str(data.get("to") or data.get("recipient") or data.get("contact") or "")
    if kind == "email_queued" and data.get("step") == "one-off":
        entry.title = "Email to the payer queued"
        entry.summary = f"Written by hand: {subject}." if subject else "Written by hand."
        entry.summary += " It goes out at the payer's next send window."
        if recipient:
            entry.details.append(("To", recipient))
        if data.get("revised_pdf"):
            entry.details.append(("Attached", f"{data['revised_pdf']} (a revised invoice)"))
        elif data.get("invoice_pdf"):
            entry.details.append(("Attached", "The invoice PDF as it is at sending"))
    elif kind in ("email_drafted", "email_queued"):
        entry.summary = f"Reminder drafted: {subject}." if subject else "Reminder drafted."
        if kind == "email_queued":
            entry.summary += " It goes out at the payer's next send window, without approval."
        elif data.get("awaiting_approval", True):
            entry.summary += " Awaiting approval."
        if data.get("warning"):
            entry.details.append(("Warning", str(data["warning"])))
        if recipient:
            entry.details.append(("To", recipient))
        if data.get("cadence"):
            step = f" · {_step_text(data['step'])}" if data.get("step") else ""
            entry.details.append(("Cadence", f"{data['cadence']}{step}"))
        if data.get("earlier_steps_skipped"):
            entry.details.append(("Earlier steps skipped", str(data["earlier_steps_skipped"])))
    elif kind == "email_approved":
        entry.summary = "Queued for the payer's next send window."
        if subject:
            entry.details.append(("Subject", subject))
    elif kind == "email_held":
        until = f" until {_when_text(data['until'])}" if data.get("until") else ""
        entry.summary = f"Held{until}" + (f" ({reason})." if reason else ".")
        if subject:
            entry.details.append(("Subject", subject))
    elif kind == "email_failed":
        entry.summary = f"Not sent: {data.get('error') or reason or 'the provider refused it'}."
    elif kind == "email_cancelled":
        count = data.get("count") or 1
        # The reason is stored as a sentence ("Invoice is paid"); here it ends one.
        why = reason.rstrip(".")
        if len(why) > 1 and why[0].isupper() and why[1].islower():
            why = why[0].lower() + why[1:]
        if count == 1 and why == "cancelled by hand":
            entry.summary = "Email cancelled by hand."
        else:
            what = "Email" if count == 1 else f"{count} unsent emails"
            entry.summary = f"{what} cancelled" + (f": {why}." if why else ".")
    elif kind == "email_requeued":
        entry.summary = "Queued to be sent again."
        if subject:
            entry.details.append(("Subject", subject))
    elif kind == "email_delivery_unknown":
        entry.summary = reason or "Whether the provider took this email is not known."
        if recipient:
            entry.details.append(("To", recipient))
    elif kind in ("email_bounced", "email_complained", "email_soft_bounced"):
        who = recipient or "The recipient"
        entry.summary = {
            "email_bounced": f"{who} bounced: no more automated email to this address.",
            "email_complained": f"{who} marked the email as spam: no more automated email.",
            "email_soft_bounced": f"Temporary delivery problem for {who}; it stays active.",
        }[kind]
        description = data.get("description") or reason
        if description:
            entry.details.append(("Provider says", str(description)))
        if data.get("provider"):
            entry.details.append(("Provider", str(data["provider"])))
    elif kind == "contact_suppressed":
        until = f" until {_when_text(data['until'])}" if data.get("until") else " until lifted"
        entry.summary = f"{recipient or 'A contact'}: {reason or 'no reason given'}{until}."
    elif kind == "contact_unsuppressed":
        entry.summary = f"{recipient or 'A contact'} receives reminders again"
        entry.summary += f" ({reason})." if reason else "."
        if data.get("was"):
            entry.details.append(("Was", str(data["was"])))
    else:  # cadence_paused, cadence_resumed, cadence_stopped
        # Reasons carry dates as stored ("Promise to pay on 2026-12-07"); shown as dates.
        reason = _ISO_DATE.sub(lambda match: _date_text(match[0]), reason)
        entry.summary = f"{reason}." if reason and not reason.endswith(".") else reason


# Apps that write timeline events of their own tell them in words: each describer returns a
# TimelineEntry for the kinds it knows and None for the rest (registered in the app's ready()).
EVENT_DESCRIBERS: list = []


def register_event_describer(describer) -> None:
    if describer not in EVENT_DESCRIBERS:
        EVENT_DESCRIBERS.append(describer)


def describe_event(event, invoice) -> TimelineEntry:
    for describer in EVENT_DESCRIBERS:
        told = describer(event, invoice)
        if told is not None:
            return told
    data = event.data if isinstance(event.data, dict) else {}
    currency = data.get("currency") or invoice.currency
    kind = event.kind
    entry = TimelineEntry(title=event.kind_label)

    def cash(key):
        return money_text(data.get(key), currency)

    if kind in ("created", "imported"):
        parts = []
        if "amount" in data:
            parts.append(f"Amount {cash('amount')}")
        if "due_date" in data:
            parts.append(f"due {_date_text(data['due_date'])}")
        entry.summary = ", ".join(parts) + ("." if parts else "")
        for key in ("batch", "source", "row"):
            if key in data:
                entry.details.append((_field_label(key), str(data[key])))
    elif kind == "updated":
        changes = data.get("changes") or {}
        if isinstance(changes, dict):
            for name, change in changes.items():
                if isinstance(change, dict):
                    before = _value_text(name, change.get("from"), currency)
                    after = _value_text(name, change.get("to"), currency)
                    entry.details.append((_field_label(name), f"{before} → {after}"))
        count = len(entry.details)
        entry.summary = f"{count} field{'s' if count != 1 else ''} changed."
    elif kind == "payment_recorded":
        method = METHOD_LABELS.get(data.get("method", ""), data.get("method", ""))
        source = SOURCE_LABELS.get(data.get("source", ""), data.get("source", ""))
        how = ", ".join(part for part in (method, source) if part)
        entry.summary = f"{cash('amount')} applied from payment {data.get('reference', '')}"
        entry.summary += f" ({how})." if how else "."
        if "balance" in data:
            entry.details.append(("Balance now", cash("balance")))
        if move := _status_move(data):
            entry.details.append(("Status", move))
    elif kind == "status_changed":
        entry.summary = _status_move(data) or status_label(str(data.get("to", "")))
        if data.get("reason"):
            entry.details.append(("Reason", str(data["reason"])))
    elif kind == "voided":
        entry.summary = f"Reason: {data.get('reason', '—')}"
        if data.get("balance"):
            entry.details.append(("Balance cancelled", cash("balance")))
        if data.get("from"):
            entry.details.append(("Status", f"{status_label(data['from'])} → Void"))
    elif kind == "written_off":
        entry.summary = f"{cash('amount')} written off."
        if data.get("reason"):
            entry.details.append(("Reason", str(data["reason"])))
        if "balance" in data:
            entry.details.append(("Balance now", cash("balance")))
        if move := _status_move(data):
            entry.details.append(("Status", move))
    elif kind == "email_sent":
        recipient = data.get("to") or data.get("recipient") or ""
        entry.summary = f"To {recipient}." if recipient else ""
        if data.get("subject"):
            entry.details.append(("Subject", str(data["subject"])))
        if data.get("test_mode"):
            meant = data.get("intended_for") or "—"
            entry.summary = f"To {recipient} (test mode, meant for {meant})."
            entry.details.append(("Test mode", f"Sent to the test address, meant for {meant}"))
    elif kind in _COMMS_TITLES:
        _describe_comms_event(kind, data, entry, event, invoice)
    elif kind == "refund_recorded":
        source = SOURCE_LABELS.get(data.get("source", ""), data.get("source", ""))
        entry.title = (
            "Chargeback"
            if str(data.get("reference", "")).startswith(("dp_", "du_"))
            else "Refund recorded"
        )
        entry.summary = (
            f"{cash('amount')} given back on payment {data.get('payment_reference', '')}"
            + (f" ({source})." if source else ".")
        )
        if data.get("reference"):
            entry.details.append(("Reference", str(data["reference"])))
        if data.get("reason"):
            entry.details.append(("Reason", str(data["reason"])))
        if "balance" in data:
            entry.details.append(("Balance now", cash("balance")))
        if move := _status_move(data):
            entry.details.append(("Status", move))
    elif kind == "payment_review":
        entry.title = "Payment needs review"
        entry.summary = f"Not applied: {data.get('message', '')}"
        if data.get("payment_intent"):
            entry.details.append(("Stripe payment", str(data["payment_intent"])))
        if data.get("session"):
            entry.details.append(("Checkout session", str(data["session"])))
    elif kind == "chargeback_inquiry":
        entry.title = "Chargeback inquiry"
        entry.summary = str(data.get("message", ""))
        for key, label in (("dispute", "Stripe dispute"), ("payment_reference", "Payment")):
            if data.get(key):
                entry.details.append((label, str(data[key])))
        if data.get("reason"):
            entry.details.append(("Reason", str(data["reason"]).capitalize()))
    elif kind == "payment_reviewed":
        entry.title = "Payment review closed"
        entry.summary = str(data.get("note", ""))
        if data.get("event"):
            entry.details.append(("Stripe event", str(data["event"])))
    elif kind == "promise_kept":
        entry.title = "Promise kept"
        promised = f"The promise of {cash('amount')} for {_date_text(data.get('promised_on', ''))}"
        if data.get("by_hand"):
            entry.summary = f"{promised} was marked kept."
        else:
            entry.summary = f"{promised} is covered by payments."
        if data.get("note"):
            entry.details.append(("Note", str(data["note"])))
    elif kind == "promise_reopened":
        entry.title = "Promise reopened"
        promised = f"The promise of {cash('amount')} for {_date_text(data.get('promised_on', ''))}"
        now = "open again" if data.get("status") == "open" else "missed: its date has passed"
        entry.summary = (
            f"{promised} is {now}; payment {data.get('payment_reference', '')} that kept it "
            "was taken back."
        )
    elif kind in ("promise_missed", "promise_superseded", "promise_cancelled"):
        outcome = {
            "promise_missed": ("Promise missed", "was not kept"),
            "promise_superseded": ("Promise replaced", "was replaced"),
            "promise_cancelled": ("Promise cancelled", "was cancelled"),
        }[kind]
        entry.title = outcome[0]
        entry.summary = (
            f"The promise of {cash('amount')} for {_date_text(data.get('promised_on', ''))} "
            f"{outcome[1]}"
        )
        if data.get("plan"):
            entry.summary += " by a payment plan."
        elif data.get("by"):
            entry.summary += " by a newer promise."
        elif data.get("reason"):
            entry.summary += f": {str(data['reason']).rstrip('.')}."
        else:
            entry.summary += "."
        if data.get("note"):
            entry.details.append(("Note", str(data["note"])))
    elif kind in ("plan_accepted", "plan_declined", "plan_cancelled"):
        entry.title = {
            "plan_accepted": "Payment plan accepted",
            "plan_declined": "Payment plan declined"
            if not data.get("countered")
            else "Payment plan countered",
            "plan_cancelled": "Payment plan cancelled",
        }[kind]
        entry.summary = f"Plan of {cash('total')}."
        if data.get("note"):
            entry.details.append(("Note", str(data["note"])))
    elif kind == "installment_missed":
        entry.title = "Plan installment missed"
        entry.summary = (
            f"Installment {data.get('installment', '')} of {cash('amount')}, due "
            f"{_date_text(data.get('due_on', ''))}, was not paid."
        )
    elif kind == "plan_defaulted":
        entry.title = "Payment plan defaulted"
        entry.summary = f"{str(data.get('reason', 'Installments missed')).rstrip('.')}."
    elif kind == "installment_paid":
        entry.title = (
            "Plan installment paid" if data.get("complete") else "Plan installment part-paid"
        )
        entry.summary = (
            f"Installment {data.get('installment', '')}: {cash('paid')} of {cash('amount')} paid."
        )
    elif kind == "plan_completed":
        entry.title = "Payment plan completed"
        entry.summary = "Marked complete." if data.get("by_hand") else "Every installment is paid."
    elif kind == "payment_processing":
        entry.title = "Bank payment processing"
        entry.summary = f"{cash('amount')} submitted by bank debit; it settles in a few days."
    elif kind == "payment_failed":
        entry.title = "Payment declined"
        entry.summary = str(data.get("message") or "The payment was declined.")
        entry.details.append(("Code", str(data.get("code", ""))))
        if "amount" in data:
            entry.details.append(("Amount", cash("amount")))
    elif kind == "note":
        entry.summary = str(data.get("text", ""))
        if data.get("payment_reference"):
            entry.details.append(("Payment", str(data["payment_reference"])))
    else:
        for key, value in data.items():
            entry.details.append((_field_label(key), _value_text(key, value, currency)))
    return entry


@register.filter
def timeline_entry(event, invoice):
    return describe_event(event, invoice)


# --- access audit trail ----------------------------------------------------------------------


@dataclass
class AuditChange:
    label: str
    before: str
    after: str


@register.filter
def audit_changes(event, currency="USD"):
    """Before → after pairs of an audit event, with roles and limits in words."""
    before = event.before if isinstance(event.before, dict) else {}
    after = event.after if isinstance(event.after, dict) else {}
    rows = []
    for key in sorted(set(before) | set(after)):

        def text(value, key=key):
            if value is None or value == "":
                return "—"
            if key in ("role", "role_after"):
                return role_label(value)
            if key in ("until", "expires"):
                try:
                    return when_label(dt.datetime.fromisoformat(str(value)), event.organization)
                except ValueError:
                    return str(value)
            if key == "active":
                return "active" if value else "inactive"
            if key == "approval_limit":
                try:
                    return money_text(Decimal(str(value)), currency)
                except ArithmeticError:
                    return str(value)
            return str(value)

        rows.append(AuditChange(_field_label(key), text(before.get(key)), text(after.get(key))))
    return rows


@register.filter
def sentence(text):
    """Text that ends a sentence, with one full stop: "Northwind Supply Co." stays as it is,
    "Acme" becomes "Acme."."""
    text = str(text).rstrip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
