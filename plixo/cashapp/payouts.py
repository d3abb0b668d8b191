"""Stripe payouts on bank statements.

Money a payer paid through Stripe reaches the bank as a payout: one line for many payments,
less Stripe's fees. Those payments were recorded from Stripe's own events, so the payout's line
must not be matched to invoices again. A line is taken for a payout when it names a payout id
(`po_…`) or says STRIPE; it is reconciled with the payout Stripe reported of the same amount and
currency arriving within a few days. A STRIPE line with no such payout yet waits, unmatched and
without invoice suggestions, until Stripe reports it (`payout.paid`).
"""

import datetime as dt
import re

from django.db import transaction

from plixo.cashapp.models import Receipt, ReceiptStatus
from plixo.payments.models import StripePayout

PAYOUT_ID = re.compile(r"\bpo_[A-Za-z0-9]{8,}\b")
STRIPE_WORD = re.compile(r"\bstripe\b", re.IGNORECASE)
# Banks book a payout on or a few days after the arrival date Stripe gives.
WINDOW_DAYS = 5
RECONCILABLE = (StripePayout.Status.IN_TRANSIT, StripePayout.Status.PAID)


def _text(receipt: Receipt) -> str:
    return " ".join((receipt.payer_name, receipt.reference, receipt.remittance))


def looks_like_payout(receipt: Receipt) -> bool:
    text = _text(receipt)
    return bool(PAYOUT_ID.search(text) or STRIPE_WORD.search(text))


def payout_for(receipt: Receipt) -> StripePayout | None:
    """The one Stripe payout this line is, or None (not a payout line, no payout of this
    amount reported yet, or more than one that could be it)."""
    text = _text(receipt)
    free = StripePayout.objects.filter(
        organization_id=receipt.organization_id,
        status__in=RECONCILABLE,
        currency=receipt.currency,
        amount=receipt.amount,
        receipt__isnull=True,
    )
    named = PAYOUT_ID.findall(text)
    if named:
        return free.filter(payout_id__in=named).first()
    if not STRIPE_WORD.search(text):
        return None
    window = dt.timedelta(days=WINDOW_DAYS)
    candidates = list(
        free.filter(
            arrival_date__gte=receipt.booked_on - window,
            arrival_date__lte=receipt.booked_on + window,
        ).order_by("arrival_date", "pk")[:2]
    )
    return candidates[0] if len(candidates) == 1 else None


def receipt_reconcile(*, receipt: Receipt, payout: StripePayout) -> Receipt:
    receipt.status = ReceiptStatus.PAYOUT
    receipt.stripe_payout = payout
    receipt.save(update_fields=["status", "stripe_payout", "updated_at"])
    return receipt


@transaction.atomic
def payout_reported(*, payout: StripePayout) -> Receipt | None:
    """Stripe reported a payout: reconcile the bank line already imported for it, if exactly
    one unmatched STRIPE line of its amount booked near its arrival date is waiting."""
    if payout.status not in RECONCILABLE or Receipt.objects.filter(stripe_payout=payout).exists():
        return None
    window = dt.timedelta(days=WINDOW_DAYS)
    waiting = Receipt.objects.select_for_update().filter(
        organization_id=payout.organization_id,
        status=ReceiptStatus.UNMATCHED,
        applied_amount=0,
        currency=payout.currency,
        amount=payout.amount,
        booked_on__gte=payout.arrival_date - window,
        booked_on__lte=payout.arrival_date + window,
    )
    lines = [
        receipt
        for receipt in waiting.order_by("booked_on", "pk")[:20]
        if looks_like_payout(receipt)
    ]
    named = [receipt for receipt in lines if payout.payout_id in _text(receipt)]
    if named:
        return receipt_reconcile(receipt=named[0], payout=payout)
    if len(lines) == 1 and not PAYOUT_ID.search(_text(lines[0])):
        return receipt_reconcile(receipt=lines[0], payout=payout)
    return None


def explanation(receipt: Receipt) -> str:
    """What the line is, in plain words, when it is a Stripe payout ("" otherwise)."""
    from plixo.core.money import format_money

    payout = receipt.stripe_payout
    if payout is not None:
        return (
            f"Stripe payout {payout.payout_id} of {format_money(payout.amount, payout.currency)}, "
            f"arriving {payout.arrival_date:%Y-%m-%d}: the payments it carries were recorded "
            "from Stripe, so it is not matched to invoices."
        )
    if receipt.status == ReceiptStatus.UNMATCHED and looks_like_payout(receipt):
        return (
            "Looks like a Stripe payout: the payments it carries are recorded from Stripe, so it "
            "is not matched to invoices. It is reconciled when Stripe reports a payout of this "
            "amount (the payout.paid event)."
        )
    return ""
