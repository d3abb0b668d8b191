"""Suppressing a contact: no automated email reaches them until the suppression ends (on its
reactivation date, by the `comms.suppressions_reactivate` job, or by hand). Hard bounces and
complaints from the email provider suppress automatically (see `tracking`)."""

import datetime as dt

from django.db import transaction
from django.utils import timezone

from plixo.comms.models import CommsError, Message
from plixo.core.models import User
from plixo.ledger.models import OPEN_STATUSES, Contact, Invoice, TimelineEvent
from plixo.ledger.validation import text_check

SUPPRESSION_KINDS = {
    "vacation": "Vacation",
    "relationship": "Relationship-sensitive",
    "bounced": "Bounced",
    "complained": "Complained",
    "other": "Other",
}
# Reactivation dates further out than this are refused (a typo, not a plan).
MAX_SUPPRESSION = dt.timedelta(days=3 * 365)


def _queued_recheck(contact: Contact, now) -> None:
    """Emails waiting for this contact are looked at again on the outbox's next run (within a
    minute), so what they say and when they go follows the new suppression."""
    Message.objects.filter(contact_id=contact.pk, status=Message.Status.QUEUED).update(
        send_after=now
    )


def _timeline_on_open_invoices(
    contact: Contact, kind: str, data: dict, actor: User | None, actor_label: str, now
) -> int:
    """The suppression is part of the story of each open invoice of the contact's customer."""
    invoice_ids = list(
        Invoice.objects.filter(customer_id=contact.customer_id, status__in=OPEN_STATUSES)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                organization_id=contact.organization_id,
                invoice_id=pk,
                kind=kind,
                actor=actor,
                actor_label=actor_label,
                at=now,
                data=data,
            )
            for pk in invoice_ids
        ],
        batch_size=500,
    )
    return len(invoice_ids)


@transaction.atomic
def contact_suppress(
    *,
    contact: Contact,
    kind: str,
    reason: str = "",
    until: dt.datetime | None = None,
    actor: User | None = None,
    actor_label: str | None = None,
    now: dt.datetime | None = None,
) -> Contact:
    now = now or timezone.now()
    if kind not in SUPPRESSION_KINDS:
        raise CommsError(
            f"The reason must be one of: {', '.join(SUPPRESSION_KINDS)} (got {kind!r})."
        )
    reason = text_check(reason or "", "The note", single_line=True).strip()[:150]
    if until is not None:
        if timezone.is_naive(until):
            raise CommsError("The reactivation time needs a time zone.")
        if until <= now:
            raise CommsError("The reactivation date must be in the future.")
        if until - now > MAX_SUPPRESSION:
            raise CommsError("The reactivation date must be within three years.")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    label = SUPPRESSION_KINDS[kind]
    contact.suppression_kind = kind
    contact.suppression_reason = f"{label}: {reason}" if reason else label
    contact.suppressed_until = until
    contact.save(
        update_fields=["suppression_kind", "suppression_reason", "suppressed_until", "updated_at"]
    )
    _queued_recheck(contact, now)
    _timeline_on_open_invoices(
        contact,
        "contact_suppressed",
        {
            "contact": contact.email,
            "reason": contact.suppression_reason,
            "until": until.isoformat() if until else "",
        },
        actor,
        actor_label or (str(actor) if actor is not None else "system"),
        now,
    )
    return contact


@transaction.atomic
def contact_unsuppress(
    *,
    contact: Contact,
    actor: User | None = None,
    actor_label: str | None = None,
    now: dt.datetime | None = None,
    reason: str = "Suppression lifted by hand",
) -> Contact:
    now = now or timezone.now()
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    if not (contact.suppression_reason or contact.suppressed_until):
        return contact
    before = contact.suppression_reason
    contact.suppression_kind = ""
    contact.suppression_reason = ""
    contact.suppressed_until = None
    contact.save(
        update_fields=["suppression_kind", "suppression_reason", "suppressed_until", "updated_at"]
    )
    _queued_recheck(contact, now)
    _timeline_on_open_invoices(
        contact,
        "contact_unsuppressed",
        {"contact": contact.email, "reason": reason, "was": before},
        actor,
        actor_label or (str(actor) if actor is not None else "system"),
        now,
    )
    return contact


def suppressions_reactivate(*, now: dt.datetime | None = None) -> int:
    """End suppressions whose reactivation date has passed; the contacts re-enter automations
    by themselves. Returns how many."""
    now = now or timezone.now()
    due = list(
        Contact.objects.filter(suppressed_until__isnull=False, suppressed_until__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:5000]
    )
    for pk in due:
        contact_unsuppress(
            contact=Contact(pk=pk),
            actor_label="Plixo (reactivation date reached)",
            now=now,
            reason="Reactivation date reached",
        )
    return len(due)
