"""Reads for the Cash App page, the API and the CLI. Every read is scoped to one organization;
a foreign id is a 404."""

from django.db.models import Prefetch, QuerySet, Sum
from django.shortcuts import get_object_or_404

from plixo.cashapp.models import (
    UNAPPLIED_STATUSES,
    Application,
    Receipt,
    ReceiptStatus,
    Statement,
    Suggestion,
)
from plixo.core.models import Organization

# The API's `status` filter: "unapplied" is the queue (cash still to apply, not dismissed).
STATUS_FILTERS = {
    "applied": {ReceiptStatus.APPLIED},
    "suggested": {ReceiptStatus.SUGGESTED},
    "unapplied": set(UNAPPLIED_STATUSES),
    "unmatched": {ReceiptStatus.UNMATCHED},
    "rejected": {ReceiptStatus.REJECTED},
    "payout": {ReceiptStatus.PAYOUT},
}


def statement_list(*, organization: Organization) -> QuerySet[Statement]:
    return Statement.objects.filter(organization=organization).order_by("-created_at", "-id")


def statement_for(*, organization: Organization, public_id) -> Statement:
    return get_object_or_404(Statement, organization=organization, public_id=public_id)


def receipt_for(*, organization: Organization, public_id) -> Receipt:
    return get_object_or_404(Receipt, organization=organization, public_id=public_id)


def suggestion_for(*, organization: Organization, public_id) -> Suggestion:
    return get_object_or_404(
        Suggestion.objects.select_related("receipt"), organization=organization, public_id=public_id
    )


def application_for(*, organization: Organization, public_id) -> Application:
    return get_object_or_404(
        Application.objects.select_related("receipt", "payment"),
        organization=organization,
        public_id=public_id,
    )


def receipt_list(
    *, organization: Organization, statement: Statement | None = None, status: str | None = None
) -> QuerySet[Receipt]:
    """Receipts newest first, with their open suggestions and live applications prefetched
    (a page of them costs a fixed number of queries)."""
    receipts = Receipt.objects.filter(organization=organization)
    if statement is not None:
        receipts = receipts.filter(statement=statement)
    if status:
        receipts = receipts.filter(status__in=STATUS_FILTERS[status])
    return (
        receipts.select_related("statement", "customer", "stripe_payout")
        .prefetch_related(
            Prefetch(
                "suggestions",
                queryset=Suggestion.objects.filter(status=Suggestion.Status.OPEN)
                .order_by("-confidence", "id")
                .prefetch_related("lines__invoice"),
                to_attr="open_suggestions",
            ),
            Prefetch(
                "applications",
                queryset=Application.objects.order_by("created_at", "id").prefetch_related(
                    "lines__invoice"
                ),
                to_attr="all_applications",
            ),
        )
        .order_by("-booked_on", "-id")
    )


def unapplied_totals(*, organization: Organization) -> list[dict]:
    """Cash waiting in the queue, one row per currency (never summed across currencies)."""
    rows = (
        Receipt.objects.filter(organization=organization, status__in=UNAPPLIED_STATUSES)
        .values("currency")
        .annotate(amount=Sum("amount"), applied=Sum("applied_amount"))
        .order_by("currency")
    )
    return [{"currency": row["currency"], "amount": row["amount"] - row["applied"]} for row in rows]


def receipt_allocations(receipt: Receipt) -> list[dict]:
    """What a receipt has applied, per invoice, from its live applications (prefetched)."""
    totals: dict = {}
    for application in getattr(receipt, "all_applications", receipt.applications.all()):
        if application.undone_at is not None:
            continue
        for line in application.lines.all():
            entry = totals.setdefault(line.invoice_id, {"invoice": line.invoice, "amount": 0})
            entry["amount"] += line.amount
    return list(totals.values())
