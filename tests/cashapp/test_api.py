"""`/api/v1/cash`: upload, list with filters, apply, split, reject, undo; scoping and roles."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from plixo.cashapp.models import Receipt
from plixo.core.models import Role
from plixo.core.permissions import Cap, role_can
from plixo.ledger.models import InvoiceStatus
from tests.api.conftest import client_for_membership
from tests.cashapp.conftest import csv_bytes

ROOT = "/api/v1/cash"


def upload(client, data: bytes, name="bank.csv", **fields):
    return client.client.post(
        f"{ROOT}/statements", {"file": SimpleUploadedFile(name, data), **fields}
    )


@pytest.fixture
def controller_api(personas):
    return client_for_membership(personas.controller)


def test_upload_answers_the_summary_and_twice_adds_nothing(controller_api, make_invoice):
    make_invoice("INV-1043", "100.00")
    data = csv_bytes(
        "2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1",
        "2026-11-02,oops,USD,Globex Ltd,INV-1044,T2",
        "2026-11-02,55.00,USD,Nobody,?,T3",
    )

    first = upload(controller_api, data)
    second = upload(controller_api, data)

    assert first.status_code == 201, first.content
    body = first.json()
    assert {k: body[k] for k in ("lines", "receipts", "duplicates", "rejected")} == {
        "lines": 3,
        "receipts": 2,
        "duplicates": 0,
        "rejected": 1,
    }
    assert (body["auto_applied"], body["unmatched"]) == (1, 1)
    assert body["rejects"] == [{"line": 3, "message": "amount 'oops' is not a decimal number"}]
    assert second.json()["receipts"] == 0 and second.json()["duplicates"] == 2


def test_unreadable_file_is_400_and_writes_nothing(controller_api):
    response = upload(controller_api, b"<?xml version='1.0'?><!DOCTYPE x []><Document/>", "x.xml")

    assert response.status_code == 400
    assert "refused for safety" in response.json()["detail"]
    assert not Receipt.objects.exists()


def test_receipts_list_filters_and_shape(controller_api, make_invoice):
    make_invoice("INV-1043", "100.00")
    statement = upload(
        controller_api,
        csv_bytes("2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1", "2026-11-03,9.00,EUR,X,?,T2"),
    ).json()

    applied = controller_api.get(f"{ROOT}/receipts", {"status": "applied"}).json()
    queue = controller_api.get(
        f"{ROOT}/receipts", {"status": "unapplied", "statement": statement["statement_id"]}
    ).json()

    (receipt,) = applied["results"]
    assert (receipt["amount"], receipt["currency"], receipt["status"]) == (
        "100.00",
        "USD",
        "applied",
    )
    assert [a["invoice_number"] for a in receipt["allocations"]] == ["INV-1043"]
    assert receipt["allocations"][0]["amount"] == "100.00"
    assert receipt["confidence"] >= 95 and "INV-1043 named" in receipt["explanation"]
    assert [(r["amount"], r["currency"]) for r in queue["results"]] == [("9.00", "EUR")]


def test_apply_split_reject_undo(controller_api, make_invoice, org):
    from plixo.cashapp.services import cash_settings_update

    cash_settings_update(organization=org, auto_apply=False, auto_apply_threshold=95)
    first = make_invoice("INV-1043", "100.00")
    second = make_invoice("INV-2000", "80.00")
    upload(controller_api, csv_bytes("2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1"))
    upload(controller_api, csv_bytes("2026-11-02,150.00,USD,Someone,?,T2"))
    one = Receipt.objects.get(bank_transaction_id="T1")
    two = Receipt.objects.get(bank_transaction_id="T2")

    applied = controller_api.post(f"{ROOT}/receipts/apply", {"receipt": str(one.public_id)})
    assert applied.status_code == 200, applied.content
    assert applied.json()["status"] == "applied"
    first.refresh_from_db()
    assert first.status == InvoiceStatus.PAID

    too_much = controller_api.post(
        f"{ROOT}/receipts/split",
        {
            "receipt": str(two.public_id),
            "allocations": [{"invoice": str(second.public_id), "amount": "150.00"}],
        },
    )
    assert too_much.status_code == 400  # more than the invoice's balance
    split = controller_api.post(
        f"{ROOT}/receipts/split",
        {
            "receipt": str(two.public_id),
            "allocations": [{"invoice": str(second.public_id), "amount": "80.00"}],
        },
    )
    assert split.status_code == 200 and split.json()["unapplied_amount"] == "70.00"

    undo = controller_api.post(f"{ROOT}/receipts/undo", {"receipt": str(one.public_id)})
    assert undo.status_code == 200 and undo.json()["status"] in ("unmatched", "suggested")
    first.refresh_from_db()
    assert first.balance == Decimal("100.00")

    rejected = controller_api.post(
        f"{ROOT}/receipts/reject", {"receipt": str(one.public_id), "not_a_payment": True}
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"


def test_another_organizations_receipt_is_404(personas, make_invoice):
    acme = client_for_membership(personas.controller)
    globex = client_for_membership(personas.outsider)
    upload(acme, csv_bytes("2026-11-02,10.00,USD,A,?,T1"))
    receipt = Receipt.objects.get()

    for route in ("apply", "reject", "undo"):
        response = globex.post(f"{ROOT}/receipts/{route}", {"receipt": str(receipt.public_id)})
        assert response.status_code == 404, route
    assert globex.get(f"{ROOT}/receipts").json()["results"] == []


def test_another_organizations_invoice_in_a_split_is_refused(personas, make_invoice):
    acme = client_for_membership(personas.controller)
    foreign = make_invoice("INV-G", "10.00", organization=personas.other_org)
    upload(acme, csv_bytes("2026-11-02,10.00,USD,A,?,T1"))
    receipt = Receipt.objects.get()

    response = acme.post(
        f"{ROOT}/receipts/split",
        {
            "receipt": str(receipt.public_id),
            "allocations": [{"invoice": str(foreign.public_id), "amount": "10.00"}],
        },
    )

    assert response.status_code == 422
    receipt.refresh_from_db()
    assert receipt.applied_amount == 0


@pytest.mark.parametrize("role", Role.values)
def test_upload_needs_cash_apply(personas, role):
    client = client_for_membership(personas.members[role])

    response = upload(client, csv_bytes("2026-11-02,10.00,USD,A,?,T1"))

    assert response.status_code == (201 if role_can(role, Cap.CASH_APPLY) else 403)


def test_cash_apply_goes_with_payments_record():
    for role in Role.values:
        assert role_can(role, Cap.CASH_APPLY) == role_can(role, Cap.PAYMENTS_RECORD)
