"""Requests out of every sane bound answer a JSON 4xx, never a 500: a body over the upload
limit, and pagination offsets beyond any database's integers."""

import json

import pytest
from django.conf import settings

CURSOR_LISTS = {
    "/api/v1/customers",
    "/api/v1/invoices",
    "/api/v1/payments",
    "/api/v1/contacts",
    "/api/v1/messages",
}
LISTS = [
    "/api/v1/customers",
    "/api/v1/invoices",
    "/api/v1/payments",
    "/api/v1/contacts",
    "/api/v1/messages",
]


def test_a_body_over_the_limit_is_a_413_in_the_json_error_shape(controller_api):
    padding = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = controller_api.client.post(
        "/api/v1/customers",
        json.dumps({"name": "Big", "external_id": "BIG-1", "note": padding}),
        content_type="application/json",
    )
    assert response.status_code == 413
    body = response.json()
    assert "larger than" in body["detail"] and body["request_id"]


@pytest.mark.parametrize("url", LISTS)
def test_an_offset_beyond_any_list_is_a_422_not_an_overflow(controller_api, url):
    response = controller_api.get(url, {"offset": 10**30})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]
    deep = controller_api.get(url, {"offset": 10**9})
    if url in CURSOR_LISTS:
        # Lists that may hold millions of rows page by cursor past 10,000.
        assert deep.status_code == 422
        assert "next_cursor" in deep.json()["detail"][0]["msg"]
        assert controller_api.get(url, {"offset": 10_000}).status_code == 200
    else:
        assert deep.status_code == 200


def _cursor(ordering, values) -> str:
    import base64

    payload = {"o": list(ordering), "v": values, "b": False, "i": 0}
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    ("url", "ordering", "values"),
    [
        # A time past what Python can shift to UTC, and one without a zone.
        ("/api/v1/messages", ("-created_at", "-id"), ["9999-12-31T23:59:59-23:59", "5"]),
        ("/api/v1/messages", ("-created_at", "-id"), ["2026-01-01T00:00:00", "5"]),
        ("/api/v1/invoices?sort=amount", ("amount", "number"), ["1e999999", "INV-1"]),
        ("/api/v1/invoices?sort=amount", ("amount", "number"), ["NaN", "INV-1"]),
        ("/api/v1/invoices?sort=due", ("due_date", "number"), ["0001-01-01", "INV-1"]),
        ("/api/v1/contacts", ("id",), [str(10**30)]),
    ],
)
def test_an_edited_cursor_out_of_range_is_a_422_not_a_500(controller_api, url, ordering, values):
    joiner = "&" if "?" in url else "?"
    response = controller_api.get(f"{url}{joiner}cursor={_cursor(ordering, values)}")
    assert response.status_code == 422, response.content
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_a_cursor_time_at_any_offset_is_read_in_utc(controller_api):
    # PostgreSQL refuses offsets past ±15:59; the cursor's time reaches it in UTC.
    cursor = _cursor(("-created_at", "-id"), ["2026-01-01T00:00:00+23:59", "5"])
    assert controller_api.get(f"/api/v1/messages?cursor={cursor}").status_code == 200
