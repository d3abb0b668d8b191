"""Maintenance mode: the CLI switch, the payer-facing 503 page, and staff pages still served."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from plixo.core.models import Role
from plixo.ops import services
from plixo.ops.selectors import maintenance_active, maintenance_state

pytestmark = pytest.mark.django_db


def maintenance_cli(*args) -> tuple[int, str, str]:
    out = io.StringIO()
    try:
        call_command("maintenance", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def test_cli_turns_maintenance_on_and_off():
    assert maintenance_cli("status") == (0, "Maintenance mode is off.\n", "")

    code, out, _ = maintenance_cli("on", "--message", "Back by 14:00 UTC", "--json")
    assert code == 0
    payload = json.loads(out)
    assert payload["enabled"] is True
    assert payload["message"] == "Back by 14:00 UTC"
    assert payload["changed_by"] == "command line"
    assert payload["changed_at"]
    assert maintenance_active() is True

    code, out, _ = maintenance_cli("status")
    assert out.startswith("Maintenance mode is ON since ")
    assert out.strip().endswith("Message: Back by 14:00 UTC")

    code, out, _ = maintenance_cli("off", "--json")
    assert json.loads(out)["enabled"] is False
    assert maintenance_active() is False
    assert maintenance_state().message == ""


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("sideways",), "Unknown action 'sideways'"),
        (("off", "--message", "hello"), "--message goes with `on`."),
        (("on", "--message", "x" * 301), "The maintenance message is limited to 300"),
    ],
)
def test_cli_bad_usage_exits_2(args, expected):
    code, _, message = maintenance_cli(*args)
    assert code == 2
    assert message.startswith(expected)
    assert maintenance_active() is False


def test_service_records_who_switched_it(personas):
    user = personas.controller.user
    state = services.maintenance_set(enabled=True, actor=user, message="  Upgrading  ")
    assert state.pk == 1
    assert state.changed_by == user
    assert state.changed_by_label == str(user)
    assert state.message == "Upgrading"
    services.maintenance_set(enabled=False)
    assert maintenance_state().changed_by_label == "system"


@pytest.mark.parametrize("path", ["/p/some-payer-token", "/portal/demo"])
def test_payer_pages_answer_503_with_retry_after_while_on(path):
    services.maintenance_set(enabled=True, message="Back by 14:00 UTC")

    response = Client().get(path, HTTP_X_REQUEST_ID="req-maint-0001")

    assert response.status_code == 503
    assert response["Retry-After"] == "600"
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert "We’ll be right back" in body
    assert "Back by 14:00 UTC" in body
    assert "req-maint-0001" in body
    assert "ops/maintenance.css" in body
    # A standalone page: not the staff layout, no inline styles (CSP forbids them).
    assert "topbar" not in body
    assert "<style" not in body and "style=" not in body


def test_payer_pages_are_not_blocked_while_off():
    response = Client().get("/p/some-payer-token")
    assert response.status_code != 503
    assert "Retry-After" not in response


def test_maintenance_stylesheet_is_served():
    services.maintenance_set(enabled=True)
    body = Client().get("/p/x").content.decode()
    href = body.split('rel="stylesheet" href="', 1)[1].split('"', 1)[0]
    response = Client().get(href)
    assert response.status_code == 200
    assert b".sheet" in b"".join(response.streaming_content)


def test_staff_pages_still_work_with_a_banner(personas):
    services.maintenance_set(enabled=True)
    response = personas.client_for(Role.CONTROLLER).get(reverse("ops:index"))
    assert response.status_code == 200
    assert "Maintenance mode is on" in response.content.decode()
