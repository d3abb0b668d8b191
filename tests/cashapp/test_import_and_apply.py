"""Importing statements (dedupe, rejected lines), auto-apply, one-click apply, split, reject
and undo, all through the ledger's payment services."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from plixo.cashapp.models import (
    Application,
    CashError,
    PayerAlias,
    Receipt,
    ReceiptStatus,
    Suggestion,
)
from plixo.cashapp.services import (
    application_undo,
    cash_settings_update,
    receipt_apply,
    receipt_dismiss,
    statement_import,
    suggestion_apply,
    suggestion_reject,
)
from plixo.ledger.models import InvoiceStatus, Payment, PaymentSource, TimelineEvent
from plixo.ledger.services import invoice_balance_from_rows
from tests.cashapp.conftest import csv_bytes
from tests.factories import PromiseFactory

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cashapp"


def refreshed(*objects):
    for obj in objects:
        obj.refresh_from_db()


def test_same_statement_twice_adds_nothing(org):
    data = (FIXTURES / "camt-viafintech/camt054_valid_example.xml").read_bytes()

    first = statement_import(organization=org, data=data, file_name="camt054.xml")
    second = statement_import(organization=org, data=data, file_name="camt054.xml")

    # Four entries, one of them a batch of two transactions: five credit lines.
    assert (first.format, first.lines, first.receipts, first.duplicates) == ("camt", 5, 5, 0)
    assert (second.receipts, second.duplicates) == (0, 5)
    assert Receipt.objects.filter(organization=org).count() == 5


def test_lines_without_bank_id_dedupe_by_their_fields_and_identical_lines_stay_two(org):
    data = csv_bytes(
        "2026-11-02,10.00,USD,Acme,coffee,",
        "2026-11-02,10.00,USD,Acme,coffee,",  # a second, identical payment the same day
        header="Date,Amount,Currency,Payer,Description,Transaction ID",
    )

    first = statement_import(organization=org, data=data)
    again = statement_import(organization=org, data=data)

    assert first.receipts == 2
    assert (again.receipts, again.duplicates) == (0, 2)


def test_dedupe_is_per_organization(org, personas):
    data = csv_bytes("2026-11-02,10.00,USD,Acme,x,T-1")

    statement_import(organization=org, data=data)
    other = statement_import(organization=personas.other_org, data=data)

    assert other.receipts == 1


def test_malformed_line_is_rejected_with_its_number_and_the_rest_goes_through(org):
    data = csv_bytes(
        "2026-11-02,10.00,USD,Acme,ok,T-1",
        "2026-11-31,10.00,USD,Acme,bad date,T-2",
        "2026-11-03,ten,USD,Acme,bad amount,T-3",
        "2026-11-04,12.00,USD,Acme,ok,T-4",
    )

    statement = statement_import(organization=org, data=data, file_name="bank.csv")

    assert statement.receipts == 2 and statement.rejected == 2
    assert [r["line"] for r in statement.rejects] == [3, 4]


def test_a_file_rejected_whole_writes_nothing(org):
    with pytest.raises(CashError):
        statement_import(organization=org, data=b"<Document><Ntry>", format="camt")
    assert not Receipt.objects.exists()


def test_debits_are_counted_not_received(org):
    data = (FIXTURES / "bai2-ministryofjustice/nwb_example.bai2").read_bytes()

    statement = statement_import(organization=org, data=data, today=dt.date(2026, 12, 1))

    assert (statement.lines, statement.receipts, statement.debits) == (5, 1, 4)


# --- applying ----------------------------------------------------------------------------


def test_auto_apply_moves_balances_timeline_and_promises_through_the_ledger(org, make_invoice):
    first = make_invoice("INV-1043", "100.00")
    second = make_invoice("INV-1047", "250.00")
    promise = PromiseFactory(invoice=second, amount=Decimal("250.00"))
    data = csv_bytes("2026-11-02,350.00,USD,GLOBEX LIMITED,Payment INV 1043 inv-01O47,T1")

    statement = statement_import(organization=org, data=data, file_name="bank.csv")

    refreshed(first, second, promise)
    assert statement.auto_applied == 1
    assert (first.balance, first.status) == (Decimal("0"), InvoiceStatus.PAID)
    assert second.balance == 0 and invoice_balance_from_rows(second) == 0
    assert promise.status == "kept"
    (payment,) = Payment.objects.filter(organization=org)
    assert payment.source == PaymentSource.BANK and payment.amount == Decimal("350.00")
    event = TimelineEvent.objects.get(invoice=first, kind=TimelineEvent.Kind.PAYMENT_RECORDED)
    assert event.data["source"] == "bank" and event.actor_label == "Cash App (auto-apply)"
    receipt = Receipt.objects.get()
    assert receipt.status == ReceiptStatus.APPLIED
    application = receipt.applications.get()
    assert application.automatic and application.confidence >= 95
    assert "INV-1043 and INV-1047 named in the remittance" in application.explanation


def test_below_threshold_waits_for_an_operator_and_apply_teaches_the_payer_alias(
    org, make_invoice, personas
):
    invoice = make_invoice("INV-2001", "75.00", customer="Initech")
    data = csv_bytes("2026-11-02,75.00,USD,INITECH PAYABLES DEPT,thanks,T2")

    statement = statement_import(organization=org, data=data)

    receipt = Receipt.objects.get()
    assert statement.auto_applied == 0
    assert receipt.status in (ReceiptStatus.SUGGESTED, ReceiptStatus.UNMATCHED)
    # The payer's bank name is not like the customer's: the operator applies by hand …
    operator = personas.operator.user
    receipt_apply(receipt=receipt, allocations=[(invoice, "75.00")], actor=operator)
    refreshed(invoice, receipt)
    assert invoice.status == InvoiceStatus.PAID and receipt.status == ReceiptStatus.APPLIED
    # … and the next payment under that name is matched to the customer it was confirmed for.
    assert PayerAlias.objects.filter(customer=invoice.customer).exists()
    later = make_invoice("INV-2002", "80.00", customer="Initech")
    statement_import(
        organization=org, data=csv_bytes("2026-11-09,80.00,USD,INITECH PAYABLES DEPT,,T3")
    )
    suggestion = Suggestion.objects.filter(receipt__bank_transaction_id="T3").get()
    assert [line.invoice for line in suggestion.lines.all()] == [later]
    assert "confirmed earlier for Initech" in suggestion.explanation


def test_threshold_is_the_organizations(org, make_invoice):
    invoice = make_invoice("INV-1043", "100.00")
    cash_settings_update(organization=org, auto_apply=False, auto_apply_threshold=95)

    statement_import(organization=org, data=csv_bytes("2026-11-02,100.00,USD,Globex,INV-1043,T1"))

    invoice.refresh_from_db()
    assert invoice.balance == Decimal("100.00")
    assert Receipt.objects.get().status == ReceiptStatus.SUGGESTED


def test_never_applies_beyond_the_receipt(org, make_invoice):
    invoice = make_invoice("INV-9", "500.00")
    statement_import(organization=org, data=csv_bytes("2026-11-02,100.00,USD,Someone,?,T1"))
    receipt = Receipt.objects.get()

    with pytest.raises(CashError, match="more than the"):
        receipt_apply(receipt=receipt, allocations=[(invoice, "100.01")], actor=None)
    receipt_apply(receipt=receipt, allocations=[(invoice, "60.00")], actor=None)
    with pytest.raises(CashError, match="more than the"):
        receipt_apply(receipt=receipt, allocations=[(invoice, "40.01")], actor=None)

    refreshed(invoice, receipt)
    assert receipt.applied_amount == Decimal("60.00")
    assert receipt.status == ReceiptStatus.PARTIALLY_APPLIED
    assert invoice.balance == Decimal("440.00")


def test_split_across_invoices_and_the_rest_stays_in_the_queue(org, make_invoice):
    a = make_invoice("INV-1", "100.00")
    b = make_invoice("INV-2", "100.00")
    statement_import(organization=org, data=csv_bytes("2026-11-02,250.00,USD,Someone,?,T1"))
    receipt = Receipt.objects.get()

    receipt_apply(receipt=receipt, allocations=[(a, "100.00"), (b, "50.00")], actor=None)

    refreshed(a, b, receipt)
    assert (a.status, b.status) == (InvoiceStatus.PAID, InvoiceStatus.PARTIALLY_PAID)
    assert receipt.unapplied_amount == Decimal("100.00")
    assert Payment.objects.get().allocated_amount == Decimal("150.00")


def test_undo_reverses_through_the_ledger(org, make_invoice, personas):
    invoice = make_invoice("INV-1043", "100.00")
    statement_import(
        organization=org, data=csv_bytes("2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1")
    )
    application = Application.objects.get()
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID

    application_undo(application=application, actor=personas.operator.user)

    refreshed(invoice, application)
    receipt = application.receipt
    receipt.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("100.00"), InvoiceStatus.OPEN)
    assert invoice_balance_from_rows(invoice) == Decimal("100.00")
    assert not Payment.objects.exists()
    assert application.undone_at is not None and application.payment is None
    assert receipt.applied_amount == 0 and receipt.status == ReceiptStatus.UNMATCHED
    reversed_event = invoice.timeline.get(kind="payment_reversed")
    assert reversed_event.actor == personas.operator.user
    with pytest.raises(CashError, match="already undone"):
        application_undo(application=application, actor=None)


def test_undo_reopens_the_promise_the_payment_kept(org, make_invoice, personas):
    from plixo.commitments.models import Promise

    invoice = make_invoice("INV-1043", "400.00")
    upcoming = PromiseFactory(invoice=invoice, amount=Decimal("150.00"))
    passed = PromiseFactory(
        invoice=invoice,
        amount=Decimal("100.00"),
        promised_on=dt.date.today() - dt.timedelta(days=3),
        status=Promise.Status.MISSED,
    )
    statement_import(organization=org, data=csv_bytes("2026-11-02,150.00,USD,Globex Ltd,,T1"))
    receipt_apply(receipt=Receipt.objects.get(), allocations=[(invoice, "150.00")], actor=None)
    refreshed(upcoming, passed)
    assert (upcoming.status, passed.status) == (Promise.Status.KEPT, Promise.Status.KEPT)

    application_undo(application=Application.objects.get(), actor=personas.operator.user)

    refreshed(upcoming, passed)
    assert upcoming.status == Promise.Status.OPEN and upcoming.resolved_at is None
    assert passed.status == Promise.Status.MISSED and passed.resolved_at is not None
    reopened = invoice.timeline.filter(kind="promise_reopened")
    assert reopened.count() == 2
    assert {e.data["status"] for e in reopened} == {"open", "missed"}


def test_undo_leaves_kept_a_promise_other_payments_still_cover(org, make_invoice):
    from plixo.commitments.models import Promise
    from plixo.ledger.services import payment_record
    from plixo.ledger.services.payments import AllocationRequest

    invoice = make_invoice("INV-1043", "400.00")
    promise = PromiseFactory(invoice=invoice, amount=Decimal("100.00"))
    payment_record(
        organization=org,
        reference="CHQ-1",
        customer=invoice.customer,
        amount=Decimal("100.00"),
        currency="USD",
        allocations=[AllocationRequest(invoice, Decimal("100.00"))],
    )
    statement_import(organization=org, data=csv_bytes("2026-11-02,50.00,USD,Globex Ltd,,T1"))
    receipt_apply(receipt=Receipt.objects.get(), allocations=[(invoice, "50.00")], actor=None)
    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT

    application_undo(application=Application.objects.get(), actor=None)

    promise.refresh_from_db()
    assert promise.status == Promise.Status.KEPT
    assert not invoice.timeline.filter(kind="promise_reopened").exists()


def test_reject_a_suggestion_and_dismiss_a_receipt(org, make_invoice):
    make_invoice("INV-1043", "100.00")
    cash_settings_update(organization=org, auto_apply=False, auto_apply_threshold=95)
    statement_import(organization=org, data=csv_bytes("2026-11-02,100.00,USD,Globex,INV-1043,T1"))
    suggestion = Suggestion.objects.get()

    suggestion_reject(suggestion=suggestion, actor=None)

    receipt = Receipt.objects.get()
    assert receipt.status == ReceiptStatus.UNMATCHED
    with pytest.raises(CashError):
        suggestion_apply(suggestion=suggestion, actor=None)
    receipt_dismiss(receipt=receipt, actor=None)
    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.REJECTED
    with pytest.raises(CashError):
        receipt_apply(receipt=receipt, allocations=[], actor=None)


def test_an_invoice_paid_between_match_and_apply_leaves_a_suggestion(org, make_invoice):
    make_invoice("INV-1043", "100.00")
    # Two lines both naming the same invoice: the first pays it, the second cannot.
    statement = statement_import(
        organization=org,
        data=csv_bytes(
            "2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1",
            "2026-11-02,100.00,USD,Globex Ltd,INV-1043,T2",
        ),
    )

    assert (statement.auto_applied, statement.suggested) == (1, 1)
    assert Receipt.objects.get(bank_transaction_id="T2").applied_amount == 0


def test_another_organizations_invoice_cannot_be_applied(org, personas, make_invoice):
    foreign = make_invoice("INV-X", "10.00", organization=personas.other_org)
    statement_import(organization=org, data=csv_bytes("2026-11-02,10.00,USD,A,INV-X,T1"))
    receipt = Receipt.objects.get(organization=org)

    with pytest.raises(CashError, match="another organization"):
        receipt_apply(receipt=receipt, allocations=[(foreign, "10.00")], actor=None)
