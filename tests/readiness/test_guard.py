"""Leaving test mode needs the last Data-Ready run to have passed, or a Controller's override."""

import pytest
from django.urls import reverse

from plixo.comms.models import CommsError
from plixo.comms.services.settings import organization_live_set, sending_settings_update
from plixo.core.models import AuditEvent, Organization, Role
from plixo.readiness.services import ReadinessError, readiness_override
from tests.readiness.conftest import run_saved

pytestmark = pytest.mark.django_db


@pytest.fixture
def test_mode(personas):
    sending_settings_update(
        organization=personas.org, actor=None, test_address="ar-test@acme.example"
    )
    Organization.objects.filter(pk=personas.org.pk).update(is_live=False)
    personas.org.refresh_from_db()
    return personas.org


def _live() -> bool:
    return Organization.objects.get(slug="acme").is_live


def test_going_live_without_a_run_is_refused(test_mode):
    with pytest.raises(CommsError, match="Run the Data-Ready checks"):
        organization_live_set(organization=test_mode, live=True)
    assert not _live()


def test_going_live_after_a_failed_run_is_refused_naming_the_check(test_mode):
    run_saved(test_mode, passed=False)
    with pytest.raises(CommsError, match=r"failed \(Contact coverage\)"):
        organization_live_set(organization=test_mode, live=True)
    assert not _live()


def test_going_live_after_a_passing_run(test_mode):
    run_saved(test_mode, passed=True)
    organization_live_set(organization=test_mode, live=True)
    assert _live()


def test_controller_override_with_a_reason_lets_it_go_live(personas, test_mode):
    run_saved(test_mode, passed=False)
    readiness_override(
        organization=test_mode, actor=personas.controller.user, reason="Pilot with 3 payers."
    )
    organization_live_set(organization=test_mode, live=True, actor=personas.controller.user)
    assert _live()
    assert AuditEvent.objects.filter(action="readiness_override", reason="Pilot with 3 payers.")


def test_an_override_covers_its_run_only(personas, test_mode):
    run_saved(test_mode, passed=False)
    readiness_override(organization=test_mode, actor=personas.controller.user, reason="Pilot.")
    run_saved(test_mode, passed=False)
    with pytest.raises(CommsError):
        organization_live_set(organization=test_mode, live=True)


def test_only_a_controller_may_override(personas, test_mode):
    run_saved(test_mode, passed=False)
    with pytest.raises(ReadinessError, match="Only a Controller"):
        readiness_override(
            organization=test_mode, actor=personas.members[Role.AR_MANAGER].user, reason="x"
        )
    with pytest.raises(ReadinessError, match="Say why"):
        readiness_override(organization=test_mode, actor=personas.controller.user, reason="  ")


def test_going_back_to_test_mode_needs_no_run(personas, test_mode):
    Organization.objects.filter(pk=test_mode.pk).update(is_live=True)
    test_mode.refresh_from_db()
    organization_live_set(organization=test_mode, live=False)
    assert not _live()


def test_the_sending_settings_page_shows_why_it_cannot_go_live(personas, test_mode):
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("comms:sending-live"), {"live": "1", "confirm": "on"})
    assert response.status_code == 200
    assert "Data-Ready" in response.content.decode()
    assert not _live()
    run_saved(test_mode, passed=True)
    response = client.post(reverse("comms:sending-live"), {"live": "1", "confirm": "on"})
    assert response.status_code == 302 and _live()
