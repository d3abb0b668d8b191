"""The Users & Roles page (/team/) and the invitation link page: what a Controller does in the
browser, what everyone else may not, and how every unusable link reads."""

import datetime as dt
import re
import zoneinfo

import pytest
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from plixo.core.models import AuditEvent, Invitation, Membership, Role
from plixo.core.services import invitation_create, invitation_revoke, membership_upgrade_temporary
from plixo.core.templatetags.plixo import when_label
from plixo.ops.models import Job
from plixo.ops.services import jobs_sync
from tests.conftest import PASSWORD
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _url(name, membership):
    return reverse(name, kwargs={"membership_id": membership.public_id})


def _invite(personas, email="dana@acme.example", role=Role.AR_OPERATOR):
    return invitation_create(
        organization=personas.org, email=email, role=role, actor=personas.controller.user
    )


def test_the_page_reads_users_and_roles_and_offers_management_to_controllers(personas):
    body = personas.client_for(Role.CONTROLLER).get(reverse("team")).content.decode()
    assert "Users &amp; Roles" in body
    assert "Invite a teammate" in body
    assert "Temporary role" in body
    assert "(you)" in body

    manager = personas.client_for(Role.AR_MANAGER).get(reverse("team"))
    assert manager.status_code == 200
    text = manager.content.decode()
    assert "Invite a teammate" not in text and "Deactivate" not in text


def test_controller_invites_and_the_link_creates_an_account(
    personas, django_capture_on_commit_callbacks
):
    controller = personas.client_for(Role.CONTROLLER)
    with django_capture_on_commit_callbacks(execute=True):
        response = controller.post(
            reverse("team-invite"), {"email": "Dana@Acme.example", "role": Role.AR_OPERATOR}
        )
    assert response.status_code == 302
    page = controller.get(reverse("team")).content.decode()
    assert "Invitation sent to dana@acme.example" in page
    assert "Pending" in page

    path = re.search(r"https?://[^/\s]+(/invite/[^/\s]+/)", mail.outbox[0].body).group(1)
    visitor = Client()
    form = visitor.get(path)
    assert form.status_code == 200
    assert form["Referrer-Policy"] == "same-origin"
    assert "Create account and join" in form.content.decode()

    mismatch = visitor.post(
        path, {"full_name": "Dana", "password": PASSWORD, "password_again": "other-pass-99"}
    )
    assert mismatch.status_code == 400
    assert "differ" in mismatch.content.decode()

    joined = visitor.post(
        path, {"full_name": "Dana Scully", "password": PASSWORD, "password_again": PASSWORD}
    )
    assert joined.status_code == 302
    membership = Membership.objects.get(user__email="dana@acme.example")
    assert membership.role == Role.AR_OPERATOR
    welcome = visitor.get(joined.url, follow=True).content.decode()
    assert "Welcome to Acme Widgets" in welcome

    used = Client().get(path)
    assert used.status_code == 410
    assert "used already" in used.content.decode()


def test_an_existing_account_signs_in_then_joins(personas):
    someone = UserFactory(email="dana@acme.example")
    _, token = _invite(personas)
    path = reverse("invitation-accept", kwargs={"invite_token": token})

    anonymous = Client().get(path).content.decode()
    assert "Sign in to join" in anonymous

    client = Client()
    client.force_login(someone)
    assert "Join Acme Widgets" in client.get(path).content.decode()
    assert client.post(path).status_code == 302
    assert Membership.objects.filter(user=someone, organization=personas.org).exists()


def test_signed_in_as_someone_else_the_link_says_so_and_changes_nothing(personas):
    _, token = _invite(personas)
    path = reverse("invitation-accept", kwargs={"invite_token": token})
    client = personas.client_for(Role.AR_OPERATOR)
    body = client.get(path).content.decode()
    assert "This invitation is for dana@acme.example" in body
    client.post(path)
    assert not Invitation.objects.filter(accepted_at__isnull=False).exists()


@pytest.mark.parametrize(
    ("setup", "status", "text"),
    [
        ("expired", 410, "expired"),
        ("revoked", 410, "withdrawn"),
        ("unknown", 404, "not valid"),
    ],
)
def test_unusable_links_show_a_clear_page(personas, setup, status, text):
    invitation, token = _invite(personas)
    if setup == "expired":
        Invitation.objects.filter(pk=invitation.pk).update(
            expires_at=timezone.now() - dt.timedelta(minutes=1)
        )
    elif setup == "revoked":
        invitation_revoke(invitation=invitation, actor=personas.controller.user)
    else:
        token = "x" * 43
    path = reverse("invitation-accept", kwargs={"invite_token": token})
    for response in (Client().get(path), Client().post(path, {"full_name": "X"})):
        assert response.status_code == status
        assert text in response.content.decode()
    assert not Membership.objects.filter(user__email="dana@acme.example").exists()


def test_a_very_long_token_is_a_clear_page_not_an_error(personas):
    response = Client().get(f"/invite/{'a' * 5000}/")
    assert response.status_code == 404


def test_inviting_a_member_shows_the_error_and_keeps_the_form(personas):
    response = personas.client_for(Role.CONTROLLER).post(
        reverse("team-invite"), {"email": personas.operator.user.email, "role": Role.LEGAL}
    )
    assert response.status_code == 400
    assert "already a member" in response.content.decode()
    assert not Invitation.objects.exists()


def test_revoke_from_the_page(personas):
    invitation, _ = _invite(personas)
    client = personas.client_for(Role.CONTROLLER)
    url = reverse("team-invitation-revoke", kwargs={"invitation_id": invitation.public_id})
    assert client.post(url).status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_temporary_role_in_the_organizations_time_zone_and_shown_on_the_page(personas):
    # Acme's zone is America/New_York (the factory's), five hours behind UTC in December.
    operator = personas.operator
    client = personas.client_for(Role.CONTROLLER)
    until = (timezone.now() + dt.timedelta(days=3)).astimezone(dt.UTC)
    local = until.astimezone(zoneinfo.ZoneInfo(personas.org.time_zone))
    response = client.post(
        _url("team-member-temporary", operator),
        {
            "role": Role.AR_MANAGER,
            "until": local.strftime("%Y-%m-%dT%H:%M"),
            "reason": "Quarter-end cover",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    operator.refresh_from_db()
    assert operator.role == Role.AR_MANAGER
    assert abs(operator.temporary_until - until) < dt.timedelta(minutes=1)
    page = client.get(reverse("team")).content.decode()
    text = re.sub(r"<[^>]+>", "", page)
    when = when_label(operator.temporary_until, personas.org)
    assert f"{local:%a} {local.day} {local:%b}" in when and f"{local:%H:%M}" in when
    assert f"A/R Manager until {when} (Quarter-end cover), then A/R Operator" in text
    assert "End now: back to A/R Operator" in page

    assert client.post(_url("team-member-temporary-end", operator)).status_code == 302
    operator.refresh_from_db()
    assert operator.role == Role.AR_OPERATOR


@pytest.mark.parametrize(
    "data",
    [
        {"role": Role.AR_MANAGER, "until": "2020-01-01T09:00", "reason": "Cover"},
        {"role": Role.AR_MANAGER, "until": "2099-01-01T09:00", "reason": "Cover"},
        {"role": Role.AR_MANAGER, "until": "not a date", "reason": "Cover"},
        {"role": Role.AR_MANAGER, "until": "2026-12-04T17:00", "reason": ""},
        {"role": "emperor", "until": "2026-12-04T17:00", "reason": "Cover"},
    ],
)
def test_bad_temporary_role_input_is_a_clear_400(personas, data):
    response = personas.client_for(Role.CONTROLLER).post(
        _url("team-member-temporary", personas.operator), data
    )
    assert response.status_code == 400
    personas.operator.refresh_from_db()
    assert personas.operator.role == Role.AR_OPERATOR
    assert not AuditEvent.objects.exists()


def test_deactivate_and_reactivate_from_the_page(personas):
    operator = personas.operator
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(_url("team-member-deactivate", operator), {"reason": "Left the team"})
    assert response.status_code == 302
    operator.refresh_from_db()
    assert not operator.is_active
    # The deactivated member has no organization any more.
    assert personas.client_for(Role.AR_OPERATOR).get(reverse("team")).status_code == 403
    assert client.post(_url("team-member-reactivate", operator)).status_code == 302
    operator.refresh_from_db()
    assert operator.is_active


def test_the_controllers_own_row_has_no_controls_and_posting_is_refused(personas):
    me = personas.controller
    client = personas.client_for(Role.CONTROLLER)
    client.post(_url("team-member-deactivate", me))
    me.refresh_from_db()
    assert me.is_active
    page = client.get(reverse("team")).content.decode()
    assert "yourself" in page or "last Controller" in page


def test_only_team_manage_may_post(personas):
    manager = personas.client_for(Role.AR_MANAGER)
    operator = personas.operator
    for name in ("team-member-deactivate", "team-member-temporary", "team-member-temporary-end"):
        assert manager.post(_url(name, operator), {"reason": "x"}).status_code == 403
    assert manager.post(reverse("team-invite"), {"email": "a@b.example"}).status_code == 403


def test_another_organizations_member_is_not_found(personas):
    client = personas.client_for(Role.CONTROLLER)
    for name in ("team-member-deactivate", "team-member-temporary", "team-member-reactivate"):
        assert client.post(_url(name, personas.outsider), {"reason": "x"}).status_code == 404


def test_the_trail_shows_the_temporary_role_and_its_revert(personas):
    from plixo.core.services import temporary_roles_revert

    until = timezone.now() + dt.timedelta(days=2)
    membership_upgrade_temporary(
        membership=personas.operator,
        role=Role.AR_MANAGER,
        expires_at=until,
        reason="Holiday cover",
        actor=personas.controller.user,
    )
    temporary_roles_revert(now=until + dt.timedelta(minutes=1))
    page = personas.client_for(Role.CONTROLLER).get(reverse("team")).content.decode()
    assert "Temporary role given" in page
    assert "Temporary role ended" in page
    assert "The temporary role expired." in page
    assert "Holiday cover" in page


# --- instance mode: jobs and maintenance ---------------------------------------------------------


def _job():
    jobs_sync()
    return Job.objects.order_by("name").first().name


@pytest.mark.parametrize("mode", ["single", "multi"])
def test_pausing_jobs_follows_the_instance_mode(personas, mode):
    name = _job()
    client = personas.client_for(Role.CONTROLLER)
    with override_settings(PLIXO_INSTANCE_MODE=mode):
        response = client.post(reverse("ops:job-pause", kwargs={"job_name": name}))
        maintenance = client.post(reverse("ops:maintenance"), {"enabled": "on", "message": "x"})
        page = client.get(reverse("ops:index")).content.decode()
    paused = Job.objects.get(name=name).paused
    if mode == "single":
        assert response.status_code == 302 and paused
        assert maintenance.status_code == 302
    else:
        assert response.status_code == 403 and not paused
        assert maintenance.status_code == 403
        assert "only its staff" in response.content.decode()
        assert f'action="{reverse("ops:job-pause", kwargs={"job_name": name})}"' not in page


def test_staff_pause_jobs_on_a_multi_organization_instance(personas):
    name = _job()
    controller = personas.controller.user
    controller.is_staff = True
    controller.save(update_fields=["is_staff"])
    client = personas.client_for(Role.CONTROLLER)
    with override_settings(PLIXO_INSTANCE_MODE="multi"):
        response = client.post(reverse("ops:job-pause", kwargs={"job_name": name}))
    assert response.status_code == 302
    assert Job.objects.get(name=name).paused


def test_a_bad_instance_mode_is_a_configuration_error():
    from django.core.exceptions import ImproperlyConfigured

    from plixo.core.permissions import instance_mode

    with override_settings(PLIXO_INSTANCE_MODE="galaxy"), pytest.raises(ImproperlyConfigured):
        instance_mode()
