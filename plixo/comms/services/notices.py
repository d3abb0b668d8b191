"""Emails about a payer's commitments that a person decided to send: a promise reminder sent by
hand, the answer to a payment plan proposal, a plan's schedule sent again.

They go through the outbox like any cadence email (quiet hours, caps, test mode, suppression),
and may go while the cadence is paused by that promise or plan: the pause stops chasing, not
answering. The staff member's click is the approval, so a notice is queued at once.
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone

from plixo.comms.defaults import FOLLOWUPS, NOTICES
from plixo.comms.models import Message
from plixo.core.models import User
from plixo.ledger.models import Contact, Invoice
from plixo.ledger.services import timeline_record

# Purposes of emails that may go out while the invoice's cadence is paused (not stopped, and
# never while the invoice is disputed).
SENDS_WHILE_PAUSED = ("notice:", "followup:promise_reminder:")


def sends_while_paused(purpose: str) -> bool:
    return purpose.startswith(SENDS_WHILE_PAUSED)


def notice_contact(invoice: Invoice, contact: Contact | None = None) -> Contact | None:
    """`contact` when it can take email, else the customer's primary (or first) contact with
    an address."""
    if contact is not None and contact.email:
        return contact
    return (
        Contact.objects.filter(customer_id=invoice.customer_id)
        .exclude(Q(email="") | Q(email__isnull=True))
        .order_by("-is_primary", "created_at", "id")
        .first()
    )


def fill(text: str, values: dict[str, str]) -> str:
    """Write the notice's own facts (a schedule, a date) into the template; merge fields are
    left for the moment of sending."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", value.replace("{", "(").replace("}", ")"))
    return text


def notice_queue(
    *,
    invoice: Invoice,
    template: str,
    purpose: str,
    actor: User | None,
    contact: Contact | None = None,
    values: dict[str, str] | None = None,
    now: dt.datetime | None = None,
) -> Message | None:
    """Queue the email `template` (a key of `NOTICES`, or `promise_reminder`) about `invoice`.
    Call inside the transaction that made the decision, after the cadence has been told (its
    change cancels unsent email). Returns None when the customer has no contact with an email
    address: the caller says so."""
    now = now or timezone.now()
    contact = notice_contact(invoice, contact)
    if contact is None:
        return None
    tone, subject, body = NOTICES.get(template) or FOLLOWUPS[template]
    values = values or {}
    subject, body = fill(subject, values), fill(body, values)
    message = Message.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        contact=contact,
        kind=Message.Kind.MANUAL,
        purpose=purpose[:80],
        idempotency_key=f"{invoice.organization_id}:{invoice.pk}:{purpose}"[:120],
        tone=tone,
        subject=subject,
        body=body,
        requires_approval=False,
        status=Message.Status.QUEUED,
        send_after=now,
        intended_email=contact.email,
        created_by=actor,
        approved_by=actor,
        approved_at=now,
    )
    timeline_record(
        invoice=invoice,
        kind="email_queued",
        actor=actor,
        at=now,
        data={
            "message": str(message.public_id),
            "subject": subject,
            "to": contact.email,
            "step": purpose.split(":")[1] if ":" in purpose else purpose,
            "awaiting_approval": False,
        },
    )
    return message
