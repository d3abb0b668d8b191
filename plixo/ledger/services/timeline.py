"""The invoice timeline: every service that changes an invoice's story appends here."""

import datetime as dt
from decimal import Decimal

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
