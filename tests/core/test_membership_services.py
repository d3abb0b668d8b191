"""Organization, user and membership writes: every access change is audited with a reason, and
an organization never loses its last Controller."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from plixo.core.models import AuditEvent, Membership, Role
from plixo.core.services import (
    membership_add,
    membership_change,
    organization_create,
    user_get_or_create,
)
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_change_without_a_reason_is_refused_and_leaves_no_trace(personas, reason):
    operator = personas.operator
    with pytest.raises(ValidationError, match="reason"):
        membership_change(
            membership=operator,
            actor=personas.controller.user,
            reason=reason,
            role=Role.AR_MANAGER,
        )
    operator.refresh_from_db()
    assert operator.role == Role.AR_OPERATOR
    assert not AuditEvent.objects.filter(subject=operator.user).exists()


def test_role_change_is_audited_with_before_after_actor_and_reason(personas):
    operator, actor = personas.operator, personas.controller.user
    changed = membership_change(
        membership=operator, actor=actor, reason="  Promoted to team lead  ", role=Role.AR_MANAGER
    )
    assert changed.role == Role.AR_MANAGER
    operator.refresh_from_db()
    assert operator.role == Role.AR_MANAGER
    event = AuditEvent.objects.get(subject=operator.user)
    assert event.organization == personas.org
    assert event.action == AuditEvent.Action.ROLE_CHANGED
    assert (event.before, event.after) == ({"role": "ar_operator"}, {"role": "ar_manager"})
    assert event.reason == "Promoted to team lead"
    assert (event.actor, event.actor_label) == (actor, str(actor))
    assert event.at is not None


def test_limit_and_role_together_leave_one_event_each(personas):
    operator = personas.operator
    membership_change(
        membership=operator,
        actor=None,
        reason="Quarter-end cover",
        role=Role.AR_MANAGER,
        approval_limit=Decimal("25000"),
    )
    events = {e.action: e for e in AuditEvent.objects.filter(subject=operator.user)}
    assert set(events) == {AuditEvent.Action.ROLE_CHANGED, AuditEvent.Action.LIMIT_CHANGED}
    limit = events[AuditEvent.Action.LIMIT_CHANGED]
    assert Decimal(limit.before["approval_limit"]) == Decimal("10000")
    assert Decimal(limit.after["approval_limit"]) == Decimal("25000")
    assert limit.actor is None and limit.actor_label == "system"


def test_no_change_writes_no_audit_event(personas):
    operator = personas.operator
    membership_change(
        membership=operator,
        actor=None,
        reason="Checking",
        role=operator.role,
        approval_limit=operator.approval_limit,
    )
    assert not AuditEvent.objects.filter(subject=operator.user).exists()


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"role": "overlord"}, "Unknown role"),
        ({"approval_limit": Decimal("-1")}, "cannot be negative"),
    ],
)
def test_invalid_changes_are_refused(personas, changes, message):
    with pytest.raises(ValidationError, match=message):
        membership_change(membership=personas.operator, actor=None, reason="Because", **changes)
    assert not AuditEvent.objects.exists()


def test_the_last_controller_cannot_lose_the_role(personas):
    controller = personas.controller
    with pytest.raises(ValidationError, match="last Controller"):
        membership_change(membership=controller, actor=None, reason="Oops", role=Role.LEGAL)
    controller.refresh_from_db()
    assert controller.role == Role.CONTROLLER
    # Changing the last controller's limit is fine: the role stays.
    membership_change(
        membership=controller, actor=None, reason="Policy", approval_limit=Decimal("5")
    )


def test_an_inactive_second_controller_does_not_count(personas):
    second = MembershipFactory(organization=personas.org, role=Role.CONTROLLER, is_active=False)
    with pytest.raises(ValidationError, match="last Controller"):
        membership_change(
            membership=personas.controller, actor=None, reason="Handover", role=Role.LEGAL
        )
    Membership.objects.filter(pk=second.pk).update(is_active=True)
    membership_change(
        membership=personas.controller, actor=None, reason="Handover", role=Role.LEGAL
    )
    personas.controller.refresh_from_db()
    assert personas.controller.role == Role.LEGAL


def test_another_organizations_controller_does_not_count(personas):
    # The outsider is a controller of Globex, not of Acme.
    with pytest.raises(ValidationError, match="last Controller"):
        membership_change(
            membership=personas.controller, actor=None, reason="Handover", role=Role.SALES
        )


def test_membership_add_is_audited(personas):
    user = UserFactory(email="new@acme.example")
    membership = membership_add(
        organization=personas.org,
        user=user,
        role=Role.CSM,
        approval_limit=Decimal("0"),
        actor=personas.controller.user,
        reason="New hire",
    )
    assert membership.role == Role.CSM
    event = AuditEvent.objects.get(subject=user)
    assert event.action == AuditEvent.Action.MEMBER_ADDED
    assert event.before == {} and event.after["role"] == Role.CSM
    assert event.reason == "New hire"
    with pytest.raises(ValidationError, match="Unknown role"):
        membership_add(organization=personas.other_org, user=user, role="boss")


def test_organization_create_validates_its_settings():
    org = organization_create(name="Initech", slug="initech", time_zone="America/Chicago")
    assert (org.base_currency, org.locale) == ("USD", "en_US")
    with pytest.raises(ValidationError, match="IANA time zone"):
        organization_create(name="Bad", slug="bad-tz", time_zone="Mars/Base")
    with pytest.raises(ValidationError, match="ISO 4217"):
        organization_create(name="Bad", slug="bad-cur", base_currency="ABC")
    with pytest.raises(ValidationError):
        organization_create(name="Again", slug="initech")


def test_user_get_or_create_normalises_email_and_is_idempotent():
    first = user_get_or_create(email="Pat@Example.TEST", password="s3cret-pass", full_name="Pat")
    again = user_get_or_create(email="pat@example.test", password="other")
    assert first.pk == again.pk
    assert first.email == "pat@example.test"
    again.refresh_from_db()
    assert again.check_password("s3cret-pass")  # an existing user's password is kept
