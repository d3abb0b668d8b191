"""Without Pango, PDF downloads answer a clear 503 page with the request id, not a 500."""

import builtins

import pytest

from plixo.core.models import Role
from tests.factories import InvoiceFactory


@pytest.fixture
def no_pango(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "weasyprint" or name.startswith("weasyprint."):
            raise OSError("cannot load library 'libpango-1.0-0'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)


def test_invoice_pdf_without_pango_is_a_503_that_says_what_is_missing(personas, no_pango):
    invoice = InvoiceFactory(customer__organization=personas.org)
    response = personas.client_for(Role.AR_OPERATOR).get(f"/invoices/{invoice.public_id}/pdf/")
    assert response.status_code == 503
    body = response.content.decode()
    assert "Pango" in body
    assert response["X-Request-ID"] in body
