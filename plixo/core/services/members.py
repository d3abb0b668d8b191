"""Writes for organizations, members and roles. Every access change leaves an audit event.

The member services check the actor's capability themselves (`Cap.TEAM_MANAGE` in the
organization), so the team page, the API and the command line get the same answer; the revert
job acts as the system (`actor=None`).

Two rules hold whatever the path:
- nobody changes their own role, limit or access (another Controller does it);
- an organization always keeps one active member whose lasting role is Controller. A temporary
  Controller does not count: the revert job would take that role away again.
"""

import datetime as dt
from decimal import Decimal

import structlog
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.core.permissions import Cap, role_can
from plixo.core.signals import organization_created
from plixo.core.text import text_problem

log = structlog.get_logger("plixo.core.members")

REASON_MAX_LENGTH = 500
NAME_MAX_LENGTH = 150
TEMPORARY_ROLE_MAX = dt.timedelta(days=90)
TEMPORARY_ROLE_MIN = dt.timedelta(minutes=5)


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
    """Change a member's role and/or approval limit; a reason is required for the trail.
    A new role is a lasting one: it ends any temporary role."""
    reason = _reason_checked(reason, required=True)
    membership = _locked(membership)
    _actor_may_manage(organization=membership.organization, actor=actor)
    if role is not None and role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    if approval_limit is not None and approval_limit < 0:
        raise ValidationError("An approval limit cannot be negative.")
    if role is not None and role != Role.CONTROLLER and role != membership.role:
        _keep_a_controller(membership=membership, what="lose that role")
    _not_yourself(membership=membership, actor=actor, what="change the role or limit of")
    if role is not None and role != membership.role and membership.is_temporary:
        _clear_temporary(membership)

    if role is not None and role != membership.role:
        AuditEvent.objects.create(
            organization=membership.organization,
            subject=membership.user,
            action=AuditEvent.Action.ROLE_CHANGED,
            before={"role": membership.role},
            after={"role": role},
            reason=reason,
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
            reason=reason,
            **_actor_fields(actor),
        )
        membership.approval_limit = approval_limit
    membership.save(update_fields=["approval_limit", *_temporary_fields()])
    return membership


# --- member management: who may, and the two guards ---------------------------------------------


def _actor_may_manage(*, organization: Organization, actor: User | None) -> None:
    """The actor's capability, checked again here so that every path gives the same answer.
    `None` is the system (the revert job)."""
    if actor is None or actor.is_staff:
        # Staff act through the support admin, which has its own permission system.
        return
    membership = Membership.objects.filter(
        organization=organization, user=actor, is_active=True
    ).first()
    if membership is None or not role_can(membership.role, Cap.TEAM_MANAGE):
        raise PermissionDenied("Your role does not allow managing members.")


def _not_yourself(*, membership: Membership, actor: User | None, what: str) -> None:
    if actor is not None and membership.user_id == actor.pk:
        raise PermissionDenied(f"You cannot {what} yourself; ask another Controller.")


def _lasting_controllers(organization: Organization):
    """Active members who stay Controllers once any temporary role ends."""
    return Membership.objects.filter(organization=organization, is_active=True).filter(
        Q(role=Role.CONTROLLER, role_after="") | Q(role_after=Role.CONTROLLER)
    )


def _keep_a_controller(*, membership: Membership, what: str) -> None:
    """Refuse a change that would leave the organization without a lasting Controller."""
    if membership.lasting_role != Role.CONTROLLER or not membership.is_active:
        return
    others = _lasting_controllers(membership.organization).exclude(pk=membership.pk)
    if not others.exists():
        raise ValidationError(
            f"The organization's last Controller cannot {what}: make someone else Controller first."
        )


def _reason_checked(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationError("Say why: the audit trail keeps a reason for every access change.")
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(f"A reason is at most {REASON_MAX_LENGTH} characters.")
    problem = text_problem(reason, single_line=True)
    if problem:
        raise ValidationError(f"The reason {problem}.")
    return reason


def _locked(membership: Membership) -> Membership:
    return (
        Membership.objects.select_for_update()
        .select_related("user", "organization")
        .get(pk=membership.pk)
    )


def _audit(membership: Membership, action, *, before, after, reason="", actor=None):
    AuditEvent.objects.create(
        organization=membership.organization,
        subject=membership.user,
        action=action,
        before=before,
        after=after,
        reason=reason,
        **_actor_fields(actor),
    )


def _clear_temporary(membership: Membership) -> None:
    membership.role_after = ""
    membership.temporary_until = None
    membership.temporary_reason = ""


def _end_temporary(membership: Membership) -> str:
    """Put the lasting role back on a locked membership; returns the temporary role."""
    temporary = membership.role
    membership.role = membership.role_after
    _clear_temporary(membership)
    return temporary


def _temporary_fields() -> list[str]:
    return ["role", "role_after", "temporary_until", "temporary_reason"]


# --- role, deactivation ------------------------------------------------------------------------


@transaction.atomic
def membership_role_set(
    *, membership: Membership, role: str, actor: User | None, reason: str
) -> Membership:
    """Give a member a new lasting role (ending any temporary one)."""
    reason = _reason_checked(reason, required=True)
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    membership = _locked(membership)
    _actor_may_manage(organization=membership.organization, actor=actor)
    _not_yourself(membership=membership, actor=actor, what="change the role of")
    if role == membership.role and not membership.is_temporary:
        raise ValidationError(f"{membership.user.email} already has that role.")
    if role != Role.CONTROLLER:
        _keep_a_controller(membership=membership, what="lose that role")
    before = {"role": membership.role}
    if membership.is_temporary:
        before["role_after"] = membership.role_after
        _clear_temporary(membership)
    membership.role = role
    membership.save(update_fields=_temporary_fields())
    _audit(
        membership,
        AuditEvent.Action.ROLE_CHANGED,
        before=before,
        after={"role": role},
        reason=reason,
        actor=actor,
    )
    return membership


@transaction.atomic
def membership_deactivate(
    *, membership: Membership, actor: User | None, reason: str = ""
) -> Membership:
    """The member can no longer open the organization or use its API keys. Any temporary
    role ends with it."""
    reason = _reason_checked(reason, required=False)
    membership = _locked(membership)
    _actor_may_manage(organization=membership.organization, actor=actor)
    _not_yourself(membership=membership, actor=actor, what="deactivate")
    if not membership.is_active:
        raise ValidationError(f"{membership.user.email} is already inactive.")
    _keep_a_controller(membership=membership, what="be deactivated")
    before = {"active": True}
    if membership.is_temporary:
        before["role"] = _end_temporary(membership)
    membership.is_active = False
    membership.save(update_fields=["is_active", *_temporary_fields()])
    after = {"active": False}
    if "role" in before:
        after["role"] = membership.role
    _audit(
        membership,
        AuditEvent.Action.MEMBER_DEACTIVATED,
        before=before,
        after=after,
        reason=reason,
        actor=actor,
    )
    return membership


@transaction.atomic
def membership_reactivate(
    *, membership: Membership, actor: User | None, reason: str = ""
) -> Membership:
    reason = _reason_checked(reason, required=False)
    membership = _locked(membership)
    _actor_may_manage(organization=membership.organization, actor=actor)
    _not_yourself(membership=membership, actor=actor, what="reactivate")
    if membership.is_active:
        raise ValidationError(f"{membership.user.email} is already active.")
    membership.is_active = True
    membership.save(update_fields=["is_active"])
    _audit(
        membership,
        AuditEvent.Action.MEMBER_REACTIVATED,
        before={"active": False},
        after={"active": True},
        reason=reason,
        actor=actor,
    )
    return membership


# --- temporary roles ---------------------------------------------------------------------------


@transaction.atomic
def membership_upgrade_temporary(
    *,
    membership: Membership,
    role: str,
    expires_at: dt.datetime,
    reason: str,
    actor: User | None,
    now: dt.datetime | None = None,
) -> Membership:
    """Give a member another role until `expires_at`; the revert job puts their lasting role
    back then. Giving a new temporary role to a member who has one replaces it (the lasting
    role stays what it was)."""
    now = now or timezone.now()
    reason = _reason_checked(reason, required=True)
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    if expires_at is None or timezone.is_naive(expires_at):
        raise ValidationError(
            "Give the end of the temporary role as a date and time with its zone."
        )
    if expires_at < now + TEMPORARY_ROLE_MIN:
        raise ValidationError(
            "The temporary role must end in the future (at least 5 minutes away)."
        )
    if expires_at > now + TEMPORARY_ROLE_MAX:
        raise ValidationError(
            f"A temporary role lasts at most {TEMPORARY_ROLE_MAX.days} days; change the role "
            "for good instead."
        )
    membership = _locked(membership)
    _actor_may_manage(organization=membership.organization, actor=actor)
    _not_yourself(membership=membership, actor=actor, what="change the role of")
    if not membership.is_active:
        raise ValidationError(f"{membership.user.email} is inactive; reactivate them first.")
    lasting = membership.lasting_role
    if lasting == Role.CONTROLLER:
        raise ValidationError(
            "A Controller already has every capability; a temporary role is for others."
        )
    if role == lasting:
        raise ValidationError(f"{membership.user.email} already has that role for good.")
    before = {"role": membership.role}
    if membership.is_temporary:
        before["until"] = membership.temporary_until.isoformat()
    membership.role = role
    membership.role_after = lasting
    membership.temporary_until = expires_at.astimezone(dt.UTC)
    membership.temporary_reason = reason
    membership.save(update_fields=_temporary_fields())
    _audit(
        membership,
        AuditEvent.Action.ROLE_UPGRADED,
        before=before,
        after={
            "role": role,
            "until": membership.temporary_until.isoformat(),
            "role_after": lasting,
        },
        reason=reason,
        actor=actor,
    )
    return membership


def _upgrade_end_locked(membership: Membership, *, actor: User | None, reason: str) -> None:
    before = {"role": membership.role, "until": membership.temporary_until.isoformat()}
    _end_temporary(membership)
    membership.save(update_fields=_temporary_fields())
    _audit(
        membership,
        AuditEvent.Action.ROLE_UPGRADE_ENDED,
        before=before,
        after={"role": membership.role},
        reason=reason,
        actor=actor,
    )


@transaction.atomic
def membership_upgrade_end(
    *, membership: Membership, actor: User | None, reason: str = ""
) -> Membership:
    """End a temporary role now ("End now"): the member has their lasting role again."""
    reason = _reason_checked(reason, required=False)
    membership = _locked(membership)
    _actor_may_manage(organization=membership.organization, actor=actor)
    _not_yourself(membership=membership, actor=actor, what="change the role of")
    if not membership.is_temporary:
        raise ValidationError(f"{membership.user.email} has no temporary role to end.")
    _upgrade_end_locked(membership, actor=actor, reason=reason or "Ended early")
    return membership


def temporary_roles_revert(*, now: dt.datetime | None = None) -> int:
    """The revert job: every temporary role whose time is up ends, one transaction each.
    Idempotent: a membership already reverted (by another run, or "End now") is skipped
    because its row is re-read under a lock."""
    now = now or timezone.now()
    due = list(
        Membership.objects.filter(temporary_until__lte=now)
        .order_by("temporary_until", "pk")
        .values_list("pk", flat=True)[:1000]
    )
    reverted = 0
    for pk in due:
        with transaction.atomic():
            membership = (
                Membership.objects.select_for_update()
                .select_related("user", "organization")
                .filter(pk=pk, temporary_until__lte=now)
                .first()
            )
            if membership is None:
                continue
            _upgrade_end_locked(membership, actor=None, reason="The temporary role expired.")
            reverted += 1
    if reverted:
        log.info("members.temporary_roles_reverted", count=reverted)
    return reverted
