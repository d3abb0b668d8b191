"""The invoice timeline: every service that changes an invoice's story appends here."""

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from plixo.core.models import User
from plixo.core.money import quantize
from plixo.ledger.models import (
    Customer,
    Invoice,
    TimelineEvent,
)


def timeline_record(
    *,
    invoice: Invoice,
    kind: str,
    actor: User | None = None,
    actor_label: str | None = None,
    data: dict | None = None,
    at: dt.datetime | None = None,
) -> TimelineEvent:
    """Append an event to an invoice's timeline. Call it inside the transaction of the change."""
    if actor_label is None:
        actor_label = str(actor) if actor is not None else "system"
    return TimelineEvent.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=kind,
        actor=actor,
        actor_label=actor_label,
        at=at or timezone.now(),
        data=data or {},
    )


def _money(amount: Decimal, currency: str) -> str:
    """An amount as timeline data: a string in the currency's minor units ("1050.00")."""
    return str(quantize(amount, currency))


def _jsonable(value, currency: str):
    if isinstance(value, Decimal):
        return _money(value, currency)
    if isinstance(value, dt.date):
        return str(value)
    if isinstance(value, Customer):
        return value.name
    return value


NOTE_MAX_LENGTH = 2000


@transaction.atomic
def invoice_note_add(
    *, invoice: Invoice, text: str, actor: User | None, payment_reference: str = ""
) -> TimelineEvent:
    """A person's note on the invoice's timeline. `payment_reference` ties it to one of the
    payments applied to this invoice (PAY-5: "refunded in Stripe, see pi_…")."""
    from plixo.core.text import text_problem
    from plixo.ledger.models import LedgerError, Payment

    text = (text or "").strip()
    if not text:
        raise LedgerError("Write the note first.")
    if len(text) > NOTE_MAX_LENGTH:
        raise LedgerError(f"A note is at most {NOTE_MAX_LENGTH:,} characters.")
    if problem := text_problem(text):
        raise LedgerError(f"The note {problem}.")
    data = {"text": text}
    payment_reference = (payment_reference or "").strip()
    if payment_reference:
        if not Payment.objects.filter(
            organization_id=invoice.organization_id,
            reference=payment_reference,
            allocations__invoice=invoice,
        ).exists():
            raise LedgerError("That payment was not applied to this invoice.")
        data["payment_reference"] = payment_reference
    return timeline_record(invoice=invoice, kind=TimelineEvent.Kind.NOTE, actor=actor, data=data)
