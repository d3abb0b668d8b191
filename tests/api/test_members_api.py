"""/api/v1/members: the same services and rules as the Users & Roles page, with the API's
error shape (`{detail, request_id}`) and its paging."""

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from plixo.core.models import AuditEvent, Invitation, Membership, Role
from plixo.core.services import temporary_roles_revert
from tests.api.conftest import client_for_membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

BASE = "/api/v1/members"


def _in(days=3):
    return (timezone.now() + dt.timedelta(days=days)).replace(microsecond=0)


def _error(response, status):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert body["request_id"] == response.headers["X-Request-ID"]
    return body["detail"]


def test_list_pages_every_member_with_its_role(personas, api_for):
    response = api_for(Role.CONTROLLER).get(BASE, {"limit": 3})
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == len(Role.values)
    assert len(page["results"]) == 3 and page["next_cursor"]
    first = page["results"][0]
    assert set(first) >= {"id", "email", "role", "role_label", "active", "temporary"}
    rest = api_for(Role.CONTROLLER).get(BASE, {"cursor": page["next_cursor"], "limit": 50})
    emails = [m["email"] for m in page["results"] + rest.json()["results"]]
    assert sorted(emails) == sorted(m.user.email for m in personas.members.values())
    assert personas.outsider.user.email not in emails


def test_a_manager_reads_but_does_not_change(personas, api_for):
    manager = api_for(Role.AR_MANAGER)
    assert manager.get(BASE).status_code == 200
    member = personas.operator.public_id
    detail = _error(manager.post(f"{BASE}/{member}/deactivate", {}), 403)
    assert "does not allow" in detail
    _error(manager.post(f"{BASE}/invitations", {"email": "x@y.example", "role": "legal"}), 403)
    _error(api_for(Role.AR_OPERATOR).get(BASE), 403)


def test_invite_stores_no_token_and_returns_none(
    personas, api_for, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_for(Role.CONTROLLER).post(
            f"{BASE}/invitations", {"email": "Dana@Acme.example", "role": "ar_operator"}
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "dana@acme.example" and body["state"] == "pending"
    assert "token" not in str(body).lower()
    assert len(mail.outbox) == 1
    token = mail.outbox[0].body.split("/invite/")[1].split("/")[0]
    assert token not in response.content.decode()
    assert Invitation.objects.get().token_hash != token

    listed = api_for(Role.CONTROLLER).get(f"{BASE}/invitations").json()
    assert [i["email"] for i in listed["results"]] == ["dana@acme.example"]

    revoked = api_for(Role.CONTROLLER).post(f"{BASE}/invitations/{body['id']}/revoke")
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"


@pytest.mark.parametrize(
    "payload",
    [
        {"email": "not-an-email", "role": "ar_operator"},
        {"email": "a" * 300 + "@x.example", "role": "ar_operator"},
        {"email": "dana@acme.example", "role": "emperor"},
        {"email": "dana@acme.example"},
    ],
)
def test_bad_invitation_input_is_422_and_writes_nothing(personas, api_for, payload):
    detail = _error(api_for(Role.CONTROLLER).post(f"{BASE}/invitations", payload), 422)
    assert isinstance(detail, list) and detail[0]["loc"][0] == "body"
    assert not Invitation.objects.exists()


def test_inviting_a_member_is_400(personas, api_for):
    detail = _error(
        api_for(Role.CONTROLLER).post(
            f"{BASE}/invitations", {"email": personas.operator.user.email, "role": "legal"}
        ),
        400,
    )
    assert "already a member" in detail


def test_change_role_and_limit_with_a_reason(personas, api_for):
    member = personas.operator
    response = api_for(Role.CONTROLLER).patch(
        f"{BASE}/{member.public_id}",
        {"role": "ar_manager", "approval_limit": "2500.00", "reason": "Team lead"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "ar_manager"
    assert response.json()["approval_limit"] == "2500.00"
    assert AuditEvent.objects.filter(
        subject=member.user, action=AuditEvent.Action.ROLE_CHANGED, reason="Team lead"
    ).exists()


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"role": "ar_manager"}, 422),
        ({"role": "ar_manager", "reason": ""}, 422),
        ({"role": "ar_manager", "reason": "x" * 501}, 422),
        ({"role": "ar_manager", "reason": "two\nlines"}, 422),
        ({"reason": "Nothing"}, 400),
        ({"approval_limit": "1.001", "reason": "Too precise"}, 400),
    ],
)
def test_bad_change_input_is_refused(personas, api_for, payload, status):
    _error(api_for(Role.CONTROLLER).patch(f"{BASE}/{personas.operator.public_id}", payload), status)
    personas.operator.refresh_from_db()
    assert personas.operator.role == Role.AR_OPERATOR


def test_own_role_is_403_and_last_controller_is_400(personas, api_for):
    controller = api_for(Role.CONTROLLER)
    me = personas.controller.public_id
    detail = _error(controller.post(f"{BASE}/{me}/deactivate", {}), 403)
    assert "yourself" in detail
    detail = _error(controller.patch(f"{BASE}/{me}", {"role": "legal", "reason": "Bye"}), 400)
    assert "last Controller" in detail

    # A second Controller may not remove the first while it is the last lasting one either.
    second = MembershipFactory(organization=personas.org, role=Role.CONTROLLER)
    other = client_for_membership(second)
    assert other.post(f"{BASE}/{me}/deactivate", {"reason": "Handover"}).status_code == 200
    detail = _error(controller.get(BASE), 401)
    assert "API key" in detail


def test_temporary_role_and_its_revert(personas, api_for):
    member = personas.operator
    until = _in(days=3)
    response = api_for(Role.CONTROLLER).post(
        f"{BASE}/{member.public_id}/temporary-role",
        {"role": "ar_manager", "expires_at": until.isoformat(), "reason": "Quarter-end"},
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["role"] == "ar_manager"
    assert body["temporary"]["then"] == "ar_operator"
    assert body["temporary"]["reason"] == "Quarter-end"
    assert dt.datetime.fromisoformat(body["temporary"]["until"]) == until

    # The member's own key acts with the temporary role at once: A/R Managers read members.
    own = client_for_membership(Membership.objects.get(pk=member.pk))
    assert own.get(BASE).status_code == 200

    temporary_roles_revert(now=until + dt.timedelta(seconds=1))
    after = api_for(Role.CONTROLLER).get(f"{BASE}/{member.public_id}").json()
    assert after["role"] == "ar_operator" and after["temporary"] is None
    assert own.get(BASE).status_code == 403


def test_end_now(personas, api_for):
    member = personas.operator.public_id
    controller = api_for(Role.CONTROLLER)
    controller.post(
        f"{BASE}/{member}/temporary-role",
        {"role": "legal", "expires_at": _in().isoformat(), "reason": "Cover"},
    )
    response = controller.post(f"{BASE}/{member}/temporary-role/end", {"reason": "Back early"})
    assert response.status_code == 200 and response.json()["role"] == "ar_operator"
    _error(controller.post(f"{BASE}/{member}/temporary-role/end", {}), 400)


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"role": "ar_manager", "expires_at": "2020-01-01T00:00:00Z", "reason": "x"}, 400),
        ({"role": "ar_manager", "expires_at": "2099-01-01T00:00:00Z", "reason": "x"}, 400),
        ({"role": "ar_manager", "expires_at": "2026-12-04T17:00:00", "reason": "x"}, 422),
        ({"role": "ar_manager", "expires_at": "someday", "reason": "x"}, 422),
        ({"role": "ar_manager", "expires_at": "2026-12-04T17:00:00Z"}, 422),
        ({"role": "ar_operator", "expires_at": "2026-12-04T17:00:00Z", "reason": "x"}, 400),
    ],
)
def test_bad_temporary_role_input(personas, api_for, payload, status):
    member = personas.operator.public_id
    if payload.get("expires_at") == "2026-12-04T17:00:00Z":
        payload = {**payload, "expires_at": _in().isoformat()}
    _error(api_for(Role.CONTROLLER).post(f"{BASE}/{member}/temporary-role", payload), status)
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.ROLE_UPGRADED).exists()


def test_deactivate_stops_the_members_keys_and_reactivate_restores_them(personas, api_for):
    member = personas.members[Role.AR_MANAGER]
    own = client_for_membership(member)
    assert own.get(BASE).status_code == 200
    response = api_for(Role.CONTROLLER).post(
        f"{BASE}/{member.public_id}/deactivate", {"reason": "Left"}
    )
    assert response.status_code == 200 and response.json()["active"] is False
    assert own.get(BASE).status_code == 401
    api_for(Role.CONTROLLER).post(f"{BASE}/{member.public_id}/reactivate", {})
    assert own.get(BASE).status_code == 200


def test_another_organizations_member_is_404(personas, api_for):
    outsider = personas.outsider.public_id
    controller = api_for(Role.CONTROLLER)
    _error(controller.get(f"{BASE}/{outsider}"), 404)
    _error(controller.post(f"{BASE}/{outsider}/deactivate", {}), 404)
    _error(controller.patch(f"{BASE}/{outsider}", {"role": "legal", "reason": "x"}), 404)


def test_the_role_names_in_the_schema_are_the_roles():
    from typing import get_args

    from plixo.api.routers.members import RoleName

    assert set(get_args(RoleName)) == set(Role.values)


def test_the_openapi_document_describes_the_members_routes(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/members/invitations"])
    assert "patch" in paths["/api/v1/members/{member_id}"]
    assert "post" in paths["/api/v1/members/{member_id}/temporary-role"]
