"""Error pages carry the request id, whoever asks and however early the request failed."""

import re

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory
from django.urls import reverse

from plixo.core import views
from plixo.core.middleware import REQUEST_ID_HEADER
from plixo.core.models import Role

pytestmark = pytest.mark.django_db


def _shown_request_id(body: str) -> str:
    match = re.search(r"Request ID: <code>([^<]+)</code>", body)
    assert match, "the page shows no request id"
    return match.group(1)


def test_404_for_an_anonymous_visitor_shows_the_request_id(client, settings):
    assert settings.DEBUG is False

    response = client.get("/no-such-page/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Not found" in body
    assert _shown_request_id(body) == response[REQUEST_ID_HEADER]


def test_404_for_another_organizations_object_shows_the_request_id(personas):
    client = personas.client_for(Role.CONTROLLER)
    url = reverse(
        "ledger:invoice-detail", kwargs={"invoice_id": "00000000-0000-4000-8000-000000000000"}
    )

    response = client.get(url, headers={"X-Request-ID": "support-ticket-12345"})

    assert response.status_code == 404
    assert _shown_request_id(response.content.decode()) == "support-ticket-12345"
    assert response[REQUEST_ID_HEADER] == "support-ticket-12345"


def test_403_from_permission_denied_shows_reason_and_request_id(personas):
    client = personas.client_for(Role.SALES)

    response = client.get(reverse("team"))

    assert response.status_code == 403
    body = response.content.decode()
    assert "Not allowed" in body
    assert "Your role (Sales) does not allow this." in body
    assert _shown_request_id(body) == response[REQUEST_ID_HEADER]


def test_error_page_renders_for_a_request_that_failed_before_any_middleware():
    request = RequestFactory().get("/broken/")  # no user, no session, no request id

    response = views.error_500(request)

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body
    assert _shown_request_id(body) == "unknown"


@pytest.mark.parametrize(
    ("handler", "status", "title"),
    [
        (views.error_400, 400, "Bad request"),
        (views.error_403, 403, "Not allowed"),
        (views.error_404, 404, "Not found"),
    ],
)
def test_each_handler_renders_its_status(handler, status, title):
    request = RequestFactory().get("/x/")
    request.request_id = "abc123def456"

    response = handler(request, PermissionDenied("") if status == 403 else None)

    assert response.status_code == status
    body = response.content.decode()
    assert title in body
    assert _shown_request_id(body) == "abc123def456"


def test_csrf_failure_says_the_form_expired_and_shows_the_request_id(personas, settings):
    assert settings.CSRF_FAILURE_VIEW == "plixo.core.views.csrf_failure"
    member = personas.members[Role.CONTROLLER]
    client = Client(enforce_csrf_checks=True)
    client.force_login(member.user)

    response = client.post(
        reverse("switch-org"),
        {"organization": str(personas.org.public_id)},
        headers={"X-Request-ID": "csrf-ticket-42"},
    )

    assert response.status_code == 403
    body = response.content.decode()
    assert "This form has expired" in body
    assert "Reload the page" in body
    assert _shown_request_id(body) == "csrf-ticket-42"
    assert response[REQUEST_ID_HEADER] == "csrf-ticket-42"


def test_csrf_failure_renders_for_an_anonymous_visitor():
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("login"), {"username": "a@b.test", "password": "x"})

    assert response.status_code == 403
    body = response.content.decode()
    assert "This form has expired" in body
    assert _shown_request_id(body) == response[REQUEST_ID_HEADER]
