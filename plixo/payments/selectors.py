"""Reads of checkouts and receipts, scoped like the ledger reads they hang off."""

from django.db.models import QuerySet
from django.http import Http404

from plixo.core.models import Membership
from plixo.core.selectors import one_or_404
from plixo.ledger.models import Invoice
from plixo.ledger.selectors import invoices_visible
from plixo.payments.models import CheckoutSession, Receipt


def receipts_for_invoice(invoice: Invoice) -> QuerySet[Receipt]:
    """The receipts of an invoice, newest first (the invoice is already scoped by the caller)."""
    return (
        Receipt.objects.filter(invoice=invoice, organization_id=invoice.organization_id)
        .select_related("payment")
        .order_by("-issued_at", "-id")
    )


def receipt_for(*, membership: Membership, public_id) -> Receipt:
    """A receipt on an invoice the member may see; 404 otherwise."""
    receipts = Receipt.objects.filter(
        invoice__in=invoices_visible(membership=membership)
    ).select_related("invoice__customer", "invoice__organization", "payment", "checkout__contact")
    return one_or_404(receipts, public_id)


def checkout_for_portal_session(*, portal_session, public_id) -> CheckoutSession:
    """A checkout opened by this portal session; any other checkout is not found."""
    if portal_session is None:
        raise Http404("No such checkout.")
    checkouts = CheckoutSession.objects.filter(
        organization_id=portal_session.organization_id,
        invoice_id=portal_session.invoice_id,
        portal_session_ref=str(portal_session.public_id),
    ).select_related("invoice__organization", "invoice__customer", "contact")
    return one_or_404(checkouts, public_id)
