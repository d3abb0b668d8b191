"""Files as accounting products export them, imported unedited (IMPORT-4).

The fixtures in tests/fixtures/erp follow each product's published columns and report layout
(see SOURCE.md there). Every one loads as it is, with the customers matched by name where the
product writes no customer id, line items merged into their invoice, report headings and totals
skipped, drafts and credit notes left out, and dates and amounts read the way the file writes
them; importing it a second time changes nothing.
"""

import csv
import datetime as dt
import io
import json
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from plixo.core.models import Role
from plixo.imports.models import ImportBatch, ImportStatus
from plixo.imports.pipeline import run as pipeline_run
from plixo.imports.pipeline.detect import date_hint
from plixo.imports.pipeline.numbers import number_hint
from plixo.imports.pipeline.validate import (
    Context,
    RowError,
    customer_name_key,
    validate_invoices,
)
from plixo.ledger.models import (
    Allocation,
    Contact,
    Customer,
    Invoice,
    InvoiceStatus,
    Payment,
    TimelineEvent,
)
from plixo.ledger.services import invoice_balance_from_rows
from tests.imports.conftest import reject_rows

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "erp"


# file -> what the import must make of it: figures of the summary, notes it must carry, and
# every invoice: number | customer | issue date | due date | currency | amount | balance |
# status ("part" for partially paid).
EXPECTED = {
    "xero_sales_invoices.csv": {
        "summary": {"rows": 10, "accepted": 10, "created": 5, "merged_lines": 3},
        "skipped": {"draft": 1, "not_approved": 1},
        "notes": ["Customers matched by name: no customer id column.", "DD/MM/YYYY"],
        "invoices": """
        INV-0101 | Harbour Lights Ltd | 2026-01-14 | 2026-02-13 | GBP | 1440.00 | 1440.00 | open
        INV-0102 | Kestrel Analytics | 2026-01-05 | 2026-02-04 | GBP | 600.00 | 0 | paid
        INV-0103 | Harbour Lights Ltd | 2026-01-20 | 2026-02-19 | GBP | 2400.00 | 1400.00 | part
        INV-0105 | Orchard Print Works | 2026-01-08 | 2026-02-07 | GBP | 360.00 | 0 | void
        INV-0106 | Kestrel Analytics | 2026-01-16 | 2026-02-15 | EUR | 1850.00 | 1850.00 | open
    """,
    },
    "qbo_ar_aging_detail.csv": {
        "summary": {"rows": 7, "accepted": 7, "created": 5, "merged_lines": 0},
        "skipped": {"payment": 1, "credit_note": 1},
        "notes": [
            "Customers matched by name: no customer id column.",
            "No currency column: amounts are in USD",
            "MM/DD/YYYY",
            "10 report lines",
        ],
        "invoices": """
        1002 | Driftwood Cafe | 2025-09-30 | 2025-10-30 | USD | 875.00 | 875.00 | open
        1019 | Cedar Ridge Dental, PLLC | 2025-11-20 | 2025-12-20 | USD | 14250.00 | 14250.00 | open
        1031 | Alder & Finch Design | 2025-12-15 | 2026-01-14 | USD | 2100.00 | 1100.00 | part
        1042 | Alder & Finch Design | 2026-01-20 | 2026-02-19 | USD | 1250.00 | 1250.00 | open
        1045 | Bluewater Marine Supply | 2026-01-28 | 2026-02-27 | USD | 3480.50 | 3480.50 | open
    """,
    },
    "qbo_customer_balance_detail.csv": {
        "summary": {"rows": 5, "accepted": 5, "created": 4, "merged_lines": 0},
        "skipped": {"credit_note": 1},
        "notes": ["Customer names from the report's group headings", "8 report lines"],
        "invoices": """
        1002 | Driftwood Cafe | 2025-09-30 | 2025-10-30 | USD | 875.00 | 875.00 | open
        1031 | Alder & Finch Design | 2025-12-15 | 2026-01-14 | USD | 2100.00 | 1100.00 | part
        1042 | Alder & Finch Design | 2026-01-20 | 2026-02-19 | USD | 1250.00 | 1250.00 | open
        1045 | Bluewater Marine Supply | 2026-01-28 | 2026-02-27 | USD | 3480.50 | 3480.50 | open
    """,
    },
    "qbd_open_invoices.csv": {
        "summary": {"rows": 4, "accepted": 4, "created": 3, "merged_lines": 0},
        "skipped": {"payment": 1},
        "notes": [
            "Customer names from the report's group headings",
            "No invoice total column: each invoice's amount is its open balance.",
        ],
        "invoices": """
        1019 | Cedar Ridge Dental, PLLC | 2025-11-20 | 2025-12-20 | USD | 14250.00 | 14250.00 | open
        1031 | Alder & Finch Design | 2025-12-15 | 2026-01-14 | USD | 1100.00 | 1100.00 | open
        1042 | Alder & Finch Design | 2026-01-20 | 2026-02-19 | USD | 1250.00 | 1250.00 | open
    """,
    },
    "zoho_books_invoices.csv": {
        "summary": {"rows": 6, "accepted": 6, "created": 4, "merged_lines": 1},
        "skipped": {"draft": 1},
        "notes": ["DD.MM.YYYY", "1.234,56"],
        "invoices": """
        INV-000031|Bäckerei Sonnenschein GmbH|2026-01-15|2026-02-14|EUR|3189.20|3189.20|open
        INV-000032 | Café Morgenrot | 2026-01-20 | 2026-02-19 | EUR | 1190.00 | 590.00 | part
        INV-000033 | Bäckerei Sonnenschein GmbH | 2026-01-22 | 2026-02-21 | EUR | 476.00 | 0 | paid
        INV-000035 | Café Morgenrot | 2026-01-05 | 2026-02-04 | EUR | 238.00 | 0 | void
    """,
    },
    "freshbooks_invoice_details.csv": {
        "summary": {"rows": 7, "accepted": 7, "created": 4, "merged_lines": 2},
        "skipped": {"draft": 1},
        "notes": ["each invoice's amount is the sum of its line amounts"],
        "invoices": """
        0000041 | Northwind Yoga Studio | 2026-01-06 | 2026-02-05 | USD | 1620.00 | 1620.00 | open
        0000042 | Harbor & Pine Bakery | 2026-01-09 | 2026-01-24 | USD | 450.00 | 0 | paid
        0000043 | Northwind Yoga Studio | 2026-01-15 | 2026-02-14 | USD | 800.00 | 800.00 | open
        0000045 | Lumen Dental Group | 2026-01-18 | 2026-02-17 | USD | 1075.00 | 1075.00 | open
    """,
    },
    "netsuite_invoices.csv": {
        "summary": {"rows": 5, "accepted": 5, "created": 4, "merged_lines": 0},
        "skipped": {"not_approved": 1},
        # The first two dates read both ways; 1/19/2026 on line 4 settles month first.
        "notes": ["MM/DD/YYYY, detected from '1/19/2026' on line 4"],
        "invoices": """
        INV10210 | Granite Peak Outfitters | 2025-12-15 | 2026-01-14 | USD | 980.00 | 0 | void
        INV10233|Tidewater Logistics Inc.|2026-01-05|2026-02-04|USD|5320.00|5320.00|open
        INV10240 | Granite Peak Outfitters | 2026-01-12 | 2026-02-11 | USD | 1890.75 | 0 | paid
        INV10247|Tidewater Logistics Inc.|2026-01-19|2026-02-18|CAD|12400.00|8400.00|part
    """,
    },
    "sage_accounting_invoices.csv": {
        "summary": {"rows": 5, "accepted": 5, "created": 5, "merged_lines": 0},
        "skipped": {},
        "notes": ["Customer names from the 'Contact Name' column"],
        "invoices": """
        SI-1001 | Fenwick Joinery Ltd | 2026-01-03 | 2026-02-02 | GBP | 1800.00 | 1800.00 | open
        SI-1002 | Ashby & Cole Solicitors | 2026-01-09 | 2026-02-08 | GBP | 900.00 | 400.00 | part
        SI-1003 | Fenwick Joinery Ltd | 2026-01-14 | 2026-02-13 | GBP | 300.00 | 0 | paid
        SI-1004 | Marsh Lane Garage | 2026-01-21 | 2026-02-20 | GBP | 480.00 | 0 | void
        SI-1005 | Marsh Lane Garage | 2026-01-28 | 2026-02-27 | GBP | 2640.00 | 2640.00 | open
    """,
    },
}


def test_every_fixture_is_covered():
    assert {p.name for p in FIXTURES.glob("*.csv")} == set(EXPECTED)


def _import(run_import, name: str, **options):
    """As the command line and the upload page do by default: formats found in the file."""
    options = {"date_format": "auto", "number_format": "auto", **options}
    return run_import("invoices", (FIXTURES / name).read_bytes(), **options)


def _ledger_state(org) -> tuple:
    return (
        sorted(
            Invoice.objects.filter(organization=org).values_list(
                "number", "amount", "balance", "status", "issue_date", "due_date", "currency"
            )
        ),
        Customer.objects.filter(organization=org).count(),
        Contact.objects.filter(organization=org).count(),
        Payment.objects.filter(organization=org).count(),
        Allocation.objects.filter(organization=org).count(),
        TimelineEvent.objects.filter(organization=org).count(),
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_export_imports_unedited(run_import, org, name):
    expected = EXPECTED[name]

    batch = _import(run_import, name)

    assert batch.status == ImportStatus.LOADED, batch.error
    summary = batch.summary
    assert summary["rejected"] == 0 and summary["errors_by_code"] == {}, summary
    for key, value in expected["summary"].items():
        assert summary[key] == value, (key, summary)
    assert summary["skipped_by_reason"] == expected["skipped"]
    assert summary["skipped"] == sum(expected["skipped"].values())
    notes = " ".join(summary["notes"])
    for fragment in expected["notes"]:
        assert fragment in notes, (fragment, summary["notes"])
    invoices = {i.number: i for i in Invoice.objects.filter(organization=org)}
    table = [
        [cell.strip() for cell in line.split("|")]
        for line in expected["invoices"].strip().splitlines()
    ]
    assert set(invoices) == {row[0] for row in table}
    for number, customer, issue, due, currency, amount, balance, status in table:
        invoice = invoices[number]
        assert invoice.customer.name == customer, number
        assert (str(invoice.issue_date), str(invoice.due_date)) == (issue, due), number
        assert invoice.currency == currency, number
        assert (invoice.amount, invoice.balance) == (Decimal(amount), Decimal(balance)), number
        assert invoice.status == {"part": InvoiceStatus.PARTIALLY_PAID}.get(status, status)
        assert invoice.balance == invoice_balance_from_rows(invoice), number
        assert invoice.timeline.filter(kind="imported").count() == 1


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_reimporting_an_export_changes_nothing(run_import, org, name):
    _import(run_import, name)
    before = _ledger_state(org)

    again = _import(run_import, name)

    assert again.status == ImportStatus.LOADED
    assert (again.summary["created"], again.summary["updated"], again.summary["rejected"]) == (
        0,
        0,
        0,
    )
    assert _ledger_state(org) == before


def test_customers_without_an_id_are_created_once_under_their_name(run_import, org):
    _import(run_import, "xero_sales_invoices.csv")

    customers = dict(Customer.objects.filter(organization=org).values_list("name", "external_id"))
    # Moorland Tea Co has only a draft and an invoice awaiting approval: not a customer yet.
    assert customers == {
        "Harbour Lights Ltd": "Harbour Lights Ltd",
        "Kestrel Analytics": "Kestrel Analytics",
        "Orchard Print Works": "Orchard Print Works",
    }
    harbour = Customer.objects.get(organization=org, name="Harbour Lights Ltd")
    contact = harbour.contacts.get()
    assert (contact.email, contact.is_primary) == ("accounts@harbourlights.example", True)


def test_existing_customer_is_matched_by_its_name_whatever_the_case_and_punctuation(
    run_import, org
):
    existing = Customer.objects.create(
        organization=org, external_id="C-77", name="HARBOUR LIGHTS LTD."
    )

    batch = _import(run_import, "xero_sales_invoices.csv")

    assert batch.summary["rejected"] == 0
    numbers = set(existing.invoices.values_list("number", flat=True))
    assert numbers == {"INV-0101", "INV-0103"}
    assert not Customer.objects.filter(organization=org, name="Harbour Lights Ltd").exists()
    assert existing.name == Customer.objects.get(pk=existing.pk).name  # names are not rewritten


def test_a_name_two_customers_share_is_refused_not_guessed(run_import, org):
    Customer.objects.create(organization=org, external_id="H-1", name="Harbour Lights Ltd")
    Customer.objects.create(organization=org, external_id="H-2", name="harbour lights ltd")

    batch = _import(run_import, "xero_sales_invoices.csv")

    logged = [r for r in reject_rows(batch) if r["*InvoiceNumber"] in {"INV-0101", "INV-0103"}]
    assert len(logged) == 5  # every line of both invoices
    assert {r["error_code"] for r in logged} == {"conflict"}
    assert "H-1" in logged[0]["message"] and "H-2" in logged[0]["message"]
    assert not Invoice.objects.filter(organization=org, number__in=["INV-0101", "INV-0103"])


def test_customer_name_key():
    assert customer_name_key("ACME  Corp.") == customer_name_key("acme corp")
    assert customer_name_key("Smith-Jones & Co") == "smith jones co"
    assert customer_name_key("O'Brien Ltd") == customer_name_key("OBrien Ltd")
    assert customer_name_key("Café Müller") == "café müller"
    assert customer_name_key("Acme Inc") != customer_name_key("Acme Ltd")


# --- line items -----------------------------------------------------------------------------

LINES_HEADER = (
    "ContactName,InvoiceNumber,InvoiceDate,DueDate,Total,InvoiceAmountDue,Description,"
    "Quantity,UnitAmount,LineAmount,Currency,Status"
)


def _line(number, total="300.00", *, customer="Acme Ltd", due="13/02/2026", desc="Item"):
    return (
        f"{customer},{number},14/01/2026,{due},{total},{total},{desc},1,100.00,100.00,GBP,"
        "Awaiting Payment"
    )


def test_rows_of_one_invoice_become_one_invoice_with_the_invoice_total(run_import, org):
    content = "\n".join(
        [LINES_HEADER, _line("INV-1"), _line("INV-1", desc="Second"), _line("INV-1")]
    )

    batch = run_import("invoices", content + "\n", date_format="dmy")

    assert (batch.summary["created"], batch.summary["accepted"]) == (1, 3)
    assert batch.summary["merged_lines"] == 2
    invoice = Invoice.objects.get(organization=org, number="INV-1")
    assert invoice.amount == Decimal("300.00")  # the invoice's Total, not a line's amount
    assert invoice.description == "Item"  # the first line's


def test_lines_that_disagree_on_the_invoice_are_all_rejected(run_import, org):
    content = "\n".join(
        [LINES_HEADER, _line("INV-1"), _line("INV-1", total="320.00"), _line("INV-2")]
    )

    batch = run_import("invoices", content + "\n", date_format="dmy")

    assert batch.summary["errors_by_code"] == {"conflicting_lines": 2}
    assert batch.summary["created"] == 1
    logged = reject_rows(batch)
    assert [r["row_number"] for r in logged] == ["2", "3"]
    message = logged[0]["message"]
    assert "Rows 2 and 3 are lines of invoice INV-1" in message
    assert "total" in message and "300.00 on row 2" in message and "320.00 on row 3" in message
    assert not Invoice.objects.filter(organization=org, number="INV-1").exists()


def test_lines_further_down_the_file_merge_or_conflict(run_import, org):
    content = "\n".join(
        [
            LINES_HEADER,
            _line("INV-1"),
            _line("INV-2"),
            _line("INV-1", desc="Later line"),  # agrees: one more line of INV-1
            _line("INV-2", due="20/02/2026"),  # another due date: conflicts with row 3
        ]
    )

    batch = run_import("invoices", content + "\n", date_format="dmy")

    assert batch.summary["created"] == 2
    assert batch.summary["merged_lines"] == 1
    [logged] = reject_rows(batch)
    assert (logged["row_number"], logged["error_code"]) == ("5", "conflicting_lines")
    assert "Row 5 repeats invoice INV-2 of row 3" in logged["message"]
    assert Invoice.objects.get(organization=org, number="INV-2").due_date == dt.date(2026, 2, 13)


def test_every_row_of_an_invoice_plixo_refuses_is_rejected_with_it(run_import, org):
    paid = _line("INV-1").replace("Awaiting Payment", "Paid")
    run_import("invoices", f"{LINES_HEADER}\n{paid}\n", date_format="dmy")
    # A closed invoice's total can no longer change, whichever row of it says so.
    changed = paid.replace("300.00", "320.00")
    content = "\n".join([LINES_HEADER, changed, _line("INV-2"), changed]) + "\n"

    batch = run_import("invoices", content, date_format="dmy")

    assert batch.summary["errors_by_code"] == {"conflict": 2}
    assert sorted(r["row_number"] for r in reject_rows(batch)) == ["2", "4"]
    assert Invoice.objects.get(organization=org, number="INV-1").amount == Decimal("300.00")


def test_lines_across_chunks_stay_one_invoice(run_import, org, monkeypatch):
    monkeypatch.setattr(pipeline_run, "CHUNK_ROWS", 2)
    rows = [LINES_HEADER]
    for n in range(1, 6):
        rows += [_line(f"INV-{n}"), _line(f"INV-{n}", desc="b"), _line(f"INV-{n}", desc="c")]
    rows.append(_line("INV-1", desc="late"))  # a chunk or two after INV-1 was loaded
    content = "\n".join(rows) + "\n"

    first = run_import("invoices", content, date_format="dmy")
    again = run_import("invoices", content, date_format="dmy")

    assert first.summary["created"] == 5 and first.summary["rejected"] == 0
    assert first.summary["merged_lines"] == 11
    assert (again.summary["created"], again.summary["updated"], again.summary["rejected"]) == (
        0,
        0,
        0,
    )
    assert Invoice.objects.filter(organization=org).count() == 5


def test_all_or_nothing_loads_a_line_item_file(run_import, org):
    content = "\n".join([LINES_HEADER, _line("INV-1"), _line("INV-1"), _line("INV-2")]) + "\n"

    batch = run_import("invoices", content, date_format="dmy", all_or_nothing=True)

    assert batch.status == ImportStatus.LOADED, batch.error
    assert Invoice.objects.filter(organization=org).count() == 2
    bad = content.replace(_line("INV-2"), _line("INV-2", total="1.00")) + _line("INV-1", "9.00")
    refused = run_import("invoices", bad + "\n", date_format="dmy", all_or_nothing=True)
    assert refused.status == ImportStatus.REJECTED
    assert refused.summary["errors_by_code"] == {"conflicting_lines": 1}


SUMMED_HEADER = "Client Name,Invoice #,Date Issued,Date Due,Invoice Status,Line Total,Currency"


def test_an_invoice_that_is_the_sum_of_its_lines_needs_them_together(run_import, org):
    content = "\n".join(
        [
            SUMMED_HEADER,
            "Lumen,0001,2026-01-18,2026-02-17,sent,950.00,USD",
            "Lumen,0001,2026-01-18,2026-02-17,sent,-50.00,USD",  # a discount line
            "Lumen,0002,2026-01-19,2026-02-18,sent,100.00,USD",
            "Lumen,0001,2026-01-18,2026-02-17,sent,25.00,USD",
        ]
    )

    batch = run_import("invoices", content + "\n")

    assert Invoice.objects.get(organization=org, number="0001").amount == Decimal("900.00")
    [logged] = reject_rows(batch)
    assert (logged["row_number"], logged["error_code"]) == ("5", "conflicting_lines")
    assert "start on row 2" in logged["message"]


def test_a_rejected_line_keeps_its_summed_invoice_out(run_import, org):
    content = "\n".join(
        [
            SUMMED_HEADER,
            "Lumen,0001,2026-01-18,2026-02-17,sent,950.00,USD",
            "Lumen,0001,2026-01-18,2026-02-17,sent,12abc,USD",
        ]
    )

    batch = run_import("invoices", content + "\n")

    assert batch.summary["errors_by_code"] == {"bad_amount": 1, "incomplete_invoice": 1}
    assert not Invoice.objects.filter(organization=org).exists()
    by_row = {r["row_number"]: r for r in reject_rows(batch)}
    assert by_row["2"]["error_code"] == "incomplete_invoice"
    assert "row 3 was rejected" in by_row["2"]["message"]


# --- amounts --------------------------------------------------------------------------------

AMOUNT_HEADER = (
    "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount"
)


def _amount_file(raw: str) -> str:
    cell = '"' + raw + '"'
    return f"{AMOUNT_HEADER}\nINV-1,C-1,Acme,2026-01-14,2026-02-13,EUR,{cell}\n"


@pytest.mark.parametrize(
    ("raw", "number_format"),
    [
        ("1,23,4.5", "point"),  # groups of two and one
        ("12,34", "point"),  # a comma that cannot be a thousands separator
        ("1.2345,6", "comma"),  # a group of four
        ("1 2 3 4", "point"),  # spaces that group nothing
        ("1,234.56", "comma"),  # the other locale's amount
        ("1.234,56", "point"),
        ("1,234,56", "point"),
        ("12.34.56", "comma"),
        ("--5", "point"),
    ],
)
def test_misplaced_separators_are_a_bad_amount(run_import, org, raw, number_format):
    batch = run_import("invoices", _amount_file(raw), number_format=number_format)

    assert batch.summary["errors_by_code"] == {"bad_amount": 1}
    [logged] = reject_rows(batch)
    assert logged["column"] == "amount" and raw in logged["message"]
    assert not org.invoices.exists()


@pytest.mark.parametrize(
    ("raw", "number_format"),
    [
        ("1,234.56", "point"),
        ("1234.56", "point"),
        ("$1,234.56", "point"),
        ("1 234.56", "point"),
        ("1 234,56", "comma"),
        ("1\u00a0234,56", "comma"),  # no-break space
        ("1\u202f234,56", "comma"),  # narrow no-break space
        ("1.234,56", "comma"),
        ("1.234,56 €", "comma"),
        ("1234,56", "comma"),
        ("1,234.56", "auto"),
        ("1.234,56", "auto"),
        ("1\u202f234,56", "auto"),
    ],
)
def test_amounts_in_the_files_locale(run_import, org, raw, number_format):
    batch = run_import("invoices", _amount_file(raw), number_format=number_format)

    assert batch.summary["created"] == 1, batch.summary
    assert Invoice.objects.get(organization=org).amount == Decimal("1234.56")


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("1,234.56", "point"),
        ("1.234,56", "comma"),
        ("12,50", "comma"),
        ("12.50", "point"),
        ("1,234,567", "point"),
        ("1.234.567", "comma"),
        ("1 234,56", "comma"),
        ("1,234", "ambiguous"),
        ("1.234", "ambiguous"),
        ("1234,567", "comma"),
        ("1234", None),
        ("abc", None),
    ],
)
def test_what_one_amount_says_about_the_locale(raw, hint):
    assert number_hint(raw) == hint


def test_amounts_that_read_both_ways_are_not_guessed(run_import, org):
    content = f'{AMOUNT_HEADER}\nINV-1,C-1,Acme,2026-01-14,2026-02-13,KWD,"1,500"\n'

    refused = run_import("invoices", content, number_format="auto")
    chosen = run_import("invoices", content, number_format="comma")

    assert refused.status == ImportStatus.REJECTED
    assert refused.summary["errors_by_code"] == {"ambiguous_amounts": 1}
    assert "'1,500' on line 2" in refused.error and "--number-format" in refused.error
    assert chosen.summary["created"] == 1
    assert Invoice.objects.get(organization=org).amount == Decimal("1.500")


# --- dates ----------------------------------------------------------------------------------

DATE_HEADER = (
    "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount"
)


def _dates_file(*pairs) -> str:
    lines = [DATE_HEADER]
    for n, (issue, due) in enumerate(pairs, start=1):
        lines.append(f"INV-{n},C-1,Acme,{issue},{due},USD,10.00")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        ("2026-01-31", "iso"),
        ("31/01/2026", "dmy"),
        ("01/31/2026", "mdy"),
        ("1/2/2026", "slash"),
        ("12/12/2026", "slash"),
        ("31.01.2026", "dmy_dot"),
        ("31/13/2026", None),
        ("Jan 31, 2026", None),
    ],
)
def test_what_one_date_says_about_the_format(raw, hint):
    assert date_hint(raw) == hint


def test_one_date_past_the_twelfth_settles_day_first(run_import, org):
    content = _dates_file(("02/01/2026", "03/01/2026"), ("04/01/2026", "31/01/2026"))

    batch = run_import("invoices", content, date_format="auto")

    assert batch.summary["created"] == 2
    assert Invoice.objects.get(organization=org, number="INV-1").issue_date == dt.date(2026, 1, 2)
    assert "DD/MM/YYYY, detected from '31/01/2026' on line 3" in " ".join(batch.summary["notes"])


def test_a_file_of_ambiguous_dates_is_refused_until_the_format_is_chosen(org, tmp_path):
    path = tmp_path / "dates.csv"
    path.write_text(_dates_file(("02/01/2026", "03/01/2026"), ("04/01/2026", "12/01/2026")))

    code, out = _cli("invoices", str(path), "--org", org.slug, "--json")

    assert code == 2
    result = json.loads(out)
    assert result["errors_by_code"] == {"ambiguous_dates": 1}
    assert "'02/01/2026' on line 2" in result["error"] and "--date-format" in result["error"]
    assert not org.invoices.exists()

    code, out = _cli("invoices", str(path), "--org", org.slug, "--json", "--date-format", "mdy")

    assert code == 0 and json.loads(out)["created"] == 2
    assert Invoice.objects.get(organization=org, number="INV-2").due_date == dt.date(2026, 12, 1)


def _cli(*args) -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("import_data", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_the_command_line_detects_formats_by_default(org, tmp_path):
    path = tmp_path / "netsuite.csv"
    path.write_bytes((FIXTURES / "netsuite_invoices.csv").read_bytes())

    code, out = _cli("invoices", str(path), "--org", org.slug)

    assert code == 0
    assert "created 4" in out
    assert "Note: Customers matched by name: no customer id column." in out


# --- the web preview ------------------------------------------------------------------------


def _upload(client, name: str, content: bytes, **fields):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    data = {"kind": "invoices", "date_format": "auto", "number_format": "auto", **fields}
    return client.post(reverse("imports:index"), {**data, "file": upload})


def test_preview_says_how_the_export_will_be_read(personas):
    client = personas.client_for(Role.CONTROLLER)
    response = _upload(client, "xero.csv", (FIXTURES / "xero_sales_invoices.csv").read_bytes())

    page = client.get(response["Location"]).content.decode()

    assert "Customers matched by name: no customer id column." in page
    assert "not in file: customers are matched by name" in page
    assert "*ContactName" in page  # feeding customer_name
    assert "DD/MM/YYYY, detected from &#x27;14/01/2026&#x27; on line 2" in page
    assert "mapping-missing" not in page


def test_preview_asks_how_to_read_ambiguous_dates_and_the_answer_is_used(personas):
    client = personas.client_for(Role.CONTROLLER)
    content = _dates_file(("02/01/2026", "03/01/2026"), ("04/01/2026", "12/01/2026")).encode()
    response = _upload(client, "dates.csv", content)
    batch = ImportBatch.objects.get(organization=personas.org)

    page = client.get(response["Location"]).content.decode()

    assert 'name="date_format"' in page and "How does the file write dates?" in page
    assert "02/01/2026 on line 2" in page
    client.post(reverse("imports:batch-confirm", args=[batch.public_id]), {"date_format": "dmy"})
    batch.refresh_from_db()
    assert batch.status == ImportStatus.LOADED and batch.date_format == "dmy"
    invoice = Invoice.objects.get(organization=personas.org, number="INV-2")
    assert invoice.due_date == dt.date(2026, 1, 12)


def test_preview_of_a_grouped_report_shows_the_customer_of_each_row(personas):
    client = personas.client_for(Role.CONTROLLER)
    response = _upload(client, "qbd.csv", (FIXTURES / "qbd_open_invoices.csv").read_bytes())

    page = client.get(response["Location"]).content.decode()

    assert "the group headings of the report (first column)" in page
    assert "Alder &amp; Finch Design" in page
    assert "Total Alder" not in page  # totals are not shown as rows


# --- reports --------------------------------------------------------------------------------


def test_a_rejected_row_of_a_grouped_report_loads_again_from_the_reject_log(run_import, org):
    content = (FIXTURES / "qbd_open_invoices.csv").read_text().replace("12/20/2025", "13/45/2025")
    batch = run_import("invoices", content, date_format="mdy")
    log = batch.reject_log.open("rb").read().decode("utf-8-sig")
    header, row = list(csv.reader(io.StringIO(log)))
    assert row[header.index("error_code")] == "malformed_date"
    assert row[0] == "Cedar Ridge Dental, PLLC"  # the group heading, carried into the row

    fixed = log.replace("13/45/2025", "12/20/2025")
    again = run_import("invoices", fixed, date_format="mdy")

    assert again.summary["created"] == 1, again.summary
    invoice = Invoice.objects.get(organization=org, number="1019")
    assert invoice.customer.name == "Cedar Ridge Dental, PLLC"


def test_report_furniture_is_not_counted_as_rows(run_import, org):
    batch = _import(run_import, "qbo_ar_aging_detail.csv")

    # 7 rows under the header; headings, the five totals and the timestamp are not rows.
    assert batch.summary["rows"] == 7
    assert batch.summary["accepted"] + batch.summary["rejected"] == batch.summary["rows"]


# --- statuses -------------------------------------------------------------------------------

BASE_VALUES = {
    "invoice_number": "INV-1",
    "customer_external_id": "C-1",
    "customer_name": "Acme",
    "issue_date": "2026-01-14",
    "due_date": "2026-02-13",
    "currency": "USD",
    "amount": "100.00",
}


@pytest.mark.parametrize(
    ("word", "balance", "status", "expected_balance"),
    [
        ("Awaiting Payment", "", "open", None),
        ("AUTHORISED", "", "open", None),
        ("Overdue", "", "open", None),
        ("Open", "100.00", "open", Decimal("100.00")),
        ("Sent", "", "open", None),
        ("Viewed", "", "open", None),
        ("Approved", "", "open", None),
        ("Partially Paid", "40.00", "open", Decimal("40.00")),
        ("Part Paid", "40.00", "open", Decimal("40.00")),
        ("partial", "", "open", None),
        ("Unpaid", "", "open", None),
        ("Paid", "", "paid", Decimal("0")),
        ("Paid In Full", "", "paid", Decimal("0")),
        ("Closed", "", "paid", Decimal("0")),
        ("Open", "0.00", "paid", Decimal("0")),  # nothing left is paid whatever the word
        ("Voided", "", "void", None),
        ("Void", "0.00", "void", Decimal("0")),
        ("Cancelled", "", "void", None),
    ],
)
def test_status_words_map_to_plixos_status(word, balance, status, expected_balance):
    row = validate_invoices({**BASE_VALUES, "status": word, "balance": balance}, _context())
    assert (row["status"], row["balance"]) == (status, expected_balance)


@pytest.mark.parametrize(
    ("column", "word", "reason"),
    [
        ("status", "Draft", "draft"),
        ("status", "DELETED", "deleted"),
        ("status", "Awaiting Approval", "not_approved"),
        ("status", "Pending Approval", "not_approved"),
        ("document_type", "Credit Memo", "credit_note"),
        ("document_type", "Sales credit note", "credit_note"),
        ("document_type", "ACCRECCREDIT", "credit_note"),
        ("document_type", "Payment", "payment"),
        ("document_type", "Journal Entry", "not_an_invoice"),
    ],
)
def test_drafts_and_other_documents_are_skipped_with_a_reason(column, word, reason):
    # A draft may have no number or due date yet: nothing else is checked.
    values = {**BASE_VALUES, column: word, "invoice_number": "", "due_date": ""}
    assert validate_invoices(values, _context()) == {"skip": reason}


def test_an_unknown_document_type_is_refused():
    with pytest.raises(RowError) as error:
        validate_invoices({**BASE_VALUES, "document_type": "Bill"}, _context())
    assert (error.value.code, error.value.column) == ("invalid_value", "document_type")


def test_paid_amount_gives_the_balance_when_there_is_no_amount_due(run_import, org):
    content = (
        "Invoice #,Customer,Date,Due Date,Currency,Total,Amount Paid\n"
        "INV-1,Acme,2026-01-14,2026-02-13,USD,100.00,30.00\n"
        "INV-2,Acme,2026-01-14,2026-02-13,USD,100.00,130.00\n"
    )

    batch = run_import("invoices", content)

    invoice = Invoice.objects.get(organization=org, number="INV-1")
    assert (invoice.balance, invoice.status) == (Decimal("70.00"), InvoiceStatus.PARTIALLY_PAID)
    [logged] = reject_rows(batch)
    assert (logged["error_code"], logged["column"]) == ("bad_amount", "amount_paid")


def _context(**overrides) -> Context:
    return Context(date_format="iso", default_currency="USD", **overrides)
