"""Requests out of every sane bound answer a JSON 4xx, never a 500: a body over the upload
limit, and pagination offsets beyond any database's integers."""

import json

import pytest
from django.conf import settings

CURSOR_LISTS = {"/api/v1/invoices", "/api/v1/payments", "/api/v1/contacts", "/api/v1/messages"}
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
