"""What each Stripe event does: the explicit table `HANDLERS`, event type → handler.

A handler runs inside the transaction that holds the event's row lock, and returns an
`Outcome`. Every effect is idempotent on its own as well (a completed checkout answers a
repeat with the same payment; refunds are keyed on their reference), so an event applied
twice by a replay still has one effect. Amounts come in Stripe's units and are converted with
the currency's own minor units.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum

from plixo.core.money import quantize
from plixo.ledger.models import Invoice, LedgerError, Payment, PaymentMethod, PaymentSource
from plixo.ledger.services import refund_record, timeline_record
from plixo.payments import services
from plixo.payments.models import CheckoutSession, CheckoutStatus, StripeEvent, StripeEventStatus
from plixo.payments.stripe.checkout import amount_from_stripe

STRIPE_LABEL = "Stripe"
ACH_FAILED = "bank_debit_failed"


@dataclass
class Outcome:
    status: str
    message: str = ""
    invoice: Invoice | None = None
    waits_for: str = ""
    # A payment intent whose waiting events (refunds, disputes) can now be applied.
    unblocks: str = ""


def _ignored(message: str) -> Outcome:
    return Outcome(StripeEventStatus.IGNORED, message)


def _checkout_of(event: StripeEvent, obj: dict) -> CheckoutSession | None:
    """The Plixo checkout a Stripe object belongs to: by the ids Plixo put on it, and only in
    the organization whose endpoint received the event."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    checkout = None
    for ref in (obj.get("client_reference_id"), metadata.get("plixo_checkout")):
        try:
            public_id = uuid.UUID(str(ref))
        except (TypeError, ValueError, AttributeError):
            continue  # another integration's reference ("order-123"): not a Plixo checkout
        checkout = (
            CheckoutSession.objects.filter(
                public_id=public_id, organization_id=event.organization_id
            )
            .select_related("invoice")
            .first()
        )
        if checkout is not None:
            break
    if checkout is None and str(obj.get("id", "")).startswith("cs_"):
        checkout = (
            CheckoutSession.objects.filter(
                provider="stripe", provider_ref=obj["id"], organization_id=event.organization_id
            )
            .select_related("invoice")
            .first()
        )
    return checkout


def _stale(
    event: StripeEvent, checkout: CheckoutSession, *, ties_lose: bool = False
) -> Outcome | None:
    """An event Stripe created before the one that last moved this checkout's state arrived
    late: it must not move the state back (a failed ACH debit stays failed when the earlier
    "completed, unpaid" event is delivered after it). Money is never judged stale: a payment
    always completes its checkout."""
    seen = checkout.provider_event_at
    if seen is not None and (
        event.stripe_created < seen or (ties_lose and event.stripe_created == seen)
    ):
        return Outcome(
            StripeEventStatus.PROCESSED,
            "Older than what Stripe already told us about this checkout; nothing to change.",
            invoice=checkout.invoice,
        )
    return None


def _moved(event: StripeEvent, checkout: CheckoutSession) -> None:
    CheckoutSession.objects.filter(pk=checkout.pk).update(provider_event_at=event.stripe_created)


def _money_of(obj: dict, amount_key: str):
    currency = str(obj.get("currency") or "").upper()
    units = obj.get(amount_key)
    if not isinstance(units, int) or isinstance(units, bool) or not currency:
        return None, currency
    # None for a currency or an amount that does not fit (see `amount_from_stripe`).
    return amount_from_stripe(units, currency), currency


def _review(checkout: CheckoutSession, message: str, obj: dict) -> Outcome:
    """The provider's figures do not match what Plixo asked for: nothing is applied; the
    invoice says so and the Ops page lists the event until someone reviews it."""
    timeline_record(
        invoice=checkout.invoice,
        kind="payment_review",
        actor_label=STRIPE_LABEL,
        data={
            "message": message,
            "session": str(obj.get("id", "")),
            "payment_intent": str(obj.get("payment_intent") or ""),
            "amount": str(quantize(checkout.amount, checkout.currency)),
            "currency": checkout.currency,
        },
    )
    return Outcome(StripeEventStatus.REVIEW, message, invoice=checkout.invoice)


def _complete(event: StripeEvent, obj: dict, *, method: str) -> Outcome:
    checkout = _checkout_of(event, obj)
    if checkout is None:
        return _ignored("Not a checkout Plixo created.")
    amount, currency = _money_of(obj, "amount_total")
    if amount is None:
        return _review(checkout, "Stripe sent no usable amount for this checkout.", obj)
    payment_intent = str(obj.get("payment_intent") or obj.get("id"))
    try:
        services.checkout_complete(
            checkout=checkout,
            provider_ref=payment_intent,
            amount=amount,
            currency=currency,
            method=method,
        )
    except services.CheckoutMismatch as exc:
        return _review(checkout, str(exc), obj)
    return Outcome(StripeEventStatus.PROCESSED, invoice=checkout.invoice, unblocks=payment_intent)


def checkout_session_completed(event: StripeEvent, obj: dict) -> Outcome:
    payment_status = obj.get("payment_status")
    if payment_status == "paid":
        return _complete(event, obj, method=PaymentMethod.CARD)
    checkout = _checkout_of(event, obj)
    if checkout is None:
        return _ignored("Not a checkout Plixo created.")
    if payment_status == "unpaid":
        # A delayed method (ACH): the money is not there yet; async events settle it. Its
        # outcome comes after it, so an outcome stamped the same second already wins.
        if stale := _stale(event, checkout, ties_lose=True):
            return stale
        amount, currency = _money_of(obj, "amount_total")
        if amount is None:
            return _review(checkout, "Stripe sent no usable amount for this checkout.", obj)
        try:
            services.checkout_processing(checkout=checkout, amount=amount, currency=currency)
        except services.CheckoutMismatch as exc:
            return _review(checkout, str(exc), obj)
        _moved(event, checkout)
        return Outcome(StripeEventStatus.PROCESSED, invoice=checkout.invoice)
    return _ignored(f"Payment status {payment_status!r} takes nothing to record.")


def checkout_async_succeeded(event: StripeEvent, obj: dict) -> Outcome:
    return _complete(event, obj, method=PaymentMethod.ACH)


def checkout_async_failed(event: StripeEvent, obj: dict) -> Outcome:
    checkout = _checkout_of(event, obj)
    if checkout is None:
        return _ignored("Not a checkout Plixo created.")
    if stale := _stale(event, checkout):
        return stale
    if checkout.status != CheckoutStatus.PROCESSING:
        # Failed already (payment_intent.payment_failed told us first), or paid since.
        _moved(event, checkout)
        return Outcome(StripeEventStatus.PROCESSED, "Nothing to change.", invoice=checkout.invoice)
    services.checkout_fail(
        checkout=checkout,
        failure_code=ACH_FAILED,
        message="The bank debit (ACH) did not go through; no money moved.",
    )
    _moved(event, checkout)
    return Outcome(StripeEventStatus.PROCESSED, invoice=checkout.invoice)


def checkout_session_expired(event: StripeEvent, obj: dict) -> Outcome:
    checkout = _checkout_of(event, obj)
    if checkout is None:
        return _ignored("Not a checkout Plixo created.")
    if stale := _stale(event, checkout):
        return stale
    services.checkout_expire(checkout=checkout)
    _moved(event, checkout)
    return Outcome(StripeEventStatus.PROCESSED, invoice=checkout.invoice)


def payment_intent_failed(event: StripeEvent, obj: dict) -> Outcome:
    """PAY-3: a declined attempt; the code and message go on the invoice's timeline and the
    payer can try again with another card or method on Stripe's page."""
    checkout = _checkout_of(event, obj)
    if checkout is None:
        return _ignored("Not a payment Plixo started.")
    if checkout.status == CheckoutStatus.COMPLETED:
        return Outcome(StripeEventStatus.PROCESSED, "Paid since.", invoice=checkout.invoice)
    if stale := _stale(event, checkout):
        return stale
    if (
        checkout.status == CheckoutStatus.FAILED
        and checkout.failure_code == ACH_FAILED
        and checkout.provider_event_at == event.stripe_created
    ):
        # The bank debit's failure, told a second time (async_payment_failed came first).
        return Outcome(StripeEventStatus.PROCESSED, "Already failed.", invoice=checkout.invoice)
    error = obj.get("last_payment_error") or {}
    code = str(error.get("decline_code") or error.get("code") or "payment_failed")
    message = str(error.get("message") or "The payment was declined.")
    try:
        services.checkout_fail(checkout=checkout, failure_code=code, message=message)
    except services.CheckoutError as exc:
        return _ignored(str(exc))
    _moved(event, checkout)
    return Outcome(StripeEventStatus.PROCESSED, invoice=checkout.invoice)


def _stripe_payment(event: StripeEvent, payment_intent: str) -> Payment | None:
    if not payment_intent:
        return None
    return Payment.objects.filter(
        organization_id=event.organization_id, reference=payment_intent
    ).first()


def _invoice_of(payment: Payment) -> Invoice | None:
    allocation = payment.allocations.select_related("invoice").order_by("id").first()
    return allocation.invoice if allocation is not None else None


def charge_refunded(event: StripeEvent, obj: dict) -> Outcome:
    """PAY-5: Stripe's `amount_refunded` is cumulative, so whatever order the refund events
    come in, the payment ends refunded by the largest figure seen, once."""
    payment_intent = str(obj.get("payment_intent") or "")
    payment = _stripe_payment(event, payment_intent)
    if payment is None:
        if not payment_intent:
            return _ignored("A charge with no payment intent is not one Plixo took.")
        return Outcome(
            StripeEventStatus.WAITING,
            f"Refund of {payment_intent}, whose payment has not arrived yet.",
            waits_for=payment_intent,
        )
    # Locked before reading what was refunded so far: two refund events of one charge
    # processed at once see each other's refund (their event rows are different locks).
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    refunded, currency = _money_of(obj, "amount_refunded")
    if refunded is None or currency != payment.currency:
        return Outcome(StripeEventStatus.REVIEW, "The refund's amount or currency is unusable.")
    # Chargebacks (dispute ids dp_/du_) are reversals of their own, not in `amount_refunded`.
    refunds_so_far = payment.refunds.filter(source=PaymentSource.STRIPE).exclude(
        Q(reference__startswith="dp_") | Q(reference__startswith="du_")
    )
    already = refunds_so_far.aggregate(t=Sum("amount"))["t"] or Decimal("0")
    delta = refunded - already
    invoice = _invoice_of(payment)
    if delta <= 0:
        return Outcome(StripeEventStatus.PROCESSED, "Refund already recorded.", invoice=invoice)
    refunds = ((obj.get("refunds") or {}).get("data")) or []
    used = set(payment.refunds.values_list("reference", flat=True))
    # Stripe lists a charge's refunds newest first.
    fresh = [r for r in refunds if isinstance(r, dict) and r.get("id") and r["id"] not in used]
    latest = fresh[0] if fresh else {}
    reference = str(latest.get("id") or f"{obj.get('id')}:{obj.get('amount_refunded')}")
    try:
        refund_record(
            payment=payment,
            reference=reference,
            amount=delta,
            reason=REFUND_REASONS.get(str(latest.get("reason") or ""), "Refunded in Stripe"),
            source=PaymentSource.STRIPE,
            actor_label=STRIPE_LABEL,
        )
    except LedgerError as exc:
        return Outcome(StripeEventStatus.REVIEW, str(exc), invoice=invoice)
    return Outcome(StripeEventStatus.PROCESSED, invoice=invoice)


# Stripe's refund reasons, as staff read them.
REFUND_REASONS = {
    "requested_by_customer": "Requested by the customer",
    "duplicate": "Duplicate payment",
    "fraudulent": "Fraudulent payment",
    "expired_uncaptured_charge": "Uncaptured charge expired",
}

CHARGEBACK_REASONS = {
    "duplicate": "duplicate",
    "product_not_received": "not_received",
    "product_unacceptable": "quality",
}


def charge_dispute_created(event: StripeEvent, obj: dict) -> Outcome:
    """A chargeback: Stripe takes the disputed money back from the account at once, so it
    comes off the payment (the invoice reopens by as much) and a dispute opens on the invoice
    for the team to answer in Stripe. An inquiry (no money withdrawn) only goes on the
    timeline."""
    payment_intent = str(obj.get("payment_intent") or "")
    payment = _stripe_payment(event, payment_intent)
    if payment is None:
        if not payment_intent:
            return _ignored("A dispute with no payment intent is not on a payment Plixo took.")
        return Outcome(
            StripeEventStatus.WAITING,
            f"Chargeback on {payment_intent}, whose payment has not arrived yet.",
            waits_for=payment_intent,
        )
    # Locked before reading what is left of it, as for refunds.
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    amount, currency = _money_of(obj, "amount")
    invoice = _invoice_of(payment)
    if amount is None or currency != payment.currency or invoice is None:
        return Outcome(StripeEventStatus.REVIEW, "The chargeback cannot be matched to an invoice.")
    dispute_id = str(obj.get("id") or "")
    reason = str(obj.get("reason") or "general")
    status = str(obj.get("status") or "")
    if status.startswith("warning_") or dispute_id.startswith("du_"):
        timeline_record(
            invoice=invoice,
            kind="chargeback_inquiry",
            actor_label=STRIPE_LABEL,
            data={
                "dispute": dispute_id,
                "payment_reference": payment.reference,
                "reason": reason.replace("_", " "),
                "message": "The payer's bank asked about this charge (an inquiry: no money "
                "was withdrawn). Answer it in the Stripe dashboard.",
            },
        )
        return Outcome(StripeEventStatus.PROCESSED, invoice=invoice)
    if payment.refunds.filter(reference=dispute_id).exists():
        return Outcome(StripeEventStatus.PROCESSED, "Chargeback already recorded.", invoice=invoice)
    amount = min(amount, payment.amount - payment.refunded_amount)
    if amount <= 0:
        return _ignored("The payment was already refunded in full.")
    try:
        # The reversal and the dispute stand or fall together.
        with transaction.atomic():
            _chargeback_record(payment, invoice, amount, dispute_id, reason, payment_intent)
    except LedgerError as exc:
        return Outcome(StripeEventStatus.REVIEW, str(exc), invoice=invoice)
    return Outcome(StripeEventStatus.PROCESSED, invoice=invoice)


def _chargeback_record(
    payment: Payment, invoice: Invoice, amount, dispute_id: str, reason: str, payment_intent: str
) -> None:
    from plixo.disputes.models import DisputeSource
    from plixo.disputes.services import dispute_file

    refund_record(
        payment=payment,
        reference=dispute_id,
        amount=amount,
        reason=f"Chargeback: {reason.replace('_', ' ')}",
        source=PaymentSource.STRIPE,
        actor_label=STRIPE_LABEL,
    )
    invoice.refresh_from_db()
    if invoice.is_open and invoice.status != "disputed":
        dispute_file(
            invoice=invoice,
            reason_code=CHARGEBACK_REASONS.get(reason, "other"),
            amount=min(amount, invoice.balance),
            description=(
                f"Chargeback {dispute_id} on Stripe payment {payment_intent}: the payer's "
                f"bank disputes the charge ({reason.replace('_', ' ')}). Answer it with "
                "evidence in the Stripe dashboard before its deadline."
            ),
            source=DisputeSource.STRIPE,
            actor_label=STRIPE_LABEL,
        )


def payout_changed(event: StripeEvent, obj: dict) -> Outcome:
    """`payout.created`, `.updated`, `.paid`, `.failed`, `.canceled`: keep the payout as Stripe
    last described it. Events can arrive out of order, so a payout already paid or failed is
    not moved back to pending or in transit by an older event."""
    import datetime as dt

    from plixo.payments.models import StripePayout
    from plixo.payments.signals import stripe_payout_paid

    payout_id, status = obj.get("id"), obj.get("status")
    currency = str(obj.get("currency") or "").upper()
    if not isinstance(payout_id, str) or not payout_id.startswith("po_"):
        return _ignored("The payout has no payout id.")
    if status not in StripePayout.Status.values:
        return _ignored(f"Payout status {status!r} is not one Plixo knows.")
    units, arrival = obj.get("amount"), obj.get("arrival_date")
    if not isinstance(units, int) or units <= 0 or not isinstance(arrival, int):
        return _ignored("The payout has no positive amount or no arrival date.")
    amount = amount_from_stripe(units, currency)
    if amount is None:
        return _ignored(f"{units} is not an amount in {currency or 'no currency'}.")
    payout, created = StripePayout.objects.select_for_update().get_or_create(
        organization_id=event.organization_id,
        payout_id=payout_id,
        defaults={
            "amount": amount,
            "currency": currency,
            "arrival_date": dt.datetime.fromtimestamp(arrival, tz=dt.UTC).date(),
            "status": status,
            "description": str(obj.get("statement_descriptor") or obj.get("description") or "")[
                :255
            ],
        },
    )
    final = {StripePayout.Status.PAID, StripePayout.Status.FAILED, StripePayout.Status.CANCELED}
    if not created and payout.status != status and payout.status not in final:
        payout.status = status
        payout.arrival_date = dt.datetime.fromtimestamp(arrival, tz=dt.UTC).date()
        payout.save(update_fields=["status", "arrival_date", "updated_at"])
    if payout.status == StripePayout.Status.PAID and status == StripePayout.Status.PAID:
        stripe_payout_paid.send(sender=StripePayout, payout=payout)
    return Outcome(StripeEventStatus.PROCESSED, f"Payout {payout_id}: {payout.status}.")


Handler = Callable[[StripeEvent, dict], Outcome]

# The events to select on the Stripe webhook endpoint (docs/payments.md); anything else is
# stored and acknowledged.
HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": checkout_session_completed,
    "checkout.session.async_payment_succeeded": checkout_async_succeeded,
    "checkout.session.async_payment_failed": checkout_async_failed,
    "checkout.session.expired": checkout_session_expired,
    "payment_intent.payment_failed": payment_intent_failed,
    "charge.refunded": charge_refunded,
    "charge.dispute.created": charge_dispute_created,
    "payout.created": payout_changed,
    "payout.updated": payout_changed,
    "payout.paid": payout_changed,
    "payout.failed": payout_changed,
    "payout.canceled": payout_changed,
}
