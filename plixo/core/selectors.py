from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404

from plixo.core.models import AuditEvent, Membership, Organization


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
    return AuditEvent.objects.filter(organization=organization).select_related("actor", "subject")


def one_or_404(queryset: QuerySet, public_id):
    """One object of an already scoped queryset by public id. A malformed id, another
    organization's id and a missing id all answer the same 404."""
    try:
        return queryset.get(public_id=public_id)
    except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} with that id.") from exc
