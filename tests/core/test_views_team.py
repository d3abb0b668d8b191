"""The team page: members, role and limit changes with a reason, and the access audit trail."""

from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.core.models import AuditEvent, Role
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _change_url(membership):
    return reverse("team-member", kwargs={"membership_id": membership.public_id})


def test_team_page_lists_members_with_role_and_limit(personas):
    response = personas.client_for(Role.CONTROLLER).get(reverse("team"))

    assert response.status_code == 200
    body = response.content.decode()
    for membership in personas.members.values():
        assert membership.user.email in body
    assert "A/R Operator" in body
    assert "$10,000.00" in body
    assert personas.outsider.user.email not in body


def test_controller_changes_a_role_and_the_trail_shows_it(personas):
    operator = personas.operator
    client = personas.client_for(Role.CONTROLLER)

    response = client.post(
        _change_url(operator),
        {"role": Role.AR_MANAGER, "approval_limit": "25000", "reason": "Leads the EMEA queue"},
    )

    assert response.status_code == 302
    operator.refresh_from_db()
    assert operator.role == Role.AR_MANAGER
    assert operator.approval_limit == Decimal("25000")
    events = AuditEvent.objects.filter(subject=operator.user).order_by("action")
    assert [e.action for e in events] == [
        AuditEvent.Action.LIMIT_CHANGED,
        AuditEvent.Action.ROLE_CHANGED,
    ]
    assert all(e.actor == personas.controller.user for e in events)
    page = client.get(response.url).content.decode()
    assert "updated" in page
    assert "Leads the EMEA queue" in page
    assert "A/R Operator" in page and "A/R Manager" in page
    assert "$25,000.00" in page


def test_a_change_without_reason_is_refused_and_nothing_changes(personas):
    operator = personas.operator
    client = personas.client_for(Role.CONTROLLER)

    response = client.post(
        _change_url(operator), {"role": Role.LEGAL, "approval_limit": "10000", "reason": ""}
    )

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    operator.refresh_from_db()
    assert operator.role == Role.AR_OPERATOR
    assert not AuditEvent.objects.filter(subject=operator.user).exists()


def test_a_change_that_changes_nothing_is_refused(personas):
    operator = personas.operator
    response = personas.client_for(Role.CONTROLLER).post(
        _change_url(operator),
        {"role": operator.role, "approval_limit": "10000", "reason": "No reason"},
    )

    assert "Nothing to change" in response.content.decode()
    assert not AuditEvent.objects.filter(subject=operator.user).exists()


@pytest.mark.parametrize(
    ("limit", "error"),
    [("-5", "greater than or equal to 0"), ("10.005", "more decimal places"), ("lots", "number")],
)
def test_a_bad_approval_limit_is_a_form_error(personas, limit, error):
    operator = personas.operator
    response = personas.client_for(Role.CONTROLLER).post(
        _change_url(operator),
        {"role": Role.AR_OPERATOR, "approval_limit": limit, "reason": "Adjusting"},
    )

    assert response.status_code == 200
    assert error in response.content.decode()
    operator.refresh_from_db()
    assert operator.approval_limit == Decimal("10000")


def test_the_last_controller_cannot_be_demoted(personas):
    controller = personas.controller
    response = personas.client_for(Role.CONTROLLER).post(
        _change_url(controller),
        {"role": Role.SALES, "approval_limit": "0", "reason": "Stepping back"},
    )

    assert response.status_code == 200
    assert "last Controller cannot lose that role" in response.content.decode()
    controller.refresh_from_db()
    assert controller.role == Role.CONTROLLER


def test_manager_sees_the_team_but_cannot_change_it(personas):
    client = personas.client_for(Role.AR_MANAGER)

    page = client.get(reverse("team"))
    assert page.status_code == 200
    assert "Save change" not in page.content.decode()

    response = client.post(
        _change_url(personas.operator),
        {"role": Role.CONTROLLER, "approval_limit": "1", "reason": "Promote myself"},
    )
    assert response.status_code == 403
    personas.operator.refresh_from_db()
    assert personas.operator.role == Role.AR_OPERATOR


def test_another_organizations_member_is_a_404(personas):
    response = personas.client_for(Role.CONTROLLER).post(
        _change_url(personas.outsider),
        {"role": Role.SALES, "approval_limit": "0", "reason": "Reaching across"},
    )

    assert response.status_code == 404
    personas.outsider.refresh_from_db()
    assert personas.outsider.role == Role.CONTROLLER


def test_audit_trail_is_paginated(personas):
    user = UserFactory(email="busy@acme.example")
    member = MembershipFactory(organization=personas.org, user=user)
    for i in range(55):
        AuditEvent.objects.create(
            organization=personas.org,
            subject=member.user,
            action=AuditEvent.Action.LIMIT_CHANGED,
            before={"approval_limit": str(i)},
            after={"approval_limit": str(i + 1)},
            reason=f"step {i}",
            actor_label="system",
        )
    client = personas.client_for(Role.CONTROLLER)

    first = client.get(reverse("team")).content.decode()
    second = client.get(reverse("team") + "?page=2").content.decode()

    assert "step 54" in first and "step 0" not in first
    assert "step 0" in second
    assert "Page 2 of 2" in second
