from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from plixo.core.models import AuditEvent, Invitation, Membership, Organization
from plixo.core.permissions import sees_only_own_accounts


def memberships_for_user(*, user) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, is_active=True)
        .select_related("organization")
        .order_by("organization__name")
    )


def members_of(*, organization: Organization) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__email")
    )


def audit_trail(*, organization: Organization) -> QuerySet[AuditEvent]:
    return AuditEvent.objects.filter(organization=organization).select_related(
        "actor", "subject", "organization"
    )


def one_or_404(queryset: QuerySet, public_id):
    """One object of an already scoped queryset by public id. A malformed id, another
    organization's id and a missing id all answer the same 404."""
    try:
        return queryset.get(public_id=public_id)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} with that id.") from exc


def visible_to(queryset: QuerySet, *, membership: Membership, owner_path: str) -> QuerySet:
    """Rows of the member's organization; for Sales and CSMs only those on accounts they own,
    `owner_path` leading from the row to the customer's owner (e.g. `customer__owner_id`)."""
    queryset = queryset.filter(organization_id=membership.organization_id)
    if sees_only_own_accounts(membership.role):
        queryset = queryset.filter(**{owner_path: membership.user_id})
    return queryset


def invitations_open(*, organization: Organization) -> QuerySet[Invitation]:
    """Invitations not accepted or revoked (expired ones too: they can be sent again)."""
    return (
        Invitation.objects.filter(
            organization=organization, accepted_at__isnull=True, revoked_at__isnull=True
        )
        .select_related("invited_by")
        .order_by("-created_at", "-id")
    )


def invitation_for(*, organization: Organization, public_id) -> Invitation:
    return one_or_404(Invitation.objects.filter(organization=organization), public_id)
