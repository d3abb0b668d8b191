"""The OpenAPI document, the docs page, and the API's edges (index, unknown routes, errors)."""

import re
from typing import get_args

import pytest
from django.test import Client

from plixo.api import schemas
from plixo.api.routes import api_operations
from plixo.ledger.models import InvoiceStatus
from plixo.ledger.selectors import BUCKETS_BY_KEY, INVOICE_SORTS


@pytest.fixture
def openapi(db) -> dict:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_openapi_lists_every_operation_and_nothing_else(openapi):
    assert openapi["openapi"].startswith("3.")
    assert openapi["info"]["title"] == "Plixo API"
    served = {(op.method.lower(), op.path) for op in api_operations()}
    documented = {
        (method, path)
        for path, operations in openapi["paths"].items()
        for method in operations
        if method in ("get", "post", "put", "patch", "delete")
    }
    assert served == documented
    assert len(served) >= 16


def test_every_operation_is_documented_as_needing_the_bearer_key(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            assert operation.get("security"), f"{method} {path} documents no security"
            assert {"401", "403"} <= set(operation["responses"]), f"{method} {path}"


def test_ids_in_paths_are_uuids(openapi):
    for path, operations in openapi["paths"].items():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                if param["in"] == "path":
                    assert param["schema"]["format"] == "uuid", (path, param)


def test_money_is_documented_as_strings(openapi):
    components = openapi["components"]["schemas"]
    for schema_name, field in [
        ("InvoiceOut", "amount"),
        ("InvoiceOut", "balance"),
        ("PaymentOut", "unapplied_amount"),
        ("AllocationIn", "amount"),
        ("InvoiceCreate", "amount"),
    ]:
        assert components[schema_name]["properties"][field]["type"] == "string", (
            schema_name,
            field,
        )


def test_filter_choices_match_the_ledgers_tables():
    assert set(get_args(schemas.InvoiceStatusFilter)) == {"open", *InvoiceStatus.values}
    assert set(get_args(schemas.OverdueFilter)) == {"any", *BUCKETS_BY_KEY}
    assert set(get_args(schemas.InvoiceSort)) == set(INVOICE_SORTS)


def test_docs_page_loads_its_scripts_from_our_own_origin(db):
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    sources = re.findall(r'<script[^>]*\bsrc="([^"]+)"', html)
    assert sources, "the docs page should load Swagger UI"
    assert all(src.startswith("/static/") for src in sources), sources
    # Only data blocks inline: nothing the Content Security Policy would have to allow.
    inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
    assert all('type="application/json"' in attrs for attrs in inline), inline
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_index_and_unknown_routes_answer_json(db):
    client = Client()
    index = client.get("/api/v1/")
    assert index.json()["openapi"] == "/api/v1/openapi.json"

    for path in ("/api/v1/nothing-here", "/api/v1/invoices/x/y/z"):
        response = client.get(path, headers={"X-Request-ID": "trace-unknown-1"})
        assert response.status_code == 404
        assert response.json() == {
            "detail": "There is no such API route.",
            "request_id": "trace-unknown-1",
        }


def test_wrong_method_and_bad_json(controller_api):
    assert controller_api.client.delete("/api/v1/invoices").status_code == 405
    response = controller_api.client.post(
        "/api/v1/invoices", "{not json", content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["request_id"] == response.headers["X-Request-ID"]


def test_unexpected_errors_are_json_500_with_the_request_id(controller_api, acme, monkeypatch):
    from plixo.ledger import selectors

    def broken(**kwargs):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(selectors, "invoice_for", broken)
    response = controller_api.get(f"/api/v1/invoices/{acme.invoice.public_id}")

    assert response.status_code == 500
    body = response.json()
    assert "database on fire" not in body["detail"]
    assert body["request_id"] == response.headers["X-Request-ID"]
