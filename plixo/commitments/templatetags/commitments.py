"""How promise, plan and dispute events read on the staff invoice timeline."""

import datetime as dt
from dataclasses import dataclass, field

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.dateformat import format as date_format

from plixo.core.templatetags.plixo import money_text

register = template.Library()

SOURCES = {"portal": "through the payer portal", "staff": "by staff", "api": "through the API"}


@dataclass
class CommitmentEntry:
    summary: str = ""
    anchor: str = ""  # the record's row in the "Promises, plans and disputes" card
    details: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (name, download url)


def _day(value) -> str:
    try:
        return date_format(dt.date.fromisoformat(str(value)), "M j, Y")
    except ValueError:
        return str(value)


def _download_url(attachment_id) -> str:
    try:
        return reverse("disputes:attachment-download", kwargs={"attachment_id": attachment_id})
    except NoReverseMatch:
        return ""


@register.filter
def commitment_entry(event, invoice) -> CommitmentEntry:
    data = event.data if isinstance(event.data, dict) else {}
    currency = data.get("currency") or invoice.currency
    entry = CommitmentEntry()
    source = SOURCES.get(data.get("source", ""), "")
    if event.kind == "promise_made":
        entry.summary = f"Promise to pay {money_text(data.get('amount'), currency)}"
        # Older events (imports, demo data) may name the date `due_on`.
        if promised_on := data.get("promised_on") or data.get("due_on"):
            entry.summary += f" on {_day(promised_on)}"
        entry.anchor = f"promise-{data['promise']}" if data.get("promise") else ""
        if data.get("note"):
            entry.details.append(("Note", str(data["note"])))
    elif event.kind == "plan_proposed":
        count = data.get("installments", 0)
        entry.summary = (
            f"Plan of {count} installments for {money_text(data.get('total'), currency)}"
        )
        if data.get("first_on") and data.get("last_on"):
            entry.summary += f", {_day(data['first_on'])} to {_day(data['last_on'])}"
        entry.anchor = f"plan-{data['plan']}" if data.get("plan") else ""
        if data.get("reason"):
            entry.details.append(("Reason", str(data["reason"])))
    elif event.kind == "dispute_filed":
        entry.summary = (
            f"{data.get('reason', 'Dispute')}: {money_text(data.get('amount'), currency)} disputed"
        )
        entry.anchor = f"dispute-{data['dispute']}" if data.get("dispute") else ""
        if data.get("description"):
            entry.details.append(("Description", str(data["description"])))
        for item in data.get("attachments") or []:
            if isinstance(item, dict) and item.get("id"):
                entry.files.append((str(item.get("name", "attachment")), _download_url(item["id"])))
    if source:
        entry.summary += f" ({source})"
    entry.summary += "."
    if data.get("contact"):
        entry.details.append(("Contact", str(data["contact"])))
    return entry
