"""Reads of checkouts and receipts, scoped like the ledger reads they hang off."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, QuerySet
from django.http import Http404
from django.utils import timezone

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


@dataclass(frozen=True)
class StripeHealth:
    """How an organization's Stripe connection is doing, for the settings and Ops pages."""

    account: object | None
    last_event_at: object | None
    events_24h: int
    failed: int
    waiting: int
    review: int
    lag_seconds: float | None  # median of Stripe-created → received, last 100 events
    degraded: bool
    degraded_reason: str


# Consecutive failed calls to Stripe, or failed events, from which the Ops banner shows.
API_FAILURES_DEGRADED = 3
FAILED_EVENTS_DEGRADED = 3


def _degraded_reason(account, failed: int) -> str:
    if account is not None and account.api_failures >= API_FAILURES_DEGRADED:
        return (
            f"The last {account.api_failures} calls to Stripe failed "
            f"({(account.api_last_error or 'no answer').rstrip('.')}). Payers cannot open "
            "Stripe's payment "
            "page meanwhile. If Stripe is rate limiting (429), wait a few minutes; check "
            "status.stripe.com for an incident; an authentication failure means the secret key "
            "was rolled or revoked: paste the new one in Payment settings."
        )
    if failed >= FAILED_EVENTS_DEGRADED:
        return (
            f"{failed} Stripe webhook events could not be applied, so payments may be missing "
            "from invoices. Read their errors on the Ops page, then run "
            "`plixo stripe replay --failed` (the retry job also tries them every 5 minutes)."
        )
    return ""


def stripe_degraded_reason(*, organization) -> str:
    """The degraded banner's one line for the organization, or "" (one small read: it is
    asked on every page a Controller, manager or billing admin opens). The remediation is on
    the Ops page and in Payment settings (`stripe_health`)."""
    from django.db.models import OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from plixo.payments.models import StripeAccount, StripeEvent, StripeEventStatus

    failed = (
        StripeEvent.objects.filter(
            organization_id=OuterRef("organization_id"), status=StripeEventStatus.FAILED
        )
        .values("organization_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    account = (
        StripeAccount.objects.filter(organization=organization, disconnected_at__isnull=True)
        .annotate(failed_events=Coalesce(Subquery(failed), 0))
        .first()
    )
    if account is None:
        return ""
    if account.api_failures >= API_FAILURES_DEGRADED:
        return f"the last {account.api_failures} calls to Stripe failed; payers cannot pay."
    if account.failed_events >= FAILED_EVENTS_DEGRADED:
        return f"{account.failed_events} Stripe events could not be applied."
    return ""


def stripe_health(*, organization, now=None) -> StripeHealth:
    from plixo.payments.models import StripeAccount, StripeEvent, StripeEventStatus

    now = now or timezone.now()
    account = StripeAccount.objects.filter(organization=organization).first()
    events = StripeEvent.objects.filter(organization=organization)
    counts = dict(
        events.filter(
            status__in=(
                StripeEventStatus.FAILED,
                StripeEventStatus.WAITING,
                StripeEventStatus.REVIEW,
            )
        )
        .values_list("status")
        .annotate(n=Count("id"))
    )
    recent = list(
        events.order_by("-received_at").values_list("received_at", "stripe_created")[:100]
    )
    lags = sorted((received - created).total_seconds() for received, created in recent)
    lag = lags[len(lags) // 2] if lags else None
    failed = counts.get(StripeEventStatus.FAILED, 0)
    reason = _degraded_reason(account, failed)
    return StripeHealth(
        account=account,
        last_event_at=recent[0][0] if recent else None,
        events_24h=events.filter(received_at__gte=now - dt.timedelta(hours=24)).count(),
        failed=failed,
        waiting=counts.get(StripeEventStatus.WAITING, 0),
        review=counts.get(StripeEventStatus.REVIEW, 0),
        lag_seconds=lag,
        degraded=bool(reason),
        degraded_reason=reason,
    )


def stripe_events_needing_attention(*, organization, limit: int = 20):
    from plixo.payments.models import StripeEvent, StripeEventStatus

    return (
        StripeEvent.objects.filter(
            organization=organization,
            status__in=(
                StripeEventStatus.REVIEW,
                StripeEventStatus.FAILED,
                StripeEventStatus.WAITING,
            ),
        )
        .select_related("invoice")
        .order_by("-received_at", "-id")[:limit]
    )


def stripe_event_for(*, organization, event_id: str):
    """One of the organization's Stripe events by Stripe's id; another's answers 404."""
    from plixo.payments.models import StripeEvent

    event = StripeEvent.objects.filter(organization=organization, event_id=event_id).first()
    if event is None:
        raise Http404("No such event.")
    return event
