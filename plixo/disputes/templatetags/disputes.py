"""`{% load disputes %}`: the timeline events that disputes write, in words.

`describe_dispute_event` answers None for an event that is not a dispute's, so the invoice
timeline can try it first and fall back to its own description."""

from django import template

from plixo.core.templatetags.plixo import TimelineEntry, describe_event, money_text

register = template.Library()

SOURCES = {"portal": "payer portal", "staff": "staff", "api": "API", "stripe": "Stripe chargeback"}


def describe_dispute_event(event, invoice) -> TimelineEntry | None:
    data = event.data if isinstance(event.data, dict) else {}
    currency = data.get("currency") or invoice.currency
    kind = event.kind

    def cash(key: str) -> str:
        return money_text(data.get(key), currency)

    if kind == "dispute_filed":
        entry = TimelineEntry(title="Dispute filed")
        entry.summary = f"{data.get('reason', 'Dispute')}: {cash('amount')} disputed"
        if source := SOURCES.get(data.get("source", "")):
            entry.summary += f" ({source})"
        entry.summary += "."
        if data.get("description"):
            entry.details.append(("What is wrong", str(data["description"])))
        names = [
            str(a.get("name", "")) for a in data.get("attachments") or [] if isinstance(a, dict)
        ]
        if names:
            entry.details.append(("Evidence", ", ".join(names)))
        if data.get("contact"):
            entry.details.append(("Contact", str(data["contact"])))
        return entry
    if kind == "dispute_routed":
        entry = TimelineEntry(title="Dispute routed")
        entry.summary = f"To {data.get('team', 'a team')}"
        if data.get("assignee"):
            entry.summary += f", assigned to {data['assignee']}"
        entry.summary += "."
        if data.get("rule"):
            entry.details.append(("Rule", str(data["rule"])))
        if data.get("before"):
            entry.details.append(("Before", str(data["before"])))
        return entry
    if kind == "dispute_assigned":
        entry = TimelineEntry(title="Dispute assigned")
        assignee = data.get("assignee", "nobody")
        entry.summary = "Unassigned." if assignee == "nobody" else f"To {assignee}."
        if data.get("before") and data["before"] != "nobody":
            entry.details.append(("Before", str(data["before"])))
        return entry
    if kind == "dispute_under_review":
        return TimelineEntry(title="Dispute under review", summary="Marked under review.")
    if kind == "dispute_resolved":
        entry = TimelineEntry(title="Dispute resolved")
        outcome = str(data.get("outcome", "Resolved"))
        entry.summary = f"{outcome}" + (f" of {cash('amount')}" if data.get("amount") else "")
        entry.summary += "."
        if data.get("note"):
            entry.details.append(("Note", str(data["note"])))
        if data.get("approved_by"):
            entry.details.append(("Approved by", str(data["approved_by"])))
        return entry
    if kind == "dispute_resolution_declined":
        entry = TimelineEntry(title="Dispute resolution not approved")
        entry.summary = (
            f"{data.get('outcome', 'The resolution')} {str(data.get('decision', '')).lower()}; "
            "the dispute stays open."
        )
        if data.get("comment"):
            entry.details.append(("Comment", str(data["comment"])))
        return entry
    if kind == "credited":
        entry = TimelineEntry(title="Credit note")
        entry.summary = f"{cash('amount')} credited."
        if data.get("reason"):
            entry.details.append(("Reason", str(data["reason"])))
        if "balance" in data:
            entry.details.append(("Balance now", cash("balance")))
        if data.get("approved_by"):
            entry.details.append(("Approved by", str(data["approved_by"])))
        return entry
    return None


@register.filter
def dispute_event(event, invoice) -> TimelineEntry:
    """A timeline event in words: a dispute's own, or as the invoice timeline describes it."""
    return describe_dispute_event(event, invoice) or describe_event(event, invoice)
