"""Reads for the approvals inbox, the limits page and the API."""

import datetime as dt
from statistics import median

from django.db.models import Q, QuerySet

from plixo.approvals.limits import effective_limit
from plixo.approvals.models import ApprovalRequest, ApprovalRoute, RoleApprovalLimit
from plixo.core.models import Membership, Organization, Role
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import one_or_404

# The turnaround median is taken over the latest decisions, enough to be steady and bounded.
TURNAROUND_SAMPLE = 200


def approvals_visible(*, membership: Membership) -> QuerySet[ApprovalRequest]:
    """Requests the member may see: a Controller every one of the organization; an approver
    those routed to their role and their own; anyone else their own requests."""
    qs = ApprovalRequest.objects.filter(organization_id=membership.organization_id)
    if membership.role == Role.CONTROLLER:
        pass
    elif role_can(membership.role, Cap.APPROVALS_DECIDE):
        qs = qs.filter(Q(routed_to=membership.role) | Q(requested_by_id=membership.user_id))
    else:
        qs = qs.filter(requested_by_id=membership.user_id)
    return qs.select_related("invoice", "requested_by", "decided_by")


def approval_list(
    *, membership: Membership, status: str | None = None, kind: str | None = None
) -> QuerySet[ApprovalRequest]:
    qs = approvals_visible(membership=membership)
    if status:
        qs = qs.filter(status=status)
    if kind:
        qs = qs.filter(kind=kind)
    return qs


def approvals_pending_for_invoice(*, invoice) -> list[ApprovalRequest]:
    """Requests on the invoice waiting for a decision, for its page."""
    return list(
        ApprovalRequest.objects.filter(
            organization_id=invoice.organization_id,
            invoice=invoice,
            status=ApprovalRequest.Status.PENDING,
        ).select_related("requested_by")
    )


def approval_for(*, membership: Membership, public_id) -> ApprovalRequest:
    """One request of the member's organization (another organization's id is a 404). The
    lists narrow to what concerns the member; one request is no secret inside the
    organization (the invoice page shows pending ones), and who may decide or cancel it is
    the services' rule."""
    qs = ApprovalRequest.objects.filter(organization_id=membership.organization_id)
    return one_or_404(qs.select_related("invoice", "requested_by", "decided_by"), public_id)


def turnaround_median(*, organization: Organization) -> dt.timedelta | None:
    """Median time from request to decision (approved or rejected) over recent decisions."""
    rows = (
        ApprovalRequest.objects.filter(
            organization=organization,
            status__in=[ApprovalRequest.Status.APPROVED, ApprovalRequest.Status.REJECTED],
        )
        .order_by("-decided_at")
        .values_list("created_at", "decided_at")[:TURNAROUND_SAMPLE]
    )
    durations = [decided - created for created, decided in rows if decided is not None]
    if not durations:
        return None
    return median(durations)


def role_limits(*, organization: Organization) -> dict[str, object]:
    """Role -> default limit (a Decimal, or None where none is set)."""
    found = dict(
        RoleApprovalLimit.objects.filter(organization=organization).values_list("role", "amount")
    )
    return {role: found.get(role) for role in Role.values}


def approval_routes(*, organization: Organization) -> QuerySet[ApprovalRoute]:
    return ApprovalRoute.objects.filter(organization=organization).order_by(
        "kind", "amount_above", "id"
    )


def members_with_limits(*, organization: Organization) -> list[tuple[Membership, object]]:
    """Active members with their effective limit (None: no limit)."""
    members = (
        Membership.objects.filter(organization=organization, is_active=True)
        .select_related("user")
        .order_by("role", "user__email")
    )
    defaults = role_limits(organization=organization)
    return [(m, effective_limit(membership=m, role_defaults=defaults)) for m in members]
