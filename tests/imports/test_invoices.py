"""Invoice imports: upserts, historical paid invoices, timeline events, idempotent re-imports."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.imports.pipeline import run as pipeline_run
from plixo.ledger.models import Allocation, Invoice, InvoiceStatus, Payment, PaymentSource
from plixo.ledger.services import invoice_balance_from_rows

HEADER = (
    "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount,"
    "status,balance,paid_date,contact_email,contact_name,po_number,description"
)
FILE = f"""{HEADER}
INV-1,C-1,Acme Corp,2024-01-01,2024-01-31,USD,100.00,open,,,ap@acme.example,Ann Payable,PO-9,Widgets
INV-2,C-1,Acme Corp,2024-01-05,2024-02-04,USD,200.00,paid,,2024-02-01,,,,
INV-3,C-2,Beta GmbH,2024-01-01,2024-01-31,EUR,300.00,open,120.00,,,,,
INV-4,C-2,Beta GmbH,2024-01-01,2024-01-31,EUR,50.00,void,,,,,,
"""


def test_loads_invoices_customers_and_contacts(run_import, org):
    batch = run_import("invoices", FILE)

    assert batch.summary["created"] == 4 and batch.summary["updated"] == 0
    assert batch.summary["accepted"] == batch.summary["rows"] == 4
    one = Invoice.objects.get(organization=org, number="INV-1")
    assert (one.status, one.balance, one.po_number, one.description) == (
        InvoiceStatus.OPEN,
        Decimal("100.00"),
        "PO-9",
        "Widgets",
    )
    assert one.customer.name == "Acme Corp" and one.customer.currency == "USD"
    contact = one.customer.contacts.get()
    assert (contact.email, contact.name, contact.is_primary) == (
        "ap@acme.example",
        "Ann Payable",
        True,
    )
    assert org.customers.count() == 2


def test_every_invoice_gets_an_imported_event(run_import, org):
    batch = run_import("invoices", FILE)
    for invoice in Invoice.objects.filter(organization=org):
        [event] = invoice.timeline.all()
        assert event.kind == "imported"
        assert event.data["batch"] == str(batch.public_id)


def test_paid_invoice_is_closed_with_a_money_row(run_import, org):
    run_import("invoices", FILE)

    paid = Invoice.objects.get(organization=org, number="INV-2")
    assert (paid.status, paid.balance) == (InvoiceStatus.PAID, Decimal("0"))
    allocation = Allocation.objects.get(invoice=paid)
    assert allocation.amount == Decimal("200.00")
    assert allocation.payment.source == PaymentSource.IMPORT
    assert allocation.payment.received_at.date() == dt.date(2024, 2, 1)
    assert allocation.payment.allocated_amount == allocation.payment.amount
    partly = Invoice.objects.get(organization=org, number="INV-3")
    assert (partly.status, partly.balance) == (InvoiceStatus.PARTIALLY_PAID, Decimal("120.00"))
    void = Invoice.objects.get(organization=org, number="INV-4")
    assert (void.status, void.balance) == (InvoiceStatus.VOID, Decimal("0"))
    for invoice in Invoice.objects.filter(organization=org):
        assert invoice.balance == invoice_balance_from_rows(invoice), invoice.number


def test_the_same_file_twice_changes_nothing(run_import, org):
    run_import("invoices", FILE)
    before = (Invoice.objects.count(), Payment.objects.count(), org.contacts.count())
    events = sorted(Invoice.objects.values_list("timeline__id", flat=True))

    again = run_import("invoices", FILE)

    assert (again.summary["created"], again.summary["updated"]) == (0, 0)
    assert again.summary["accepted"] == 4
    assert (Invoice.objects.count(), Payment.objects.count(), org.contacts.count()) == before
    assert sorted(Invoice.objects.values_list("timeline__id", flat=True)) == events


def test_changed_rows_update_with_an_updated_event(run_import, org):
    run_import("invoices", FILE)
    changed = FILE.replace("2024-01-31,USD,100.00,open,,", "2024-02-15,USD,110.00,open,,")
    changed = changed.replace("EUR,300.00,open,120.00", "EUR,300.00,paid,")

    batch = run_import("invoices", changed)

    assert (batch.summary["created"], batch.summary["updated"]) == (0, 2)
    one = Invoice.objects.get(organization=org, number="INV-1")
    assert (one.amount, one.balance, one.due_date) == (
        Decimal("110.00"),
        Decimal("110.00"),
        dt.date(2024, 2, 15),
    )
    event = one.timeline.get(kind="updated")
    assert event.data["changes"]["amount"]["to"] == "110.00"
    assert set(event.data["changes"]) == {"amount", "due_date", "balance"}
    three = Invoice.objects.get(organization=org, number="INV-3")
    assert (three.status, three.balance) == (InvoiceStatus.PAID, Decimal("0"))
    assert three.balance == invoice_balance_from_rows(three)
    assert three.timeline.filter(kind="updated").count() == 1


def test_paid_in_plixo_and_open_in_the_file_is_left_alone(run_import, org):
    run_import("invoices", FILE.replace("USD,100.00,open", "USD,100.00,paid"))
    batch = run_import("invoices", FILE)
    assert batch.summary["updated"] == 0 and batch.summary["rejected"] == 0
    assert Invoice.objects.get(organization=org, number="INV-1").status == InvoiceStatus.PAID


def test_regional_date_format(run_import, org):
    header = "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount"
    content = f"{header}\nINV-1,C-1,Acme,31.01.2024,2024-02-29,EUR,10\n"
    assert run_import("invoices", content).summary["errors_by_code"] == {"malformed_date": 1}
    batch = run_import("invoices", content, date_format="dmy_dot")
    assert batch.summary["created"] == 1
    assert Invoice.objects.get(organization=org, number="INV-1").issue_date == dt.date(2024, 1, 31)
    us = f"{header}\nINV-2,C-1,Acme,01/31/2024,02/29/2024,USD,10\n"
    assert run_import("invoices", us, date_format="mdy").summary["created"] == 1


def _file(n: int, start: int = 0) -> str:
    lines = [HEADER]
    for i in range(start, start + n):
        lines.append(
            f"INV-{i},C-{i % 7},Customer {i % 7},2024-01-01,2024-01-31,USD,{i + 1}.00,"
            f"{'paid' if i % 3 == 0 else 'open'},,,,,,"
        )
    return "\n".join(lines) + "\n"


def test_queries_per_chunk_do_not_grow_with_rows(
    run_import, django_assert_max_num_queries, monkeypatch
):
    monkeypatch.setattr(pipeline_run, "CHUNK_ROWS", 1000)
    run_import("invoices", _file(10))  # customers exist from here on
    with django_assert_max_num_queries(40) as small:
        run_import("invoices", _file(20, start=100))
    with django_assert_max_num_queries(40) as large:
        run_import("invoices", _file(800, start=1000))
    # 40 times the rows, the same statements: only SQLite's cap on parameters per statement
    # splits the duplicate-key insert in two.
    assert len(large.captured_queries) <= len(small.captured_queries) + 1


def test_chunks_keep_duplicates_across_chunk_boundaries(run_import, monkeypatch):
    monkeypatch.setattr(pipeline_run, "CHUNK_ROWS", 3)
    content = _file(7) + _file(1, start=2).split("\n", 1)[1]
    batch = run_import("invoices", content)
    assert batch.summary["errors_by_code"] == {"duplicate_row": 1}
    assert batch.summary["created"] == 7


@pytest.mark.parametrize("header", ["Invoice #", "Num", "invoice_number", "*InvoiceNumber"])
def test_aliases_for_the_invoice_number(run_import, org, header):
    content = (
        f"{header},Customer ID,Customer,Invoice Date,Due Date,Currency Code,Total,Amount Due\n"
        'INV-77,C-1,Acme,2024-01-01,2024-01-31,USD,"1,250.00",250.00\n'
    )
    batch = run_import("invoices", content)
    assert batch.summary["created"] == 1, batch.error or batch.summary
    invoice = Invoice.objects.get(organization=org, number="INV-77")
    assert (invoice.amount, invoice.balance) == (Decimal("1250.00"), Decimal("250.00"))
