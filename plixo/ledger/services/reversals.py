"""Taking back a payment that was recorded against the wrong invoices (a bank line applied by
mistake, then undone from the cash-application page).

A reversal is not a refund: no money went back to the payer. The payment was never right, so
its allocations and the payment itself go, every invoice it paid gets its balance back, and
each invoice's timeline says so (with who reversed it and why) in the same transaction. The
record of what was applied and undone stays with the caller (cash application keeps its
application rows).
"""

from django.db import transaction

from plixo.core.models import User
from plixo.ledger.models import Allocation, Invoice, LedgerError, Payment
from plixo.ledger.services.balances import Share, customer_balances_shift
from plixo.ledger.services.cadence import cadence_notify
from plixo.ledger.services.invoices import _status_after_money_move
from plixo.ledger.services.timeline import _money, timeline_record

PAYMENT_REVERSED = "payment_reversed"


@transaction.atomic
def payment_reverse(
    *, payment: Payment, reason: str, actor: User | None = None, actor_label: str | None = None
) -> None:
    """Remove `payment` and give its allocations back to the invoices. Refused when refunds
    were recorded against it (money really left; reverse those at the provider first)."""
    payment = Payment.objects.select_for_update().get(pk=payment.pk)
    if payment.refunded_amount or payment.refunds.exists():
        raise LedgerError(
            f"Payment {payment.reference} has refunds recorded against it and cannot be reversed."
        )
    if payment.checkouts.exists():
        raise LedgerError(
            f"Payment {payment.reference} was taken through the payer portal; refund it at the "
            "payment provider instead."
        )
    shares: dict[int, object] = {}
    for invoice_id, amount in payment.allocations.values_list("invoice_id", "amount"):
        shares[invoice_id] = shares.get(invoice_id, 0) + amount
    # Imported here: commitments build on the ledger, not the other way round.
    from plixo.commitments.services import (
        commitments_payment_reversed,
        commitments_reversal_refused,
    )

    refused = commitments_reversal_refused(invoice_ids=list(shares), payment=payment)
    if refused:
        raise LedgerError(refused)
    invoices = list(Invoice.objects.select_for_update().filter(pk__in=shares).order_by("pk"))
    Allocation.objects.filter(payment=payment).delete()
    moves = []
    for invoice in invoices:
        before = Share.of(invoice)
        status_before = invoice.status
        invoice.balance += shares[invoice.pk]
        if invoice.balance > invoice.amount:
            raise LedgerError(f"Invoice {invoice.number}: the reversal would exceed its amount.")
        wanted = _status_after_money_move(invoice)
        invoice.check_transition(wanted)
        invoice.status = wanted
        invoice.save(update_fields=["balance", "status", "updated_at"])
        moves.append([invoice.customer_id, before, Share.of(invoice)])
        timeline_record(
            invoice=invoice,
            kind=PAYMENT_REVERSED,
            actor=actor,
            actor_label=actor_label,
            data={
                "payment": str(payment.public_id),
                "reference": payment.reference,
                "amount": _money(shares[invoice.pk], payment.currency),
                "currency": payment.currency,
                "reason": (reason or "").strip()[:300],
                "balance": _money(invoice.balance, payment.currency),
                "from": status_before,
                "to": invoice.status,
            },
        )
        # The promises this payment kept and nothing else covers are open (or missed) again.
        commitments_payment_reversed(invoice=invoice, payment=payment, actor=actor)
        cadence_notify(invoice=invoice, change="refunded", actor=actor)
    customer_balances_shift(organization_id=payment.organization_id, moves=moves)
    payment.delete()
