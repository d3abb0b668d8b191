"""Reads of disputes, scoped like the ledger: to the organization and, for Sales and CSMs, to
the accounts they own."""

from django.db.models import QuerySet

from plixo.core.models import Membership
from plixo.core.selectors import one_or_404, visible_to
from plixo.disputes.models import Dispute, DisputeAttachment
from plixo.ledger.models import Invoice


def disputes_visible(*, membership: Membership) -> QuerySet[Dispute]:
    return visible_to(
        Dispute.objects, membership=membership, owner_path="invoice__customer__owner_id"
    )


def attachments_visible(*, membership: Membership) -> QuerySet[DisputeAttachment]:
    return visible_to(
        DisputeAttachment.objects,
        membership=membership,
        owner_path="dispute__invoice__customer__owner_id",
    )


def attachment_for(*, membership: Membership, public_id) -> DisputeAttachment:
    return one_or_404(
        attachments_visible(membership=membership).select_related("dispute"), public_id
    )


def invoice_disputes(*, invoice: Invoice) -> QuerySet[Dispute]:
    return (
        Dispute.objects.filter(invoice=invoice)
        .select_related("contact")
        .prefetch_related("attachments")
        .order_by("-created_at", "-id")
    )
