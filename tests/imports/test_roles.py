"""An import does only what its uploader may do directly (R7): an A/R Operator cannot void
through a file, a Billing Admin cannot record payments through one; the rows that would are
refused with the reason and the rest loads."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.core.permissions import Cap, role_can
from plixo.imports.services import ImportsError
from plixo.ledger import services as ledger
from plixo.ledger.models import Invoice, InvoiceStatus, Payment
from tests.factories import CustomerFactory
from tests.imports.conftest import reject_rows

HEADER = "invoice_number,customer_external_id,customer_name,issue_date,due_date,currency,amount"


@pytest.fixture
def open_invoice(org):
    customer = CustomerFactory(organization=org, external_id="C-1", name="Acme")
    return ledger.invoice_create(
        organization=org,
        customer=customer,
        number="INV-OPEN",
        issue_date=dt.date(2024, 1, 1),
        due_date=dt.date(2024, 1, 31),
        currency="USD",
        amount="100.00",
    )


def test_an_operator_cannot_void_through_an_invoice_file(run_import, personas, open_invoice):
    text = (
        f"{HEADER},status\n"
        "INV-OPEN,C-1,Acme,2024-01-01,2024-01-31,USD,100.00,void\n"
        "INV-NEW-VOID,C-1,Acme,2024-01-01,2024-01-31,USD,50.00,void\n"
        "INV-NEW,C-1,Acme,2024-01-01,2024-01-31,USD,75.00,open\n"
    )

    batch = run_import("invoices", text, actor=personas.operator.user)

    assert batch.summary["accepted"] == 1 and batch.summary["rejected"] == 2
    assert batch.summary["errors_by_code"] == {"not_allowed": 2}
    rejects = reject_rows(batch)
    assert {r["invoice_number"] for r in rejects} == {"INV-OPEN", "INV-NEW-VOID"}
    assert all("(A/R Operator) may not void invoices" in r["message"] for r in rejects)
    open_invoice.refresh_from_db()
    assert open_invoice.status == InvoiceStatus.OPEN
    assert set(Invoice.objects.values_list("number", flat=True)) == {"INV-OPEN", "INV-NEW"}


def test_a_billing_admin_cannot_settle_invoices_through_a_file(run_import, personas, open_invoice):
    billing = personas.members[Role.BILLING_ADMIN].user
    text = (
        f"{HEADER},balance\n"
        "INV-OPEN,C-1,Acme,2024-01-01,2024-01-31,USD,100.00,40.00\n"
        "INV-PAID,C-1,Acme,2024-01-01,2024-01-31,USD,60.00,0\n"
        "INV-DUE,C-1,Acme,2024-01-01,2024-01-31,USD,80.00,80.00\n"
    )

    batch = run_import("invoices", text, actor=billing)

    assert batch.summary["accepted"] == 1 and batch.summary["errors_by_code"] == {"not_allowed": 2}
    assert all("may not record payments" in r["message"] for r in reject_rows(batch))
    assert not Payment.objects.exists()
    open_invoice.refresh_from_db()
    assert open_invoice.balance == Decimal("100.00")


def test_a_billing_admin_cannot_upload_a_payments_file(run_import, personas):
    with pytest.raises(ImportsError, match=r"\(Billing Admin\) may not record payments"):
        run_import(
            "payments",
            "reference,amount,currency\nP-1,10.00,USD\n",
            actor=personas.members[Role.BILLING_ADMIN].user,
        )
    assert not Payment.objects.exists()


def test_a_controller_may_do_all_of_it(run_import, personas, open_invoice):
    text = (
        f"{HEADER},status,balance\n"
        "INV-OPEN,C-1,Acme,2024-01-01,2024-01-31,USD,100.00,void,\n"
        "INV-PAID,C-1,Acme,2024-01-01,2024-01-31,USD,60.00,paid,\n"
    )

    batch = run_import("invoices", text, actor=personas.controller.user)

    assert batch.summary["accepted"] == 2 and batch.summary["rejected"] == 0
    assert Invoice.objects.get(number="INV-PAID").status == InvoiceStatus.PAID


# Generated from the permission table: for every role that may import, each row effect is
# loaded exactly when the role has the capability the direct route checks.
EFFECTS = [
    ("void", "INV-OPEN,C-1,Acme,2024-01-01,2024-01-31,USD,100.00,void,", "invoices.void"),
    ("settle", "INV-OPEN,C-1,Acme,2024-01-01,2024-01-31,USD,100.00,open,30.00", "payments.record"),
]
IMPORTERS = [role for role in Role.values if role_can(role, Cap.IMPORTS_RUN)]


@pytest.mark.parametrize("role", IMPORTERS)
@pytest.mark.parametrize(("effect", "row", "capability"), EFFECTS, ids=[e[0] for e in EFFECTS])
def test_row_effects_follow_the_permission_table(
    run_import, personas, open_invoice, role, effect, row, capability
):
    batch = run_import(
        "invoices", f"{HEADER},status,balance\n{row}\n", actor=personas.members[role].user
    )

    allowed = role_can(role, Cap(capability))
    assert batch.summary["accepted"] == (1 if allowed else 0)
    open_invoice.refresh_from_db()
    assert (open_invoice.status != InvoiceStatus.OPEN) == allowed


@pytest.mark.parametrize("role", IMPORTERS)
def test_payments_files_follow_the_permission_table(run_import, personas, role):
    upload = lambda: run_import(  # noqa: E731
        "payments",
        "reference,amount,currency,received_date\nP-1,10.00,USD,2024-02-01\n",
        actor=personas.members[role].user,
    )
    if role_can(role, Cap.PAYMENTS_RECORD):
        assert upload().summary["accepted"] == 1
    else:
        with pytest.raises(ImportsError):
            upload()
        assert not Payment.objects.exists()
