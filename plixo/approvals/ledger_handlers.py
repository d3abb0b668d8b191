"""The ledger's approval kinds: an approved write-off is carried out by the ledger's own
`invoice_write_off`, as the person who asked for it, with the approval as its authority."""

from decimal import Decimal

from plixo.approvals.models import ApprovalKind
from plixo.approvals.registry import register


def write_off_on_approved(approval, *, actor) -> dict:
    from plixo.ledger.services import invoice_write_off

    invoice = invoice_write_off(
        invoice=approval.invoice,
        actor=approval.requested_by,
        reason=approval.params.get("reason") or approval.rationale,
        amount=Decimal(approval.params["amount"]),
        approval=approval,
    )
    return {"invoice_status": invoice.status, "balance": str(invoice.balance)}


def register_ledger_kinds() -> None:
    register(ApprovalKind.WRITE_OFF.value, on_approved=write_off_on_approved)
