"""Invitations: a single-use, expiring link emailed to the invited address. Only the SHA-256
of the link's token is stored."""

import datetime as dt
import hashlib
import secrets

import structlog
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from plixo.core.models import (
    INVITATION_LIFETIME,
    AuditEvent,
    Invitation,
    Membership,
    Organization,
    Role,
    User,
)
from plixo.core.services.members import (
    NAME_MAX_LENGTH,
    _actor_fields,
    _actor_may_manage,
    membership_add,
)
from plixo.core.text import header_text, text_problem

log = structlog.get_logger("plixo.core.invitations")

EMAIL_MAX_LENGTH = 254
TOKEN_BYTES = 32
TOKEN_MAX_LENGTH = 200


# --- invitations -------------------------------------------------------------------------------


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_url(token: str) -> str:
    return settings.PLIXO_PUBLIC_URL + reverse("invitation-accept", kwargs={"invite_token": token})


def email_checked(email: str) -> str:
    email = (email or "").strip()
    if not email:
        raise ValidationError("Enter an email address.")
    if len(email) > EMAIL_MAX_LENGTH:
        raise ValidationError(f"An email address is at most {EMAIL_MAX_LENGTH} characters.")
    if text_problem(email, single_line=True):
        raise ValidationError("Enter a valid email address.")
    validate_email(email)
    return User.objects.normalize_email(email).lower()


def _invitation_email(invitation: Invitation, token: str) -> EmailMultiAlternatives:
    organization = invitation.organization
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "organization": organization,
        "inviter": inviter.display_name if inviter else "A Controller",
        "role": invitation.get_role_display(),
        "url": invitation_url(token),
        "days": INVITATION_LIFETIME.days,
    }
    message = EmailMultiAlternatives(
        subject=header_text(f"You are invited to {organization.name} on Plixo"),
        body=render_to_string("core/email/invitation.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[invitation.email],
    )
    message.attach_alternative(render_to_string("core/email/invitation.html", context), "text/html")
    return message


def _invitation_send(invitation_id: int, token: str) -> None:
    # Runs after the commit: the invitation exists for the link to work. The raw token lives
    # only in this email; a failed send is logged and the Controller invites again.
    invitation = Invitation.objects.select_related("organization", "invited_by").get(
        pk=invitation_id
    )
    try:
        _invitation_email(invitation, token).send()
    except Exception:  # noqa: BLE001 (any provider error; the invitation stays, resendable)
        log.exception("members.invitation_email_failed", invitation=str(invitation.public_id))


def invitation_create(
    *,
    organization: Organization,
    email: str,
    role: str,
    actor: User | None,
    now: dt.datetime | None = None,
) -> tuple[Invitation, str]:
    """Invite `email` to join with `role`: emails a single-use link that lapses after seven
    days. An open invitation of the same address is replaced (its link stops working).
    Returns the invitation and the raw token, which is not stored anywhere."""
    now = now or timezone.now()
    email = email_checked(email)
    if role not in Role.values:
        raise ValidationError(f"Unknown role {role!r}.")
    _actor_may_manage(organization=organization, actor=actor)
    existing = Membership.objects.filter(
        organization=organization, user__email__iexact=email
    ).first()
    if existing is not None:
        if existing.is_active:
            raise ValidationError(f"{email} is already a member of {organization.name}.")
        raise ValidationError(
            f"{email} is an inactive member of {organization.name}: reactivate them instead."
        )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with transaction.atomic():
        replaced = list(
            Invitation.objects.select_for_update().filter(
                organization=organization,
                email=email,
                accepted_at__isnull=True,
                revoked_at__isnull=True,
            )
        )
        for old in replaced:
            old.revoked_at = now
            old.save(update_fields=["revoked_at"])
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    organization=organization,
                    email=email,
                    role=role,
                    token_hash=invitation_token_hash(token),
                    invited_by=actor,
                    expires_at=now + INVITATION_LIFETIME,
                )
        except IntegrityError as exc:
            # Two Controllers inviting the same address at once: one wins.
            raise ValidationError(f"{email} was invited a moment ago; look at the list.") from exc
        AuditEvent.objects.create(
            organization=organization,
            subject=None,
            action=AuditEvent.Action.MEMBER_INVITED,
            before={"email": email} if replaced else {},
            after={"email": email, "role": role, "expires": invitation.expires_at.isoformat()},
            reason="Replaces the earlier invitation." if replaced else "",
            **_actor_fields(actor),
        )
        invitation_pk = invitation.pk
        transaction.on_commit(lambda: _invitation_send(invitation_pk, token))
    return invitation, token


@transaction.atomic
def invitation_revoke(
    *, invitation: Invitation, actor: User | None, now: dt.datetime | None = None
) -> Invitation:
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    _actor_may_manage(organization=invitation.organization, actor=actor)
    if invitation.accepted_at is not None:
        raise ValidationError(
            "That invitation was accepted already; deactivate the member instead."
        )
    if invitation.revoked_at is not None:
        return invitation
    invitation.revoked_at = now
    invitation.save(update_fields=["revoked_at"])
    AuditEvent.objects.create(
        organization=invitation.organization,
        action=AuditEvent.Action.INVITATION_REVOKED,
        before={"email": invitation.email, "role": invitation.role},
        after={},
        **_actor_fields(actor),
    )
    return invitation


class InvitationUnusable(Exception):
    """The link cannot be used: `state` says why (expired, accepted, revoked, unknown)."""

    def __init__(self, state: str):
        self.state = state
        super().__init__(state)


def invitation_find(*, token: str, now: dt.datetime | None = None) -> Invitation:
    """The pending invitation a link's token names, or InvitationUnusable."""
    now = now or timezone.now()
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise InvitationUnusable("unknown")
    invitation = (
        Invitation.objects.select_related("organization", "invited_by")
        .filter(token_hash=invitation_token_hash(token))
        .first()
    )
    if invitation is None:
        raise InvitationUnusable("unknown")
    state = invitation.state_at(now)
    if state != Invitation.State.PENDING:
        raise InvitationUnusable(state)
    return invitation


def invitation_accept(
    *,
    token: str,
    user: User | None = None,
    full_name: str = "",
    password: str = "",
    now: dt.datetime | None = None,
) -> Membership:
    """Use an invitation link once. A signed-in `user` joins when the invitation is for their
    address; otherwise a new account is made with `full_name` and `password` (an address that
    already has an account must sign in first)."""
    now = now or timezone.now()
    invitation = invitation_find(token=token, now=now)
    if user is not None:
        if user.email.lower() != invitation.email:
            raise ValidationError(
                f"This invitation is for {invitation.email}; you are signed in as {user.email}."
            )
    else:
        full_name = (full_name or "").strip()
        if not full_name:
            raise ValidationError("Enter your name.")
        if len(full_name) > NAME_MAX_LENGTH or text_problem(full_name, single_line=True):
            raise ValidationError(f"A name is one line of at most {NAME_MAX_LENGTH} characters.")
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ValidationError(
                f"{invitation.email} already has a Plixo account: sign in to join."
            )
        validate_password(password, User(email=invitation.email, full_name=full_name))
    with transaction.atomic():
        # The conditional update is what makes the link single-use: of two tabs submitting at
        # once, one updates the row and the other finds it used.
        used = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now)
        if used != 1:
            raise InvitationUnusable(Invitation.objects.get(pk=invitation.pk).state_at(now))
        if user is None:
            user = User.objects.create_user(
                email=invitation.email, password=password, full_name=full_name
            )
        if Membership.objects.filter(organization=invitation.organization, user=user).exists():
            raise ValidationError(f"{user.email} is already a member of this organization.")
        Invitation.objects.filter(pk=invitation.pk).update(accepted_by=user)
        membership = membership_add(
            organization=invitation.organization,
            user=user,
            role=invitation.role,
            actor=invitation.invited_by,
            reason=f"Accepted the invitation sent to {invitation.email}.",
        )
        AuditEvent.objects.create(
            organization=invitation.organization,
            subject=user,
            action=AuditEvent.Action.INVITATION_ACCEPTED,
            before={},
            after={"email": invitation.email, "role": invitation.role},
            actor=user,
            actor_label=str(user),
        )
    return membership
