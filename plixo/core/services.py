"""Writes for organizations, members and roles. Every access change leaves an audit event."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.core.signals import organization_created


def organization_create(
    *,
    name: str,
    slug: str,
    base_currency: str = "USD",
    locale: str = "en_US",
    time_zone: str = "UTC",
) -> Organization:
    organization = Organization(
        name=name, slug=slug, base_currency=base_currency, locale=locale, time_zone=time_zone
    )
    organization.full_clean()
    with transaction.atomic():
        organization.save()
        # The apps above core give it what every organization starts with, in this transaction.
        organization_created.send(sender=Organization, organization=organization)
    return organization


def user_get_or_create(*, email: str, password: str | None = None, full_name: str = "") -> User:
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    return user


def _actor_fields(actor) -> dict:
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    return {"actor": actor, "actor_label": str(actor)}


@transaction.atomic
def membership_add(
    *,
    organization: Organization,
    user: User,
    role: str,
    approval_limit: Decimal = Decimal("0"),
    actor: User | None = None,
    reason: str = "",
) -> Membership:
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    membership = Membership.objects.create(
        organization=organization, user=user, role=role, approval_limit=approval_limit
    )
    AuditEvent.objects.create(
        organization=organization,
        subject=user,
        action=AuditEvent.Action.MEMBER_ADDED,
        before={},
        after={"role": role, "approval_limit": str(approval_limit)},
        reason=reason,
        **_actor_fields(actor),
    )
    return membership


@transaction.atomic
def membership_change(
    *,
    membership: Membership,
    actor: User | None,
    reason: str,
    role: str | None = None,
    approval_limit: Decimal | None = None,
) -> Membership:
    """Change a member's role and/or approval limit; a reason is required for the trail."""
    if not reason.strip():
        raise ValidationError("Say why: the audit trail keeps a reason for every access change.")
    membership = Membership.objects.select_for_update().get(pk=membership.pk)
    if role is not None and role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    if approval_limit is not None and approval_limit < 0:
        raise ValidationError("An approval limit cannot be negative.")
    if (
        role is not None
        and role != Role.CONTROLLER
        and membership.role == Role.CONTROLLER
        and not Membership.objects.filter(
            organization=membership.organization, role=Role.CONTROLLER, is_active=True
        )
        .exclude(pk=membership.pk)
        .exists()
    ):
        raise ValidationError("The organization's last Controller cannot lose that role.")

    if role is not None and role != membership.role:
        AuditEvent.objects.create(
            organization=membership.organization,
            subject=membership.user,
            action=AuditEvent.Action.ROLE_CHANGED,
            before={"role": membership.role},
            after={"role": role},
            reason=reason.strip(),
            **_actor_fields(actor),
        )
        membership.role = role
    if approval_limit is not None and approval_limit != membership.approval_limit:
        AuditEvent.objects.create(
            organization=membership.organization,
            subject=membership.user,
            action=AuditEvent.Action.LIMIT_CHANGED,
            before={"approval_limit": str(membership.approval_limit)},
            after={"approval_limit": str(approval_limit)},
            reason=reason.strip(),
            **_actor_fields(actor),
        )
        membership.approval_limit = approval_limit
    membership.save(update_fields=["role", "approval_limit"])
    return membership
