"""Shared steps for the outbox tests: an approved reminder waiting in the outbox."""

import datetime as dt

from plixo.comms.models import Message
from plixo.comms.services import cadence_tick, message_approve
from plixo.ledger.models import TimelineEvent
from tests.comms.conftest import invoice_due


def approved(customer, *, actor=None, now=None, days_overdue=4) -> Message:
    """Draft the +3 reminder of a new invoice of `customer` and approve it."""
    today = (now or dt.datetime.now(dt.UTC)).date()
    invoice = invoice_due(customer, today - dt.timedelta(days=days_overdue))
    cadence_tick(now=now)
    message = Message.objects.get(invoice=invoice, status=Message.Status.DRAFT)
    return message_approve(message=message, actor=actor, now=now)


def events(message: Message, kind: str) -> list[TimelineEvent]:
    return list(TimelineEvent.objects.filter(invoice_id=message.invoice_id, kind=kind))
