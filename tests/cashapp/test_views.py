"""The Cash App page: upload, receipts with their reasons, one-click actions (htmx and plain
posts), the navigation link and the capability check."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from plixo.cashapp.models import Receipt, Suggestion
from plixo.cashapp.services import cash_settings_update, statement_import
from plixo.core.models import Role
from plixo.ledger.models import InvoiceStatus
from tests.cashapp.conftest import csv_bytes

INDEX = reverse("cashapp:index")


def test_nav_link_only_for_roles_that_apply_cash(personas):
    operator = personas.client_for(Role.AR_OPERATOR).get(INDEX)
    sales = personas.client_for(Role.SALES)

    assert operator.status_code == 200
    assert f'href="{INDEX}"' in operator.content.decode()
    assert sales.get(INDEX).status_code == 403
    assert f'href="{INDEX}"' not in sales.get(reverse("ledger:invoice-list")).content.decode()


def test_upload_shows_summary_receipts_and_reasons(personas, make_invoice):
    make_invoice("INV-1043", "100.00")
    client = personas.client_for(Role.AR_OPERATOR)
    data = csv_bytes(
        "2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1",
        "2026-11-02,bad,USD,Globex Ltd,?,T2",
        "2026-11-02,20.00,EUR,Somebody,?,T3",
    )

    response = client.post(INDEX, {"file": SimpleUploadedFile("bank.csv", data)}, follow=True)

    page = response.content.decode()
    assert "1 applied, 0 to review, 1 unmatched" in page
    assert "Line 3: amount &#x27;bad&#x27; is not a decimal number" in page
    assert "INV-1043 named in the remittance" in page
    # The queue's total is per currency.
    queue = client.get(INDEX).content.decode()
    assert "€20.00" in queue


def test_bad_file_shows_the_reason_and_writes_nothing(personas):
    client = personas.client_for(Role.AR_OPERATOR)

    response = client.post(INDEX, {"file": SimpleUploadedFile("x.csv", b"Who,What\n1,2\n")})

    assert response.status_code == 200
    assert "needs a date column" in response.content.decode()
    assert not Receipt.objects.exists()


def test_one_click_apply_with_htmx_then_undo(personas, make_invoice, org):
    cash_settings_update(organization=org, auto_apply=False, auto_apply_threshold=95)
    invoice = make_invoice("INV-1043", "100.00")
    statement_import(organization=org, data=csv_bytes("2026-11-02,100.00,USD,Globex,INV-1043,T1"))
    suggestion = Suggestion.objects.get()
    client = personas.client_for(Role.AR_OPERATOR)

    response = client.post(
        reverse("cashapp:apply"), {"suggestion": suggestion.public_id}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert 'id="receipt-' in response.content.decode() and "Applied" in response.content.decode()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    application = Receipt.objects.get().applications.get()

    back = client.post(reverse("cashapp:undo"), {"application": application.public_id})

    assert back.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_split_by_invoice_number_never_beyond_the_receipt(personas, make_invoice, org):
    make_invoice("INV-1", "500.00")
    statement_import(organization=org, data=csv_bytes("2026-11-02,100.00,USD,X,?,T1"))
    receipt = Receipt.objects.get()
    client = personas.client_for(Role.AR_OPERATOR)

    response = client.post(
        reverse("cashapp:split"),
        {"receipt": receipt.public_id, "invoice": ["INV-1"], "amount": ["120.00"]},
        HTTP_HX_REQUEST="true",
    )

    assert "more than the" in response.content.decode()
    receipt.refresh_from_db()
    assert receipt.applied_amount == 0


def test_actions_on_another_organizations_objects_are_404(personas, make_invoice):
    statement_import(organization=personas.other_org, data=csv_bytes("2026-11-02,10.00,USD,X,?,T1"))
    receipt = Receipt.objects.get()
    client = personas.client_for(Role.CONTROLLER)

    assert (
        client.post(reverse("cashapp:dismiss"), {"receipt": receipt.public_id}).status_code == 404
    )
    assert client.post(reverse("cashapp:split"), {"receipt": receipt.public_id}).status_code == 404
