"""One request id per request: returned as `X-Request-ID`, shown on error pages, and carried by
every log line written while the request runs, so support can find a request from a screenshot
of an error page."""

import io
import json
import logging
import re

import pytest
import structlog
from django.test import Client, RequestFactory
from django.urls import get_resolver, reverse

from plixo.core.logging import logging_config
from plixo.core.models import Role

GENERATED = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


def test_every_response_gets_a_generated_request_id(anonymous):
    first = anonymous.get(reverse("login"))
    second = anonymous.get(reverse("login"))

    assert first.status_code == 200
    assert GENERATED.match(first["X-Request-ID"])
    assert GENERATED.match(second["X-Request-ID"])
    assert first["X-Request-ID"] != second["X-Request-ID"]


def test_redirects_carry_a_request_id_too(anonymous):
    response = anonymous.get(reverse("team"))

    assert response.status_code == 302
    assert GENERATED.match(response["X-Request-ID"])


@pytest.mark.parametrize(
    "supplied",
    ["req-2024-05-01.abc:42", "0f8fad5b-d9cb-469f-a165-70867728950e", "a" * 128],
)
def test_a_sane_supplied_request_id_is_echoed(anonymous, supplied):
    response = anonymous.get(reverse("login"), headers={"X-Request-ID": supplied})

    assert response["X-Request-ID"] == supplied


@pytest.mark.parametrize(
    "supplied",
    [
        "short",  # too short to be anyone's id
        "a" * 129,  # too long
        "has spaces in it",
        "<script>alert(1)</script>",
        "id\u00e9nt-unicode",
        "semi;colon;id",
    ],
)
def test_an_unsafe_supplied_request_id_is_replaced(anonymous, supplied):
    response = anonymous.get(reverse("login"), headers={"X-Request-ID": supplied})

    assert response["X-Request-ID"] != supplied
    assert GENERATED.match(response["X-Request-ID"])


def test_the_404_page_shows_the_request_id(personas):
    client = personas.client_for(Role.AR_OPERATOR)

    response = client.get("/no-such-page/", headers={"X-Request-ID": "support-404-check"})

    assert response.status_code == 404
    assert response["X-Request-ID"] == "support-404-check"
    assert "support-404-check" in response.content.decode()


def test_the_404_page_shows_a_generated_request_id_to_anonymous_visitors(anonymous):
    response = anonymous.get("/no-such-page/")

    assert response.status_code == 404
    assert response["X-Request-ID"] in response.content.decode()


def test_the_403_page_shows_the_request_id(personas):
    client = personas.client_for(Role.SALES)  # Sales may not see the team page

    response = client.get(reverse("team"))

    assert response.status_code == 403
    body = response.content.decode()
    assert response["X-Request-ID"] in body
    assert "Sales" in body  # the page says why


def test_the_500_page_shows_the_request_id(db):
    handler = get_resolver().resolve_error_handler(500)
    request = RequestFactory().get("/invoices/")
    request.request_id = "support-500-check"

    response = handler(request)

    assert response.status_code == 500
    assert "support-500-check" in response.content.decode()


def test_the_500_page_renders_for_a_request_that_failed_before_any_middleware(db):
    handler = get_resolver().resolve_error_handler(500)

    response = handler(RequestFactory().get("/"))

    assert response.status_code == 500


@pytest.fixture
def json_log_lines():
    """Log lines as production writes them (JSON), formatted when they are written, so each
    carries the context bound at that moment."""
    spec = logging_config(level="INFO", json=True)["formatters"]["structlog"]
    formatter = spec["()"](**{key: value for key, value in spec.items() if key != "()"})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    watched = [logging.getLogger(name) for name in ("plixo.request", "django.request")]
    old_levels = [logger.level for logger in watched]
    root.addHandler(handler)
    for logger in watched:
        logger.setLevel(logging.INFO)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line]
    finally:
        root.removeHandler(handler)
        for logger, level in zip(watched, old_levels, strict=True):
            logger.setLevel(level)
        structlog.contextvars.clear_contextvars()


def test_log_lines_written_during_a_request_carry_its_request_id(personas, json_log_lines):
    client = personas.client_for(Role.AR_OPERATOR)

    client.get("/no-such-page/", headers={"X-Request-ID": "support-log-check"})
    client.get("/still-missing/", headers={"X-Request-ID": "support-log-other"})

    lines = json_log_lines()
    ours = [line for line in lines if line.get("logger") == "plixo.request"]
    djangos = [line for line in lines if line.get("logger") == "django.request"]
    assert [line["request_id"] for line in ours] == ["support-log-check", "support-log-other"]
    assert ours[0]["status"] == 404 and ours[0]["path"] == "/no-such-page/"
    # Django's own "Not Found" warnings go through the same formatter and carry the id too.
    assert [line["request_id"] for line in djangos] == ["support-log-check", "support-log-other"]
    assert all(line["org"] == "acme" for line in ours)
