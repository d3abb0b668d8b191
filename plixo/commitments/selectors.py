"""Reads of promises and plans for the pages that show them."""

from dataclasses import dataclass, field

from django.db.models import QuerySet

from plixo.commitments.models import PaymentPlan, Promise
from plixo.disputes.models import Dispute
from plixo.disputes.selectors import invoice_disputes
from plixo.ledger.models import Invoice


def invoice_promises(*, invoice: Invoice) -> QuerySet[Promise]:
    return (
        Promise.objects.filter(invoice=invoice)
        .select_related("contact")
        .order_by("-created_at", "-id")
    )


def invoice_plans(*, invoice: Invoice) -> QuerySet[PaymentPlan]:
    return (
        PaymentPlan.objects.filter(invoice=invoice)
        .select_related("contact")
        .prefetch_related("installments")
        .order_by("-created_at", "-id")
    )


@dataclass(frozen=True)
class InvoiceCommitments:
    """What the payer committed to or contested on one invoice, newest first."""

    promises: list[Promise] = field(default_factory=list)
    plans: list[PaymentPlan] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.promises or self.plans or self.disputes)


def invoice_commitments(*, invoice: Invoice) -> InvoiceCommitments:
    """Promises, plans and disputes of an invoice the caller has already been allowed to see
    (the invoice comes from a scoped selector such as `ledger.selectors.invoice_for`)."""
    return InvoiceCommitments(
        promises=list(invoice_promises(invoice=invoice)),
        plans=list(invoice_plans(invoice=invoice)),
        disputes=list(invoice_disputes(invoice=invoice)),
    )
