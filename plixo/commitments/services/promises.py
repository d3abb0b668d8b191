"""What staff do with a promise after it is made, and the daily check that marks the missed ones.

Transitions follow `Promise.TRANSITIONS`:

| from   | action                         | to         | cadence                                  |
|--------|--------------------------------|------------|------------------------------------------|
| open   | payment covers it              | kept       | stops or resumes (the payment's hook)    |
| open   | Mark kept (paid outside Plixo) | kept       | resumes chasing what is still open       |
| open   | date passes unpaid (job)       | missed     | back in its cadence, tailored follow-up  |
| open   | Mark missed                    | missed     | back in its cadence, tailored follow-up  |
| open   | a newer promise, a plan        | superseded | follows the newer commitment             |
| missed | late payment covers it         | kept       |                                          |
"""

import datetime as dt
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from plixo.commitments.models import Promise
from plixo.commitments.services.records import _lock_open_invoice, _text, promise_close
from plixo.core.models import User
from plixo.core.money import format_money
from plixo.ledger.models import Invoice, LedgerError
from plixo.ledger.services.cadence import cadence_notify

PROMISE_CHECK_BATCH = 500


def _today(organization, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(organization.time_zone)).date()


def _locked(promise: Promise, wanted: str = "") -> tuple[Promise, Invoice]:
    """The invoice lock first (as every payment takes it), then the promise's; refuses a move
    to the status it already has (a second click)."""
    invoice = (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("organization", "customer")
        .get(pk=promise.invoice_id)
    )
    promise = Promise.objects.select_for_update().get(pk=promise.pk)
    if wanted and promise.status == wanted:
        raise LedgerError(f"This promise is already {promise.get_status_display().lower()}.")
    return promise, invoice


@transaction.atomic
def promise_mark_kept(*, promise: Promise, actor: User | None, note: str = "") -> Promise:
    """Staff confirm the payer kept their word (paid outside Plixo, or the money is on its way
    and the team accepts it)."""
    note = _text(note, "The note", required=False)
    promise, invoice = _locked(promise, Promise.Status.KEPT)
    promise_close(
        promise=promise,
        status=Promise.Status.KEPT,
        invoice=invoice,
        actor=actor,
        data={"by_hand": True, "note": note},
    )
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="promise_closed", actor=actor)
    return promise


@transaction.atomic
def promise_mark_missed(*, promise: Promise, actor: User | None, note: str = "") -> Promise:
    """Staff record that the payer did not keep their word. The invoice goes back to its
    cadence with the tailored follow-up for a missed promise."""
    note = _text(note, "The note", required=False)
    promise, invoice = _locked(promise, Promise.Status.MISSED)
    promise_close(
        promise=promise,
        status=Promise.Status.MISSED,
        invoice=invoice,
        actor=actor,
        data={"by_hand": True, "note": note},
    )
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="promise_missed", actor=actor)
    return promise


@transaction.atomic
def promise_remind(*, promise: Promise, actor: User | None, now: dt.datetime | None = None):
    """Send the payer a reminder of their promise now, by hand (through the outbox: quiet
    hours, caps, test mode and suppression apply). Returns the queued email."""
    from plixo.comms.services.notices import notice_queue

    now = now or timezone.now()
    promise, invoice = _locked(promise)
    if promise.status != Promise.Status.OPEN:
        raise LedgerError(
            f"This promise is {promise.get_status_display().lower()}; only an open promise "
            "takes a reminder."
        )
    invoice = _lock_open_invoice(invoice, "reminders")
    message = notice_queue(
        invoice=invoice,
        template="promise_reminder",
        purpose=f"followup:promise_reminder:{promise.pk}:manual:{int(now.timestamp())}",
        actor=actor,
        contact=promise.contact,
        values={
            "promise_amount": format_money(promise.amount, promise.currency),
            "promise_date": f"{promise.promised_on:%B} {promise.promised_on.day}, "
            f"{promise.promised_on.year}",
        },
        now=now,
    )
    if message is None:
        raise LedgerError(
            f"{invoice.customer.name} has no contact with an email address; add one first."
        )
    return message


def promises_check(*, now: dt.datetime | None = None, limit: int | None = None) -> int:
    """The `commitments.promises_check` job: every open promise whose date has passed in its
    organization's time zone, and that no payment kept, becomes missed; its invoice goes back
    to its cadence with the tailored follow-up. Reads by the (status, promised_on) index, a
    batch at a time, each promise in its own transaction. Returns how many were marked."""
    now = now or timezone.now()
    marked = 0
    # The latest "today" of any time zone is UTC+14's: a promise dated on or after it is past
    # nowhere, so the index range stops there and each row is judged in its own zone.
    horizon = (now + dt.timedelta(hours=14)).date()
    last_pk = 0
    while limit is None or marked < limit:
        batch = list(
            Promise.objects.filter(
                status=Promise.Status.OPEN, promised_on__lt=horizon, pk__gt=last_pk
            )
            .select_related("organization")
            .order_by("pk")[:PROMISE_CHECK_BATCH]
        )
        if not batch:
            break
        last_pk = batch[-1].pk
        for promise in batch:
            if promise.promised_on >= _today(promise.organization, now):
                continue
            if _mark_missed_by_job(promise):
                marked += 1
    return marked


@transaction.atomic
def _mark_missed_by_job(promise: Promise) -> bool:
    promise, invoice = _locked(promise)
    if promise.status != Promise.Status.OPEN:
        return False  # kept or replaced meanwhile
    promise_close(
        promise=promise,
        status=Promise.Status.MISSED,
        invoice=invoice,
        actor_label="Plixo",
        data={"reason": "The promised date passed without a payment covering it."},
    )
    if invoice.is_open:
        cadence_notify(invoice=invoice, change="promise_missed")
    return True
