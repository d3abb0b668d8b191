"""Users & Roles services: invitations (hashed, expiring, single use), role changes,
deactivation and temporary roles, with the own-access and last-Controller guards and the revert
job. The web page and the API call these same services (tests/core/test_members_views.py,
tests/api/test_members_api.py)."""

import datetime as dt
import hashlib

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from plixo.api.selectors import api_key_authenticate
from plixo.api.services import api_key_create
from plixo.core.middleware import OrganizationMiddleware
from plixo.core.models import AuditEvent, Invitation, Membership, Role
from plixo.core.services import (
    InvitationUnusable,
    invitation_accept,
    invitation_create,
    invitation_find,
    invitation_revoke,
    membership_change,
    membership_deactivate,
    membership_reactivate,
    membership_role_set,
    membership_upgrade_end,
    membership_upgrade_temporary,
    temporary_roles_revert,
)
from plixo.core.tasks import temporary_roles_revert_task
from plixo.ops.jobs import JOBS
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 15, 0, tzinfo=dt.UTC)  # a Tuesday
FRIDAY = dt.datetime(2026, 12, 4, 17, 0, tzinfo=dt.UTC)
PASSWORD = "a-long-pass-phrase-9"


def _invite(personas, email="dana@acme.example", role=Role.AR_OPERATOR, now=NOW):
    return invitation_create(
        organization=personas.org, email=email, role=role, actor=personas.controller.user, now=now
    )


# --- invitations ----------------------------------------------------------------------------


def test_invitation_stores_only_the_hash_of_its_token_and_emails_the_link(
    personas, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = _invite(personas, email="  Dana@Acme.Example ")

    assert invitation.email == "dana@acme.example"
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in invitation.token_hash
    stored = Invitation.objects.filter(pk=invitation.pk).values().get()
    assert all(token not in str(value) for value in stored.values())
    assert invitation.expires_at == NOW + dt.timedelta(days=7)
    assert len(mail.outbox) == 1
    email = mail.outbox[0]
    assert email.to == ["dana@acme.example"]
    assert f"/invite/{token}/" in email.body
    assert "Acme Widgets" in email.subject
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_INVITED)
    assert event.actor == personas.controller.user
    assert event.after["email"] == "dana@acme.example"
    assert token not in str(event.after)


def test_reinviting_replaces_the_open_invitation(personas):
    first, first_token = _invite(personas)
    second, second_token = _invite(personas, role=Role.AR_MANAGER)

    first.refresh_from_db()
    assert first.revoked_at is not None
    with pytest.raises(InvitationUnusable) as exc:
        invitation_find(token=first_token, now=NOW)
    assert exc.value.state == "revoked"
    assert invitation_find(token=second_token, now=NOW) == second
    assert Invitation.objects.filter(revoked_at__isnull=True).count() == 1


def test_inviting_a_member_is_a_clear_error(personas):
    with pytest.raises(ValidationError, match="already a member"):
        _invite(personas, email=personas.operator.user.email.upper())
    membership_deactivate(membership=personas.operator, actor=personas.controller.user)
    with pytest.raises(ValidationError, match="reactivate"):
        _invite(personas, email=personas.operator.user.email)
    assert not Invitation.objects.exists()


@pytest.mark.parametrize(
    "email",
    [
        "",
        "not-an-email",
        "a@b",
        "x" * 250 + "@acme.example",
        "dana@acme.example\nBcc: eve@evil.example",
        "d\x00@a.io",
    ],
)
def test_bad_email_addresses_are_refused_before_anything_is_written(personas, email):
    with pytest.raises(ValidationError):
        _invite(personas, email=email)
    assert not Invitation.objects.exists()
    assert not AuditEvent.objects.exists()


def test_unknown_role_is_refused(personas):
    with pytest.raises(ValidationError, match="Unknown role"):
        _invite(personas, role="emperor")


@pytest.mark.parametrize("role", [Role.AR_MANAGER, Role.AR_OPERATOR, Role.SALES, Role.LEGAL])
def test_only_a_role_with_team_manage_may_invite(personas, role):
    with pytest.raises(PermissionDenied):
        invitation_create(
            organization=personas.org,
            email="dana@acme.example",
            role=Role.CONTROLLER,
            actor=personas.members[role].user,
        )
    assert not Invitation.objects.exists()


def test_another_organizations_controller_may_not_invite(personas):
    with pytest.raises(PermissionDenied):
        invitation_create(
            organization=personas.org,
            email="dana@acme.example",
            role=Role.CONTROLLER,
            actor=personas.outsider.user,
        )


def test_accepting_creates_the_account_and_membership_once(personas):
    invitation, token = _invite(personas)

    membership = invitation_accept(
        token=token, full_name="Dana Scully", password=PASSWORD, now=NOW + dt.timedelta(hours=1)
    )

    assert membership.organization == personas.org
    assert membership.role == Role.AR_OPERATOR
    assert membership.user.email == "dana@acme.example"
    assert membership.user.check_password(PASSWORD)
    invitation.refresh_from_db()
    assert invitation.accepted_at is not None and invitation.accepted_by == membership.user
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {AuditEvent.Action.MEMBER_ADDED, AuditEvent.Action.INVITATION_ACCEPTED} <= actions
    with pytest.raises(InvitationUnusable) as exc:
        invitation_accept(token=token, full_name="Eve", password=PASSWORD, now=NOW)
    assert exc.value.state == "accepted"
    assert Membership.objects.filter(user__email="dana@acme.example").count() == 1


def test_an_existing_user_joins_signed_in_and_only_as_themselves(personas):
    someone = UserFactory(email="dana@acme.example")
    _, token = _invite(personas)

    with pytest.raises(ValidationError, match="sign in"):
        invitation_accept(token=token, full_name="Dana", password=PASSWORD, now=NOW)
    with pytest.raises(ValidationError, match="signed in as"):
        invitation_accept(token=token, user=personas.operator.user, now=NOW)
    assert not Invitation.objects.filter(accepted_at__isnull=False).exists()

    membership = invitation_accept(token=token, user=someone, now=NOW)
    assert membership.user == someone


def test_an_expired_link_cannot_be_used(personas):
    _, token = _invite(personas)
    later = NOW + dt.timedelta(days=7, seconds=1)
    with pytest.raises(InvitationUnusable) as exc:
        invitation_accept(token=token, full_name="Dana", password=PASSWORD, now=later)
    assert exc.value.state == "expired"
    assert not Membership.objects.filter(user__email="dana@acme.example").exists()


def test_a_revoked_link_cannot_be_used(personas):
    invitation, token = _invite(personas)
    invitation_revoke(invitation=invitation, actor=personas.controller.user)
    with pytest.raises(InvitationUnusable) as exc:
        invitation_accept(token=token, full_name="Dana", password=PASSWORD, now=NOW)
    assert exc.value.state == "revoked"
    assert AuditEvent.objects.filter(action=AuditEvent.Action.INVITATION_REVOKED).exists()


@pytest.mark.parametrize("token", ["", "nope", "x" * 500, "../../etc"])
def test_an_unknown_token_is_unusable(personas, token):
    with pytest.raises(InvitationUnusable) as exc:
        invitation_find(token=token)
    assert exc.value.state == "unknown"


def test_weak_password_or_bad_name_is_refused_and_the_link_stays_usable(personas):
    _, token = _invite(personas)
    with pytest.raises(ValidationError):
        invitation_accept(token=token, full_name="Dana", password="123", now=NOW)
    with pytest.raises(ValidationError):
        invitation_accept(token=token, full_name="Da\nna", password=PASSWORD, now=NOW)
    with pytest.raises(ValidationError):
        invitation_accept(token=token, full_name="", password=PASSWORD, now=NOW)
    assert invitation_find(token=token, now=NOW).accepted_at is None


# --- role changes, own access, the last Controller --------------------------------------------


def test_nobody_changes_their_own_role_limit_or_access(personas):
    me = personas.controller
    second = MembershipFactory(organization=personas.org, role=Role.CONTROLLER)
    assert second
    with pytest.raises(PermissionDenied):
        membership_role_set(membership=me, role=Role.LEGAL, actor=me.user, reason="Me")
    with pytest.raises(PermissionDenied):
        membership_change(membership=me, role=Role.LEGAL, actor=me.user, reason="Me")
    with pytest.raises(PermissionDenied):
        membership_deactivate(membership=me, actor=me.user)
    me.refresh_from_db()
    assert me.role == Role.CONTROLLER and me.is_active


def test_the_last_controller_cannot_be_demoted_or_deactivated(personas):
    last = personas.controller
    admin = UserFactory(email="staff@plixo.example", is_staff=True)
    with pytest.raises(ValidationError, match="last Controller"):
        membership_role_set(membership=last, role=Role.AR_MANAGER, actor=admin, reason="Oops")
    with pytest.raises(ValidationError, match="last Controller"):
        membership_deactivate(membership=last, actor=admin)
    last.refresh_from_db()
    assert last.role == Role.CONTROLLER and last.is_active


def test_a_temporary_controller_does_not_count_as_the_last_one(personas):
    last = personas.controller
    operator = personas.operator
    membership_upgrade_temporary(
        membership=operator,
        role=Role.CONTROLLER,
        expires_at=FRIDAY,
        reason="Cover",
        actor=last.user,
        now=NOW,
    )
    # The operator acts as Controller now, and may try to remove the lasting one: refused,
    # because the revert on Friday would leave nobody.
    with pytest.raises(ValidationError, match="last Controller"):
        membership_deactivate(membership=last, actor=operator.user)
    with pytest.raises(ValidationError, match="last Controller"):
        membership_role_set(membership=last, role=Role.LEGAL, actor=operator.user, reason="x")

    assert temporary_roles_revert(now=FRIDAY) == 1
    operator.refresh_from_db()
    last.refresh_from_db()
    assert operator.role == Role.AR_OPERATOR
    assert last.role == Role.CONTROLLER and last.is_active


def test_with_two_controllers_one_may_be_demoted_with_a_reason(personas):
    second = MembershipFactory(organization=personas.org, role=Role.CONTROLLER)
    membership_role_set(
        membership=second, role=Role.LEGAL, actor=personas.controller.user, reason="Moved team"
    )
    second.refresh_from_db()
    assert second.role == Role.LEGAL
    event = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_CHANGED)
    assert event.reason == "Moved team" and event.actor == personas.controller.user


@pytest.mark.parametrize("reason", ["", "   ", "x" * 501, "bad\x07bell", "two\nlines"])
def test_a_role_change_needs_a_clean_reason(personas, reason):
    with pytest.raises(ValidationError):
        membership_role_set(
            membership=personas.operator,
            role=Role.AR_MANAGER,
            actor=personas.controller.user,
            reason=reason,
        )
    personas.operator.refresh_from_db()
    assert personas.operator.role == Role.AR_OPERATOR


# --- deactivation -----------------------------------------------------------------------------


def test_a_deactivated_member_loses_the_organization_and_its_api_keys(personas, rf):
    operator = personas.operator
    _, raw = api_key_create(membership=operator, name="script")
    assert api_key_authenticate(raw=raw) is not None

    membership_deactivate(membership=operator, actor=personas.controller.user, reason="Left")

    assert api_key_authenticate(raw=raw) is None
    request = rf.get("/")
    request.user = operator.user
    request.session = {}
    OrganizationMiddleware(lambda r: None)(request)
    assert request.membership is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.MEMBER_DEACTIVATED)
    assert (event.before, event.after, event.reason) == (
        {"active": True},
        {"active": False},
        "Left",
    )

    membership_reactivate(membership=operator, actor=personas.controller.user)
    assert api_key_authenticate(raw=raw) is not None
    with pytest.raises(ValidationError, match="already active"):
        membership_reactivate(membership=operator, actor=personas.controller.user)


def test_deactivating_ends_a_temporary_role(personas):
    operator = personas.operator
    membership_upgrade_temporary(
        membership=operator,
        role=Role.AR_MANAGER,
        expires_at=FRIDAY,
        reason="Cover",
        actor=personas.controller.user,
        now=NOW,
    )
    membership_deactivate(membership=operator, actor=personas.controller.user)
    operator.refresh_from_db()
    assert (operator.role, operator.is_active, operator.temporary_until) == (
        Role.AR_OPERATOR,
        False,
        None,
    )


# --- temporary roles ---------------------------------------------------------------------------


def test_temporary_upgrade_is_audited_and_reverted_by_the_job_once(personas):
    operator = personas.operator
    membership_upgrade_temporary(
        membership=operator,
        role=Role.AR_MANAGER,
        expires_at=FRIDAY,
        reason="Quarter-end cover",
        actor=personas.controller.user,
        now=NOW,
    )
    operator.refresh_from_db()
    assert operator.role == Role.AR_MANAGER
    assert operator.role_after == Role.AR_OPERATOR
    assert operator.temporary_until == FRIDAY
    assert operator.temporary_reason == "Quarter-end cover"
    given = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_UPGRADED)
    assert given.after == {
        "role": "ar_manager",
        "until": FRIDAY.isoformat(),
        "role_after": "ar_operator",
    }
    assert given.reason == "Quarter-end cover"

    assert temporary_roles_revert(now=FRIDAY - dt.timedelta(minutes=1)) == 0
    assert temporary_roles_revert(now=FRIDAY) == 1
    assert temporary_roles_revert(now=FRIDAY + dt.timedelta(minutes=5)) == 0  # idempotent

    operator.refresh_from_db()
    assert (operator.role, operator.role_after, operator.temporary_until) == (
        Role.AR_OPERATOR,
        "",
        None,
    )
    ended = AuditEvent.objects.get(action=AuditEvent.Action.ROLE_UPGRADE_ENDED)
    assert ended.actor is None and ended.actor_label == "system"
    assert ended.before["role"] == "ar_manager" and ended.after == {"role": "ar_operator"}


def test_the_revert_job_is_registered_and_runs_the_service(personas):
    spec = JOBS["core.temporary_roles_revert"]
    assert spec.every <= dt.timedelta(minutes=15)
    assert spec.task is temporary_roles_revert_task
    membership_upgrade_temporary(
        membership=personas.operator,
        role=Role.LEGAL,
        expires_at=timezone.now() + dt.timedelta(minutes=10),
        reason="Cover",
        actor=personas.controller.user,
    )
    Membership.objects.filter(pk=personas.operator.pk).update(
        temporary_until=timezone.now() - dt.timedelta(seconds=1)
    )
    assert temporary_roles_revert_task.call() == 1
    personas.operator.refresh_from_db()
    assert personas.operator.role == Role.AR_OPERATOR


def test_end_now_gives_the_lasting_role_back(personas):
    operator = personas.operator
    membership_upgrade_temporary(
        membership=operator,
        role=Role.AR_MANAGER,
        expires_at=FRIDAY,
        reason="Cover",
        actor=personas.controller.user,
        now=NOW,
    )
    membership_upgrade_end(membership=operator, actor=personas.controller.user)
    operator.refresh_from_db()
    assert operator.role == Role.AR_OPERATOR and not operator.is_temporary
    with pytest.raises(ValidationError, match="no temporary role"):
        membership_upgrade_end(membership=operator, actor=personas.controller.user)
    assert temporary_roles_revert(now=FRIDAY) == 0


def test_a_second_temporary_role_keeps_the_lasting_role(personas):
    operator = personas.operator
    for role in (Role.AR_MANAGER, Role.LEGAL):
        membership_upgrade_temporary(
            membership=operator,
            role=role,
            expires_at=FRIDAY,
            reason="Cover",
            actor=personas.controller.user,
            now=NOW,
        )
    operator.refresh_from_db()
    assert (operator.role, operator.role_after) == (Role.LEGAL, Role.AR_OPERATOR)


def test_a_lasting_role_change_ends_the_temporary_role(personas):
    operator = personas.operator
    membership_upgrade_temporary(
        membership=operator,
        role=Role.AR_MANAGER,
        expires_at=FRIDAY,
        reason="Cover",
        actor=personas.controller.user,
        now=NOW,
    )
    membership_change(
        membership=operator, role=Role.LEGAL, actor=personas.controller.user, reason="Moved"
    )
    operator.refresh_from_db()
    assert (operator.role, operator.is_temporary) == (Role.LEGAL, False)
    assert temporary_roles_revert(now=FRIDAY) == 0


@pytest.mark.parametrize(
    ("expires_at", "message"),
    [
        (NOW - dt.timedelta(hours=1), "future"),
        (NOW + dt.timedelta(minutes=1), "future"),
        (NOW + dt.timedelta(days=91), "90 days"),
        (dt.datetime(2026, 12, 4, 17, 0), "zone"),  # naive
    ],
)
def test_the_end_must_be_in_the_future_and_bounded(personas, expires_at, message):
    with pytest.raises(ValidationError, match=message):
        membership_upgrade_temporary(
            membership=personas.operator,
            role=Role.AR_MANAGER,
            expires_at=expires_at,
            reason="Cover",
            actor=personas.controller.user,
            now=NOW,
        )
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("reason", ["", "  ", "x" * 501, "tab\x1bescape"])
def test_a_temporary_role_needs_a_reason(personas, reason):
    with pytest.raises(ValidationError):
        membership_upgrade_temporary(
            membership=personas.operator,
            role=Role.AR_MANAGER,
            expires_at=FRIDAY,
            reason=reason,
            actor=personas.controller.user,
            now=NOW,
        )
    personas.operator.refresh_from_db()
    assert personas.operator.role == Role.AR_OPERATOR


def test_temporary_roles_refused_for_self_controllers_same_role_and_inactive(personas):
    controller = personas.controller
    second = MembershipFactory(organization=personas.org, role=Role.CONTROLLER)
    kwargs = {"expires_at": FRIDAY, "reason": "Cover", "now": NOW}
    with pytest.raises(PermissionDenied):
        membership_upgrade_temporary(
            membership=controller, role=Role.LEGAL, actor=controller.user, **kwargs
        )
    with pytest.raises(ValidationError, match="every capability"):
        membership_upgrade_temporary(
            membership=second, role=Role.LEGAL, actor=controller.user, **kwargs
        )
    with pytest.raises(ValidationError, match="already has that role"):
        membership_upgrade_temporary(
            membership=personas.operator, role=Role.AR_OPERATOR, actor=controller.user, **kwargs
        )
    membership_deactivate(membership=personas.operator, actor=controller.user)
    with pytest.raises(ValidationError, match="inactive"):
        membership_upgrade_temporary(
            membership=personas.operator, role=Role.AR_MANAGER, actor=controller.user, **kwargs
        )


def test_an_ar_manager_may_not_give_temporary_roles(personas):
    manager = personas.members[Role.AR_MANAGER]
    with pytest.raises(PermissionDenied):
        membership_upgrade_temporary(
            membership=personas.operator,
            role=Role.CONTROLLER,
            expires_at=FRIDAY,
            reason="Please",
            actor=manager.user,
            now=NOW,
        )
