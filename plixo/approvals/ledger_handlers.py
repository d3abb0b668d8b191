"""The ledger's approval kinds: an approved write-off or credit is carried out by the ledger's
own `invoice_write_off` / `invoice_credit`, as the person who asked for it, with the approval
as its authority.

A request that settles a dispute (its `params` name the dispute) is carried out by the
disputes app instead, which moves the money the same way and resolves the dispute in the same
transaction; once such a request is rejected or withdrawn the dispute may be resolved another
way (a credit's decline is also written on the dispute's history)."""

from decimal import Decimal

from plixo.approvals.models import ApprovalKind
from plixo.approvals.registry import register


def _settles_dispute(approval) -> bool:
    return bool((approval.params or {}).get("dispute"))


def write_off_on_approved(approval, *, actor) -> dict:
    if _settles_dispute(approval):
        from plixo.disputes.workflow import dispute_approval_carry_out

        return dispute_approval_carry_out(approval, actor=actor)
    from plixo.ledger.services import invoice_write_off

    invoice = invoice_write_off(
        invoice=approval.invoice,
        actor=approval.requested_by,
        reason=approval.params.get("reason") or approval.rationale,
        amount=Decimal(approval.params["amount"]),
        approval=approval,
    )
    return {"invoice_status": invoice.status, "balance": str(invoice.balance)}


def credit_on_approved(approval, *, actor) -> dict:
    if _settles_dispute(approval):
        from plixo.disputes.workflow import dispute_approval_carry_out

        return dispute_approval_carry_out(approval, actor=actor)
    from plixo.ledger.services.credits import invoice_credit

    invoice, adjustment = invoice_credit(
        invoice=approval.invoice,
        actor=approval.requested_by,
        reason=approval.params.get("reason") or approval.rationale,
        amount=Decimal(approval.params["amount"]),
        approval=approval,
        target_key=approval.target_key,
    )
    return {
        "invoice_status": invoice.status,
        "balance": str(invoice.balance),
        "credit_note": str(adjustment.public_id),
    }


def on_declined(approval, *, actor) -> None:
    if _settles_dispute(approval):
        from plixo.disputes.workflow import dispute_approval_declined

        dispute_approval_declined(approval, actor=actor)


def register_ledger_kinds() -> None:
    # A rejected write-off needs nothing undone: a dispute that waited for it reads the
    # request's status and is free to be resolved another way.
    register(ApprovalKind.WRITE_OFF.value, on_approved=write_off_on_approved)
    register(ApprovalKind.CREDIT.value, on_approved=credit_on_approved, on_rejected=on_declined)
