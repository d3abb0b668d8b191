"""Stripe payouts on bank statements: the payout's line is reconciled with the payout Stripe
reported, never matched to invoices (its payments were recorded from Stripe already), whether
the statement or Stripe's payout event comes first."""

import datetime as dt
from decimal import Decimal

import pytest
from django.test import Client

from plixo.cashapp.models import CashError, Receipt, ReceiptStatus
from plixo.cashapp.services import receipt_apply, statement_import
from plixo.payments.models import StripePayout
from tests.cashapp.conftest import csv_bytes
from tests.payments.stripe_support import connect, deliver, envelope, new_id, stripe_object

ARRIVAL = dt.date(2026, 11, 3)


def _payout_event(kind: str, *, payout_id: str, amount_units: int, status: str, currency="usd"):
    arrival = int(dt.datetime.combine(ARRIVAL, dt.time(12), tzinfo=dt.UTC).timestamp())
    return envelope(
        kind,
        stripe_object(
            "payout",
            id=payout_id,
            amount=amount_units,
            currency=currency,
            status=status,
            arrival_date=arrival,
        ),
    )


@pytest.fixture
def stripe_org(org):
    connect(org)
    return org


def test_a_payout_event_is_kept_and_an_older_event_does_not_move_it_back(stripe_org):
    client = Client()
    payout_id = new_id("po")
    paid = _payout_event("payout.paid", payout_id=payout_id, amount_units=123456, status="paid")
    older = _payout_event(
        "payout.updated", payout_id=payout_id, amount_units=123456, status="in_transit"
    )

    assert deliver(client, stripe_org, paid).status_code == 200
    assert deliver(client, stripe_org, older).status_code == 200

    payout = StripePayout.objects.get(organization=stripe_org)
    assert (payout.payout_id, payout.amount, payout.currency) == (
        payout_id,
        Decimal("1234.56"),
        "USD",
    )
    assert (payout.status, payout.arrival_date) == ("paid", ARRIVAL)


def test_statement_after_the_payout_reconciles_the_line_and_never_matches_invoices(
    stripe_org, make_invoice
):
    # An open invoice of exactly the payout's amount: the matcher would have applied it.
    invoice = make_invoice("INV-1043", "1234.56")
    deliver(
        Client(),
        stripe_org,
        _payout_event("payout.paid", payout_id=new_id("po"), amount_units=123456, status="paid"),
    )

    statement = statement_import(
        organization=stripe_org,
        data=csv_bytes("2026-11-04,1234.56,USD,STRIPE PAYMENTS UK LTD,STRIPE PAYOUT INV-1043,B1"),
    )

    receipt = Receipt.objects.get()
    assert receipt.status == ReceiptStatus.PAYOUT
    assert receipt.stripe_payout == StripePayout.objects.get()
    assert (statement.payouts, statement.auto_applied, statement.suggested) == (1, 0, 0)
    assert not receipt.suggestions.exists()
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1234.56")
    assert "recorded from Stripe" in receipt.payout_note
    with pytest.raises(CashError, match="Stripe payout"):
        receipt_apply(receipt=receipt, allocations=[(invoice, "1234.56")], actor=None)


def test_statement_before_the_payout_waits_then_the_payout_event_reconciles_it(
    stripe_org, make_invoice
):
    make_invoice("INV-1043", "500.00")
    statement = statement_import(
        organization=stripe_org, data=csv_bytes("2026-11-04,500.00,USD,Stripe,Transfer,B1")
    )
    receipt = Receipt.objects.get()
    assert (receipt.status, statement.unmatched, statement.suggested) == ("unmatched", 1, 0)
    assert not receipt.suggestions.exists()
    assert "reconciled when Stripe reports" in receipt.payout_note

    deliver(
        Client(),
        stripe_org,
        _payout_event("payout.paid", payout_id=new_id("po"), amount_units=50000, status="paid"),
    )

    receipt.refresh_from_db()
    assert receipt.status == ReceiptStatus.PAYOUT


def test_a_named_payout_id_wins_and_two_lookalike_payouts_are_left_for_a_person(stripe_org):
    client = Client()
    first, second = new_id("po"), new_id("po")
    for payout_id in (first, second):
        deliver(
            client,
            stripe_org,
            _payout_event("payout.paid", payout_id=payout_id, amount_units=25000, status="paid"),
        )

    statement_import(
        organization=stripe_org,
        data=csv_bytes(
            f"2026-11-03,250.00,USD,STRIPE,{second},B1",
            "2026-11-03,250.00,USD,STRIPE,STRIPE PAYOUT,B2",
        ),
    )

    named = Receipt.objects.get(bank_transaction_id="B1")
    vague = Receipt.objects.get(bank_transaction_id="B2")
    assert named.stripe_payout.payout_id == second
    # The other payout of the same amount is the only one left: it is that one.
    assert vague.stripe_payout.payout_id == first


def test_an_ordinary_customer_payment_is_matched_as_before(stripe_org, make_invoice):
    make_invoice("INV-1043", "100.00")
    statement = statement_import(
        organization=stripe_org, data=csv_bytes("2026-11-02,100.00,USD,Globex Ltd,INV-1043,T1")
    )
    assert (statement.auto_applied, statement.payouts) == (1, 0)
