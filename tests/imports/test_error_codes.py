"""Every error code the import pipeline can give, each from a file that provokes it."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.imports.models import ImportStatus
from plixo.imports.pipeline.validate import ERROR_CODES
from plixo.ledger import services as ledger
from tests.imports.conftest import reject_rows

INVOICE_HEADER = (
    "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount"
)
GOOD_INVOICE = "INV-1,C-1,Acme,2024-01-01,2024-01-31,USD,100.00"
LINE_HEADER = "InvoiceNumber,ContactName,InvoiceDate,DueDate,Currency,Total,Quantity"


@pytest.fixture
def existing(org):
    """C-1 with an open invoice INV-OLD (USD 500, 200 paid) for the conflict cases."""
    customer = ledger.customer_create(organization=org, external_id="C-1", name="Acme")
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="INV-OLD",
        issue_date=dt.date(2024, 1, 1),
        due_date=dt.date(2024, 1, 31),
        currency="USD",
        amount=Decimal("500.00"),
    )
    ledger.payment_record(
        organization=org,
        reference="PAY-OLD",
        amount=Decimal("200.00"),
        currency="USD",
        allocations=[ledger.AllocationRequest(invoice=invoice, amount=Decimal("200.00"))],
    )
    return customer


# (code, kind, file content, column the reject log names)
ROW_CASES = [
    (
        "missing_value",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,,100",
        "currency",
    ),
    (
        "invalid_currency",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,US$,100",
        "currency",
    ),
    (
        "malformed_date",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-13-01,2024-01-31,USD,100",
        "issue_date",
    ),
    (
        "bad_amount",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,USD,12abc",
        "amount",
    ),
    (
        "too_many_decimals",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,JPY,100.5",
        "amount",
    ),
    (
        "due_before_issue",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-02-01,2024-01-31,USD,100",
        "due_date",
    ),
    ("unknown_status", "invoices", f"{INVOICE_HEADER},status\n{GOOD_INVOICE},maybe", "status"),
    (
        "duplicate_row",
        "invoices",
        f"{INVOICE_HEADER}\n{GOOD_INVOICE}\n{GOOD_INVOICE}",
        "invoice_number",
    ),
    ("malformed_row", "invoices", f"{INVOICE_HEADER}\n{GOOD_INVOICE},surplus,cells", ""),
    ("invalid_email", "contacts", "customer_external_id,email\nC-1,not-an-email", "email"),
    (
        "unknown_customer",
        "contacts",
        "customer_external_id,email\nC-404,ap@example.com",
        "customer_external_id",
    ),
    (
        "unknown_invoice",
        "payments",
        "reference,amount,currency,received_date,invoice_number\nP-1,10,USD,2024-02-01,INV-404",
        "invoice_number",
    ),
    (
        "unknown_method",
        "payments",
        "reference,amount,currency,received_date,method\nP-1,10,USD,2024-02-01,barter",
        "method",
    ),
    (
        "invalid_value",
        "customers",
        "customer_external_id,customer_name,time_zone\nC-9,Nine,Mars/Olympus",
        "time_zone",
    ),
    (
        "conflict",
        "invoices",
        f"{INVOICE_HEADER}\nINV-OLD,C-1,Acme,2024-01-01,2024-01-31,EUR,500.00",
        "currency",
    ),
    (
        # One row per line item (Quantity): INV-9 turns up again with another total.
        "conflicting_lines",
        "invoices",
        f"{LINE_HEADER}\nINV-9,Acme,2024-01-01,2024-01-31,USD,100.00,1\n"
        "INV-8,Acme,2024-01-01,2024-01-31,USD,50.00,1\n"
        "INV-9,Acme,2024-01-01,2024-01-31,USD,120.00,1",
        "invoice_number",
    ),
]

# Codes that reject more than one row at once: (code, kind, content, errors_by_code).
MULTI_ROW_CASES = [
    (
        # An invoice that is the sum of its lines loses its total when one line is rejected.
        "incomplete_invoice",
        "invoices",
        "Client Name,Invoice #,Date Issued,Date Due,Line Total,Currency\n"
        "Acme,0001,2024-01-01,2024-01-31,90.00,USD\n"
        "Acme,0001,2024-01-01,2024-01-31,12abc,USD",
        {"incomplete_invoice": 1, "bad_amount": 1},
    ),
]

# Files refused whole only when the upload leaves the formats to the file: (code, kind,
# content, options).
DETECTION_CASES = [
    (
        "ambiguous_dates",
        "invoices",
        f"{INVOICE_HEADER}\nINV-1,C-1,Acme,03/04/2024,05/06/2024,USD,100.00\n",
        {"date_format": "auto"},
    ),
    (
        "ambiguous_amounts",
        "invoices",
        f'{INVOICE_HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,KWD,"1,500"\n',
        {"number_format": "auto"},
    ),
]

FILE_CASES = [
    (
        "missing_required_header",
        "invoices",
        b"invoice_number,customer_name,amount\nINV-1,Acme,100\n",
    ),
    ("undecodable_file", "invoices", b"\x00\x01\x02PK\x03\x04 binary \xff\xfe\x00"),
    ("empty_file", "invoices", b""),
]


# Rows whose effect the uploader's role may not bring about: cases in test_roles.py.
ROLE_CASES = [("not_allowed",)]


def test_every_error_code_has_a_case():
    cases = ROW_CASES + FILE_CASES + MULTI_ROW_CASES + DETECTION_CASES + ROLE_CASES
    assert {case[0] for case in cases} == set(ERROR_CODES)


@pytest.mark.parametrize(
    ("code", "kind", "content", "column"), ROW_CASES, ids=[c[0] for c in ROW_CASES]
)
def test_row_error(run_import, existing, code, kind, content, column):
    batch = run_import(kind, content + "\n")

    assert batch.status == ImportStatus.LOADED
    summary = batch.summary
    assert summary["rejected"] == 1
    assert summary["errors_by_code"] == {code: 1}
    assert summary["accepted"] + summary["rejected"] == summary["rows"]
    [logged] = reject_rows(batch)
    assert logged["error_code"] == code
    assert logged["column"] == column
    assert logged["message"]
    assert int(logged["row_number"]) >= 2


@pytest.mark.parametrize(("code", "kind", "content"), FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_file_rejected_whole(run_import, code, kind, content):
    batch = run_import(kind, content)

    assert batch.status == ImportStatus.REJECTED
    assert batch.summary["errors_by_code"] == {code: 1}
    assert batch.summary["rows"] == batch.summary["accepted"] == 0
    assert batch.summary["reject_log"] is None
    assert batch.error


@pytest.mark.parametrize(
    ("code", "kind", "content", "errors"), MULTI_ROW_CASES, ids=[c[0] for c in MULTI_ROW_CASES]
)
def test_rows_rejected_together(run_import, code, kind, content, errors):
    batch = run_import(kind, content + "\n")

    assert batch.status == ImportStatus.LOADED
    assert batch.summary["errors_by_code"] == errors
    assert batch.summary["accepted"] == 0
    assert code in {row["error_code"] for row in reject_rows(batch)}


@pytest.mark.parametrize(
    ("code", "kind", "content", "options"), DETECTION_CASES, ids=[c[0] for c in DETECTION_CASES]
)
def test_file_refused_when_its_format_cannot_be_told(run_import, org, code, kind, content, options):
    batch = run_import(kind, content, **options)

    assert batch.status == ImportStatus.REJECTED
    assert batch.summary["errors_by_code"] == {code: 1}
    assert batch.summary["rows"] == 0 and batch.error
    assert not org.invoices.exists()


def test_missing_headers_are_named_and_nothing_is_written(run_import, org):
    batch = run_import("invoices", "Invoice #,Customer,Amount\nINV-1,Acme,100\n")

    assert "customer_external_id" in batch.error
    assert "issue_date" in batch.error and "due_date" in batch.error
    assert "invoice_number" not in batch.error.split("missing:")[1].split(".")[0]
    assert not org.invoices.exists() and not org.customers.exists()


def test_undecodable_message_says_so(run_import):
    # Bytes that are neither UTF-8 nor Windows-1252 (0x81 is undefined there).
    batch = run_import(
        "invoices", f"{INVOICE_HEADER}\n".encode() + b"INV-\x81\x8d,C,A,2024-01-01\n"
    )
    assert batch.status == ImportStatus.REJECTED
    assert "UTF-8" in batch.error and "could not be read" in batch.error


def test_a_row_with_several_problems_counts_once(run_import):
    batch = run_import("invoices", f"{INVOICE_HEADER}\nINV-1,C-1,Acme,bad,bad,XX,abc\n")
    assert batch.summary["rejected"] == 1
    assert sum(batch.summary["errors_by_code"].values()) == 1


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        (
            '"INV-2\nBcc: x@evil.example",C-2,Beta,2024-01-01,2024-01-31,USD,5.00',
            "invoice_number",
            "single line",
        ),
        (
            "INV-\x0b2,C-2,Beta,2024-01-01,2024-01-31,USD,5.00",
            "invoice_number",
            "control character",
        ),
        ("INV-2,C-2,Beta,0001-01-01,2024-01-31,USD,5.00", "issue_date", "between 1970-01-01"),
        ("INV-2,C-2,Beta,2024-01-01,9999-12-31,USD,5.00", "due_date", "between 1970-01-01"),
    ],
)
def test_control_characters_and_dates_out_of_range_reject_the_row(run_import, row, column, message):
    batch = run_import("invoices", f"{INVOICE_HEADER}\n{GOOD_INVOICE}\n{row}\n")

    assert batch.summary["accepted"] == 1 and batch.summary["rejected"] == 1
    [rejected] = reject_rows(batch)
    assert rejected["column"] == column and message in rejected["message"]
