"""Customers, contacts, payments and the ERP aging export; encodings, delimiters and aliases."""

import datetime as dt
from decimal import Decimal

from plixo.imports.models import AgingRow
from plixo.ledger import services as ledger
from plixo.ledger.models import Contact, Customer, Invoice, InvoiceStatus, Payment, PaymentSource
from plixo.ledger.services import invoice_balance_from_rows


def test_customers_upsert_by_external_id(run_import, org):
    content = (
        "Customer ID;Customer Name;Country;Currency;Time zone\n"
        "C-1;Acme;us;USD;America/Chicago\n"
        "C-2;Beta GmbH;DE;EUR;Europe/Berlin\n"
    )
    batch = run_import("customers", content)
    assert (batch.summary["created"], batch.summary["updated"]) == (2, 0)
    assert Customer.objects.get(organization=org, external_id="C-1").country == "US"
    assert run_import("customers", content).summary["updated"] == 0
    renamed = run_import("customers", content.replace("Beta GmbH", "Beta AG"))
    assert (renamed.summary["created"], renamed.summary["updated"]) == (0, 1)
    assert Customer.objects.get(organization=org, external_id="C-2").name == "Beta AG"


def test_cp1252_with_tabs_and_bom_utf8(run_import, org):
    cp1252 = "customer_external_id\tcustomer_name\nC-1\tCafé Münster – Süd\n".encode("cp1252")
    assert run_import("customers", cp1252).summary["created"] == 1
    assert Customer.objects.get(external_id="C-1").name == "Café Münster – Süd"
    bom = "\ufeffcustomer_external_id,customer_name\nC-2,Zoë Ltd\n".encode()
    assert run_import("customers", bom).summary["created"] == 1
    assert Customer.objects.get(external_id="C-2").name == "Zoë Ltd"


def test_preamble_lines_before_the_header_are_skipped(run_import, org):
    content = "Acme Widgets\nCustomer list\n\nCustomer ID,Customer\nC-1,Acme\n"
    batch = run_import("customers", content)
    assert batch.summary["rows"] == 1 and batch.summary["created"] == 1


def test_contacts_primary_and_idempotent(run_import, org):
    run_import("customers", "customer_external_id,customer_name\nC-1,Acme\n")
    content = (
        "customer_external_id,email,name,is_primary\n"
        "C-1,AP@acme.example,Ann,\n"
        "C-1,billing@acme.example,Bill,yes\n"
    )
    batch = run_import("contacts", content)
    assert batch.summary["created"] == 2
    primary = Contact.objects.get(customer__external_id="C-1", is_primary=True)
    assert primary.email == "billing@acme.example"
    assert run_import("contacts", content).summary["updated"] == 0
    two = run_import(
        "contacts", content.replace("Bill,yes", "Bill,yes\nC-1,ceo@acme.example,C,yes")
    )
    assert two.summary["errors_by_code"] == {"duplicate_row": 1}


def test_payments_allocate_by_invoice_number(run_import, org):
    customer = ledger.customer_create(organization=org, external_id="C-1", name="Acme")
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="INV-1",
        issue_date=dt.date(2024, 1, 1),
        due_date=dt.date(2024, 1, 31),
        currency="USD",
        amount=Decimal("100.00"),
    )
    content = (
        "Payment Reference,Amount,Currency,Payment Date,Invoice #,Payment Method\n"
        "P-1,40.00,USD,2024-02-01,INV-1,Bank transfer\n"
        "P-2,80.00,USD,2024-02-02,INV-1,cheque\n"
        "P-3,10.00,USD,2024-02-03,INV-1,ach\n"
    )
    batch = run_import("payments", content)

    assert batch.summary["created"] == 2
    assert batch.summary["errors_by_code"] == {"conflict": 1}
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (InvoiceStatus.PAID, Decimal("0"))
    assert invoice.balance == invoice_balance_from_rows(invoice)
    second = Payment.objects.get(reference="P-2")
    assert (second.source, second.allocated_amount, second.method) == (
        PaymentSource.IMPORT,
        Decimal("60.00"),
        "check",
    )
    assert invoice.timeline.filter(kind="payment_recorded").count() == 2
    again = run_import("payments", content.replace("P-3,10.00,USD,2024-02-03,INV-1,ach\n", ""))
    assert (again.summary["created"], again.summary["updated"], again.summary["rejected"]) == (
        0,
        0,
        0,
    )


def test_aging_export_is_stored_per_organization(run_import, org):
    quickbooks = (
        "Acme Widgets\nA/R Aging Summary\nAs of March 31, 2024\n\n"
        ",Current,1 - 30,31 - 60,61 - 90,91 and over,Total\n"
        'Bluewater,100.00,"2,000.00",0.00,0.00,0.00,"2,100.00"\n'
        "Kestrel,0.00,0.00,50.00,0.00,25.00,75.00\n"
        'TOTAL,100.00,"2,000.00",50.00,0.00,25.00,"2,175.00"\n'
    )
    batch = run_import("aging", quickbooks)
    assert batch.summary["rejected"] == 0, batch.summary
    rows = {r.customer_name: r for r in AgingRow.objects.filter(organization=org)}
    assert set(rows) == {"Bluewater", "Kestrel"}
    assert rows["Bluewater"].days_1_30 == Decimal("2000.00")
    assert rows["Kestrel"].days_over_90 == Decimal("25.00")
    assert rows["Kestrel"].currency == org.base_currency
    assert run_import("aging", quickbooks).summary["updated"] == 0
    run_import("aging", quickbooks.replace("Kestrel,0.00,0.00,50.00,0.00,25.00,75.00\n", ""))
    assert set(
        AgingRow.objects.filter(organization=org).values_list("customer_name", flat=True)
    ) == {"Bluewater"}


def test_other_organizations_data_is_never_touched(run_import, org, personas):
    other = personas.other_org
    run_import(
        "customers", "customer_external_id,customer_name\nC-1,Globex Acme\n", organization=other
    )
    run_import("customers", "customer_external_id,customer_name\nC-1,Acme\n")
    assert Customer.objects.get(organization=other, external_id="C-1").name == "Globex Acme"
    assert not Invoice.objects.exists()


def test_a_new_primary_replaces_an_old_primary_edited_in_the_same_file(run_import, org):
    run_import("customers", "customer_external_id,customer_name\nC-1,Acme\n")
    run_import("contacts", "customer_external_id,email,name,is_primary\nC-1,y@acme.example,Y,yes\n")
    batch = run_import(
        "contacts",
        "customer_external_id,email,name,is_primary\n"
        "C-1,y@acme.example,Y2,\n"
        "C-1,z@acme.example,Z,yes\n",
    )
    assert batch.status == "loaded", batch.summary
    assert (batch.summary["created"], batch.summary["updated"]) == (1, 1)
    primary = Contact.objects.get(customer__external_id="C-1", is_primary=True)
    assert primary.email == "z@acme.example"
    assert Contact.objects.get(email="y@acme.example").name == "Y2"


def test_new_customers_take_the_organizations_currency_and_time_zone(run_import, org):
    org.base_currency, org.time_zone = "EUR", "Europe/Berlin"
    org.save()
    run_import("customers", "customer_external_id,customer_name\nC-9,NoCur\n")
    customer = org.customers.get(external_id="C-9")
    assert (customer.currency, customer.time_zone) == ("EUR", "Europe/Berlin")
