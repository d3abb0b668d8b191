"""Stripe webhooks: receive → store raw → verify → deduplicate → process, and replay.

1. Every delivery is stored raw (`WebhookDelivery`) and committed before anything else.
2. `Stripe-Signature` is verified with the organization's signing secret and a 300-second
   tolerance (`stripe.WebhookSignature.verify_header`); a bad or stale one answers 400 and
   changes nothing.
3. The event is stored once per organization: a unique constraint on its id, so two
   concurrent deliveries of one event make one row.
4. It is processed under that row's lock, through `handlers.HANDLERS`, in one transaction;
   an error is kept on the event (and Stripe retries, since the answer is then 500).
"""

import datetime as dt
import json
import logging
import traceback
from dataclasses import dataclass

import stripe
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from plixo.core.models import Organization
from plixo.payments.models import (
    StripeAccount,
    StripeEvent,
    StripeEventStatus,
    WebhookDelivery,
)
from plixo.payments.stripe.handlers import HANDLERS, Outcome

logger = logging.getLogger(__name__)

TOLERANCE_SECONDS = 300
MAX_BODY_BYTES = 256 * 1024
# Events in these states have not had their effect yet; a delivery or the retry job tries them.
RETRYABLE = frozenset(
    {StripeEventStatus.PENDING, StripeEventStatus.FAILED, StripeEventStatus.WAITING}
)


@dataclass(frozen=True)
class WebhookAnswer:
    status_code: int
    message: str
    event: StripeEvent | None = None


def _reject(delivery: WebhookDelivery, reason: str) -> WebhookAnswer:
    WebhookDelivery.objects.filter(pk=delivery.pk).update(verified=False, rejection=reason[:300])
    return WebhookAnswer(400, reason)


def _parsed(body: bytes) -> dict | None:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    data = payload.get("data")
    event_id, kind, created = payload.get("id"), payload.get("type"), payload.get("created")
    if (
        not isinstance(event_id, str)
        or not event_id.startswith("evt_")
        or len(event_id) > 255
        or not isinstance(kind, str)
        or len(kind) > 100
        or not isinstance(created, int)
        or not isinstance(data, dict)
        or not isinstance(data.get("object"), dict)
    ):
        return None
    return payload


_LOOK_UP = object()


def webhook_receive(
    *,
    organization: Organization,
    body: bytes,
    signature: str,
    now: dt.datetime | None = None,
    account: StripeAccount | None | object = _LOOK_UP,
) -> WebhookAnswer:
    """`account`: the organization's Stripe account when the caller has read it already."""
    now = now or timezone.now()
    if len(body) > MAX_BODY_BYTES:
        return WebhookAnswer(413, "The delivery is larger than any Stripe event.")
    delivery = WebhookDelivery.objects.create(
        organization=organization, received_at=now, body=body, signature=(signature or "")[:1000]
    )
    if account is _LOOK_UP:
        account = StripeAccount.objects.filter(organization=organization).first()
    if account is None:
        return _reject(delivery, "This organization has not connected a Stripe account.")
    if not signature:
        return _reject(delivery, "The Stripe-Signature header is missing.")
    try:
        text = body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            text, signature, account.webhook_secret, TOLERANCE_SECONDS
        )
    except UnicodeDecodeError:
        return _reject(delivery, "The body is not UTF-8 text.")
    except stripe.SignatureVerificationError as exc:
        return _reject(delivery, f"Signature check failed: {exc.user_message or exc}")
    payload = _parsed(body)
    if payload is None:
        return _reject(delivery, "The body is not a Stripe event.")
    if bool(payload.get("livemode")) != account.livemode:
        # A live endpoint's secret paired with a test key (or the reverse): refuse loudly, so
        # the misconfiguration shows instead of payments silently going nowhere.
        mode = "live" if payload.get("livemode") else "test"
        key = "live" if account.livemode else "test"
        return _reject(delivery, f"A {mode}-mode event, but the organization has a {key} key.")

    # One transaction from here: the event row (or the count of a repeat), the delivery's
    # verdict and the event's effect commit together.
    with transaction.atomic():
        event = _event_store(organization, payload, now)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(verified=True, event=event)
        event = event_process(event)
    if event.status == StripeEventStatus.FAILED:
        return WebhookAnswer(500, "The event is stored but could not be applied yet.", event)
    return WebhookAnswer(200, event.get_status_display(), event)


def _event_store(organization: Organization, payload: dict, now: dt.datetime) -> StripeEvent:
    created = dt.datetime.fromtimestamp(payload["created"], tz=dt.UTC)
    try:
        with transaction.atomic():
            return StripeEvent.objects.create(
                organization=organization,
                event_id=payload["id"],
                type=payload["type"],
                livemode=bool(payload.get("livemode")),
                payload=payload,
                stripe_created=created,
                received_at=now,
            )
    except IntegrityError:
        # Delivered before (or at this very moment by another worker): one row, counted.
        event = StripeEvent.objects.get(organization=organization, event_id=payload["id"])
        StripeEvent.objects.filter(pk=event.pk).update(deliveries=F("deliveries") + 1)
        return event


def _traceback_tail(exc: BaseException) -> str:
    lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
    return "".join(lines)[-4000:]


def event_process(event: StripeEvent, *, again: bool = False) -> StripeEvent:
    """Apply an event once. An event that has had its effect (processed) or waits for a
    person (review) is never applied again. `again` (a full replay) also retries events that
    were acknowledged with nothing to do, for when a handler learned something new. Returns the
    event as it now stands."""
    unblocks = ""
    # No savepoint of its own inside a delivery's transaction: the handler has one, and any
    # other error must undo the whole delivery (Stripe then retries it).
    with transaction.atomic(savepoint=False):
        event = StripeEvent.objects.select_for_update().get(pk=event.pk)
        retry = event.status in RETRYABLE or (again and event.status == StripeEventStatus.IGNORED)
        if not retry:
            return event
        handler = HANDLERS.get(event.type)
        event.attempts += 1
        now = timezone.now()
        if handler is None:
            outcome = Outcome(StripeEventStatus.IGNORED, "No handler: stored and acknowledged.")
        else:
            try:
                with transaction.atomic():
                    outcome = handler(event, event.payload["data"]["object"])
            except Exception as exc:
                logger.exception(
                    "stripe event failed", extra={"event": event.event_id, "type": event.type}
                )
                outcome = Outcome(StripeEventStatus.FAILED, _traceback_tail(exc))
        event.status = outcome.status
        event.error = outcome.message if outcome.status != StripeEventStatus.PROCESSED else ""
        event.waits_for = outcome.waits_for
        if outcome.invoice is not None:
            event.invoice = outcome.invoice
        event.processed_at = now
        event.save(
            update_fields=["status", "error", "waits_for", "invoice", "processed_at", "attempts"]
        )
        unblocks = outcome.unblocks
    if unblocks:
        waiting_process(organization_id=event.organization_id, payment_intent=unblocks)
    return event


def waiting_process(*, organization_id: int, payment_intent: str) -> int:
    """Apply the events that waited for this payment (a refund or chargeback delivered before
    the payment itself), oldest first."""
    waiting = StripeEvent.objects.filter(
        organization_id=organization_id,
        waits_for=payment_intent,
        status=StripeEventStatus.WAITING,
    ).order_by("stripe_created", "pk")
    count = 0
    for pk in waiting.values_list("pk", flat=True):
        event_process(StripeEvent(pk=pk))
        count += 1
    return count


def events_replay(
    *, failed_only: bool = False, organization: Organization | None = None, limit: int = 10_000
) -> dict[str, int]:
    """Reprocess stored events, oldest first: with `failed_only` the failed and waiting ones;
    otherwise those too and the ones acknowledged with nothing to do. An event that had its
    effect is never applied again, so a replay can be run at any time."""
    qs = StripeEvent.objects.all()
    if organization is not None:
        qs = qs.filter(organization=organization)
    if failed_only:
        qs = qs.filter(status__in=(StripeEventStatus.FAILED, StripeEventStatus.WAITING))
    counts: dict[str, int] = {}
    for pk in qs.order_by("stripe_created", "pk").values_list("pk", flat=True)[:limit]:
        event = event_process(StripeEvent(pk=pk), again=not failed_only)
        counts[event.status] = counts.get(event.status, 0) + 1
    return counts


def events_retry_due(*, max_attempts: int = 8) -> int:
    """The job: try failed and waiting events again (a few times, then they stay for a person
    to look at on the Ops page)."""
    qs = StripeEvent.objects.filter(
        Q(status=StripeEventStatus.FAILED) | Q(status=StripeEventStatus.WAITING),
        attempts__lt=max_attempts,
    ).order_by("received_at", "pk")
    done = 0
    for pk in qs.values_list("pk", flat=True)[:500]:
        event_process(StripeEvent(pk=pk))
        done += 1
    return done


def deliveries_prune(*, now: dt.datetime | None = None, keep_days: int = 30) -> int:
    """Raw deliveries are kept 30 days (the events themselves stay)."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=keep_days)
    deleted, _ = WebhookDelivery.objects.filter(received_at__lt=cutoff).delete()
    return deleted


@transaction.atomic
def event_review_close(*, event: StripeEvent, actor, note: str) -> StripeEvent:
    """A person looked at an event flagged for review and says what was done about it."""
    from plixo.core.text import text_problem
    from plixo.ledger.models import LedgerError
    from plixo.ledger.services import timeline_record

    note = (note or "").strip()
    if not note:
        raise LedgerError("Say what was done about it (a note is required).")
    if len(note) > 2000:
        raise LedgerError("The note is too long (at most 2,000 characters).")
    problem = text_problem(note)
    if problem:
        raise LedgerError(f"The note {problem}.")
    event = StripeEvent.objects.select_for_update().get(pk=event.pk)
    if event.status != StripeEventStatus.REVIEW:
        raise LedgerError("This event is not waiting for review.")
    event.status = StripeEventStatus.REVIEWED
    event.reviewed_by = actor
    event.review_note = note
    event.save(update_fields=["status", "reviewed_by", "review_note"])
    if event.invoice_id:
        timeline_record(
            invoice=event.invoice,
            kind="payment_reviewed",
            actor=actor,
            data={"event": event.event_id, "note": note},
        )
    return event
