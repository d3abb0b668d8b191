"""Reads of disputes, scoped like the ledger: to the organization and, for Sales and CSMs, to
the accounts they own."""

from django.db.models import QuerySet

from plixo.core.models import Membership
from plixo.core.permissions import sees_only_own_accounts
from plixo.core.selectors import one_or_404
from plixo.disputes.models import Dispute, DisputeAttachment
from plixo.ledger.models import Invoice


def disputes_visible(*, membership: Membership) -> QuerySet[Dispute]:
    qs = Dispute.objects.filter(organization_id=membership.organization_id)
    if sees_only_own_accounts(membership.role):
        qs = qs.filter(invoice__customer__owner_id=membership.user_id)
    return qs


def attachments_visible(*, membership: Membership) -> QuerySet[DisputeAttachment]:
    qs = DisputeAttachment.objects.filter(organization_id=membership.organization_id)
    if sees_only_own_accounts(membership.role):
        qs = qs.filter(dispute__invoice__customer__owner_id=membership.user_id)
    return qs


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
