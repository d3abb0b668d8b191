"""Reads of disputes, scoped like the ledger: to the organization and, for Sales and CSMs, to
the accounts they own."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet

from plixo.core.models import Membership, Role
from plixo.core.paging import Count, capped_counts
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import one_or_404, visible_to
from plixo.disputes.models import Dispute, DisputeAttachment, DisputeHoliday, DisputeRoutingRule
from plixo.ledger.models import Invoice, TimelineEvent


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


# --- the staff queue and detail ------------------------------------------------------------------

QUEUE_SORTS = {
    # key: (label, keyset ordering; the last column is unique)
    "sla": ("SLA soonest", ("sla_due_at", "id")),
    "newest": ("Newest", ("-created_at", "-id")),
    "oldest": ("Oldest", ("created_at", "id")),
}
QUEUE_STATUSES = {
    "open": "Open",
    "new": "New",
    "under_review": "Under review",
    "resolved": "Resolved",
    "all": "All",
}
QUEUE_DUE = {"": "Any deadline", "breached": "Past due", "due_soon": "Due soon"}


@dataclass(frozen=True)
class QueueFilters:
    status: str = "open"
    reason: str = ""
    assignee: str = ""  # "", "mine", "unassigned" or a user's public id
    team: str = ""
    due: str = ""  # "", "breached", "due_soon"
    sort: str = "sla"


def dispute_queue(
    *,
    membership: Membership,
    filters: QueueFilters,
    now: dt.datetime,
    due_soon_before: dt.datetime | None = None,
) -> QuerySet[Dispute]:
    """Disputes of the queue, filtered, joined for the page (no ordering: the caller pages by
    keyset in one of `QUEUE_SORTS`). Open disputes are those not resolved yet
    (`resolved_at IS NULL`), which the queue's indexes lead with."""
    queryset = disputes_visible(membership=membership).select_related(
        "invoice__customer", "assignee", "pending_approval"
    )
    status = filters.status
    if status == "open":
        queryset = queryset.filter(resolved_at__isnull=True)
    elif status == "new":
        queryset = queryset.filter(resolved_at__isnull=True, status=Dispute.Status.OPEN)
    elif status == "under_review":
        queryset = queryset.filter(resolved_at__isnull=True, status=Dispute.Status.UNDER_REVIEW)
    elif status == "resolved":
        queryset = queryset.filter(resolved_at__isnull=False)
    if filters.reason:
        queryset = queryset.filter(reason_code=filters.reason)
    if filters.assignee == "mine":
        queryset = queryset.filter(assignee_id=membership.user_id)
    elif filters.assignee == "unassigned":
        queryset = queryset.filter(assignee__isnull=True)
    elif filters.assignee:
        queryset = queryset.filter(assignee__public_id=filters.assignee)
    if filters.team:
        queryset = queryset.filter(routed_to=filters.team)
    if filters.due == "breached":
        queryset = queryset.filter(resolved_at__isnull=True, sla_due_at__lt=now)
    elif filters.due == "due_soon":
        queryset = queryset.filter(
            resolved_at__isnull=True, sla_due_at__gte=now, sla_due_at__lt=due_soon_before or now
        )
    return queryset


def queue_counts(
    *, membership: Membership, now: dt.datetime, due_soon_before: dt.datetime
) -> dict[str, Count]:
    """The warning chips above the queue: open, mine, unassigned, past due, due soon."""
    base = disputes_visible(membership=membership).filter(resolved_at__isnull=True)
    return capped_counts(
        {
            "open": base,
            "mine": base.filter(assignee_id=membership.user_id),
            "unassigned": base.filter(assignee__isnull=True),
            "breached": base.filter(sla_due_at__lt=now),
            "due_soon": base.filter(sla_due_at__gte=now, sla_due_at__lt=due_soon_before),
        }
    )


def dispute_for(*, membership: Membership, public_id) -> Dispute:
    return one_or_404(
        disputes_visible(membership=membership).select_related(
            "invoice__customer",
            "invoice__organization",
            "contact",
            "assignee",
            "resolved_by",
            "created_by",
            "pending_approval__decided_by",
        ),
        public_id,
    )


def dispute_history(*, dispute: Dispute) -> list[TimelineEvent]:
    """The invoice's timeline events about this dispute, oldest first: those that name it, and
    the invoice's dispute status changes and approval decisions while it was open."""
    second = dt.timedelta(seconds=1)
    events = TimelineEvent.objects.filter(
        invoice_id=dispute.invoice_id, at__gte=dispute.created_at - second
    )
    if dispute.resolved_at is not None:
        events = events.filter(at__lte=dispute.resolved_at + second)
    mine, kept = str(dispute.public_id), []
    for event in events.select_related("actor").order_by("at", "id")[:500]:
        data = event.data if isinstance(event.data, dict) else {}
        if (
            data.get("dispute") == mine
            or (event.kind == "status_changed" and "dispute" in str(data.get("reason", "")).lower())
            or event.kind.startswith("approval_")
        ):
            kept.append(event)
    return kept


def assignable_members(*, organization) -> QuerySet[Membership]:
    """Members a dispute can be given to (roles that can see invoices), by name."""
    roles = [role for role in Role.values if role_can(role, Cap.LEDGER_VIEW)]
    return (
        Membership.objects.filter(organization=organization, is_active=True, role__in=roles)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )


# --- the invoice page's card -----------------------------------------------------------------


def invoice_dispute_card(*, membership: Membership, invoice: Invoice, now=None) -> dict:
    """The context `disputes/_invoice_card.html` needs: the invoice's open disputes with their
    SLA state, and whether the member may log one."""
    from plixo.disputes.sla import SlaClock

    clock = SlaClock(invoice.organization, now=now)
    disputes = list(
        Dispute.objects.filter(invoice=invoice, resolved_at__isnull=True)
        .select_related("assignee")
        .order_by("sla_due_at", "id")[:20]
    )
    rows = [{"dispute": d, "sla": clock.state(d.sla_due_at)} for d in disputes]
    return {
        "dispute_card_invoice": invoice,
        "dispute_card_rows": rows,
        "dispute_card_can_log": invoice.is_open and role_can(membership.role, Cap.DISPUTES_LOG),
    }


# --- settings ---------------------------------------------------------------------------------


def holidays_of(*, organization) -> QuerySet[DisputeHoliday]:
    return DisputeHoliday.objects.filter(organization=organization).order_by("day")


def routing_rules_of(*, organization) -> QuerySet[DisputeRoutingRule]:
    return (
        DisputeRoutingRule.objects.filter(organization=organization)
        .select_related("assignee")
        .order_by("position", "id")
    )


def holiday_for(*, membership: Membership, public_id) -> DisputeHoliday:
    return one_or_404(
        DisputeHoliday.objects.filter(organization_id=membership.organization_id), public_id
    )


def routing_rule_for(*, membership: Membership, public_id) -> DisputeRoutingRule:
    return one_or_404(
        DisputeRoutingRule.objects.filter(organization_id=membership.organization_id), public_id
    )
