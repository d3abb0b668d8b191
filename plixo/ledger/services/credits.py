"""Credits: a credit note that lowers what an invoice asks for (a price or quantity corrected,
a dispute settled in the payer's favour). Like a write-off it is a money decision with an
`InvoiceAdjustment` row beside the balance it moves; unlike one it does not mark the invoice
written off: a credit that covers the whole balance leaves nothing to pay (paid)."""

from decimal import Decimal

from django.db import transaction

from plixo.approvals.limits import ApprovalRequired, approval_authorizes, approval_check
from plixo.core.models import User
from plixo.core.money import MoneyError, format_money, parse_amount
from plixo.core.text import text_problem
from plixo.ledger.models import Invoice, InvoiceAdjustment, LedgerError
from plixo.ledger.services.balances import Share, customer_balance_move
from plixo.ledger.services.cadence import cadence_notify
from plixo.ledger.services.invoices import _status_after_money_move
from plixo.ledger.services.timeline import _money, timeline_record

CREDITED = "credited"
CREDIT_KIND = "credit"
REASON_MAX_LENGTH = 2000


@transaction.atomic
def invoice_credit(
    *,
    invoice: Invoice,
    actor: User | None,
    reason: str,
    amount: Decimal | str | None = None,
    approval=None,
    target_key: str | None = None,
    actor_label: str | None = None,
    data: dict | None = None,
) -> tuple[Invoice, InvoiceAdjustment]:
    """Credit `amount` (the whole balance when None) of an open invoice.

    Above the actor's approval limit (or in a currency the limit cannot be compared with) it
    raises `ApprovalRequired` and writes nothing; the caller asks for approval instead.
    `approval` is the approved request that lets it go ahead, for `target_key` (the invoice by
    default). `actor=None` is the system itself, which no limit applies to. `data` adds to the
    timeline event (the dispute it settles)."""
    reason = (reason or "").strip()
    if not reason:
        raise LedgerError("A credit needs a reason.")
    if len(reason) > REASON_MAX_LENGTH:
        raise LedgerError(f"A credit's reason is at most {REASON_MAX_LENGTH:,} characters.")
    if problem := text_problem(reason):
        raise LedgerError(f"The reason {problem}.")
    invoice = Invoice.objects.select_for_update().select_related("organization").get(pk=invoice.pk)
    if not invoice.is_open:
        raise LedgerError(
            f"Invoice {invoice.number} is {invoice.get_status_display().lower()}; "
            "there is nothing left to credit."
        )
    try:
        amount = invoice.balance if amount is None else parse_amount(amount, invoice.currency)
    except MoneyError as exc:
        raise LedgerError(str(exc)) from exc
    if amount <= 0 or amount > invoice.balance:
        raise LedgerError(
            "A credit must be more than zero and at most the balance "
            f"({format_money(invoice.balance, invoice.currency)})."
        )
    target_key = target_key or f"invoice:{invoice.public_id}"
    if approval is not None:
        approval_authorizes(
            approval,
            kind=CREDIT_KIND,
            target_key=target_key,
            amount=amount,
            currency=invoice.currency,
        )
    elif actor is not None:
        guardrail = approval_check(
            organization=invoice.organization,
            actor=actor,
            kind=CREDIT_KIND,
            amount=amount,
            currency=invoice.currency,
        )
        if guardrail is not None:
            raise ApprovalRequired(guardrail, amount=amount)
    adjustment = InvoiceAdjustment.objects.create(
        organization_id=invoice.organization_id,
        invoice=invoice,
        kind=InvoiceAdjustment.Kind.CREDIT,
        amount=amount,
        reason=reason,
        created_by=actor,
    )
    share = Share.of(invoice)
    invoice.balance -= amount
    before = invoice.status
    wanted = _status_after_money_move(invoice)
    invoice.check_transition(wanted)
    invoice.status = wanted
    invoice.save(update_fields=["balance", "status", "updated_at"])
    customer_balance_move(invoice=invoice, before=share)
    event = {
        "reason": reason,
        "amount": _money(amount, invoice.currency),
        "currency": invoice.currency,
        "balance": _money(invoice.balance, invoice.currency),
        "credit_note": str(adjustment.public_id),
        **(data or {}),
    }
    if before != invoice.status:
        event["from"], event["to"] = before, invoice.status
    if approval is not None:
        event["approved_by"] = str(approval.decided_by) if approval.decided_by else ""
    timeline_record(
        invoice=invoice, kind=CREDITED, actor=actor, actor_label=actor_label, data=event
    )
    cadence_notify(
        invoice=invoice, change="closed" if not invoice.is_open else "updated", actor=actor
    )
    return invoice, adjustment
