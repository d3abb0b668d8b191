"""The matcher: invoice numbers as people and OCR write them, amounts, payers, combinations."""

import datetime as dt
import itertools
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from plixo.cashapp.matching import (
    Matcher,
    NumberShapes,
    name_key,
    number_candidates,
    number_tokens,
)
from plixo.cashapp.models import Receipt, Statement

PREFIXES = {"INV"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Payment INV-1043", ["1043"]),
        ("inv 01043 thanks", ["01043"]),
        ("INV1O43", ["1043"]),  # O for 0
        ("invoice I043 and 1S47", ["1043", "1547"]),  # I for 1, S for 5
        ("ref 10 43", ["1043"]),  # a space inside the number
        ("INV 7 and 12", ["7"]),  # short numbers only right after the prefix
        ("INV-1043, INV-1047 and INV-1052", ["1043", "1047", "1052"]),
        ("no numbers here", []),
    ],
)
def test_number_tokens(text, expected):
    assert number_tokens(text, PREFIXES) == expected


def test_candidates_restore_prefix_and_width():
    shapes = NumberShapes(frozenset({("INV-", 5, "")}))

    assert "INV-01043" in number_candidates("1043", shapes)
    assert "INV-01043" in number_candidates("001043", shapes)


def test_name_key_drops_legal_forms():
    assert name_key("Globex Ltd.") == name_key("GLOBEX LIMITED") == "GLOBEX"


_SEQUENCE = itertools.count(1)


def _receipt(org, amount, *, payer="", text="", currency="USD"):
    n = next(_SEQUENCE)
    statement = Statement.objects.create(organization=org, format="csv", sha256="x")
    return Receipt.objects.create(
        organization=org,
        statement=statement,
        dedupe_key=f"test:{n}",
        line_number=n,
        booked_on=dt.date(2026, 11, 2),
        amount=Decimal(amount),
        currency=currency,
        payer_name=payer,
        remittance=text,
    )


def best(org, receipt):
    proposals = Matcher(org).match([receipt])[receipt.pk]
    return proposals[0] if proposals else None


def numbers_of(proposal):
    return [(invoice.number, str(amount)) for invoice, amount in proposal.allocations]


def test_several_numbers_summing_exactly(org, make_invoice):
    make_invoice("INV-01043", "100.00")
    make_invoice("INV-01047", "250.00")

    proposal = best(org, _receipt(org, "350.00", payer="Globex", text="1043 / 1047"))

    assert numbers_of(proposal) == [("INV-01043", "100.00"), ("INV-01047", "250.00")]
    assert proposal.confidence >= 97
    assert proposal.explanation.startswith("INV-01043 and INV-01047 named in the remittance")
    assert "amounts sum exactly" in proposal.explanation
    assert "payer name 100% like Globex Ltd" in proposal.explanation


def test_short_pay_with_fees_is_confident_only_with_the_payers_name(org, make_invoice):
    make_invoice("INV-500", "1000.00")
    make_invoice("INV-501", "1000.00")

    named = best(org, _receipt(org, "985.00", payer="Globex", text="INV-500"))
    anonymous = best(org, _receipt(org, "985.00", text="INV-501"))
    short = best(org, _receipt(org, "600.00", payer="Globex", text="INV-501"))

    assert numbers_of(named) == [("INV-500", "985.00")]
    assert named.confidence >= 95
    assert "short of the balance (likely fees or exchange)" in named.explanation
    assert 85 <= anonymous.confidence < 95
    assert short.confidence < 95 and "(a short pay)" in short.explanation


def test_payer_name_unlike_the_named_invoices_customer_lowers_confidence(org, make_invoice):
    make_invoice("INV-700", "40.00", customer="Umbrella Corp")

    proposal = best(org, _receipt(org, "40.00", payer="Wayne Enterprises", text="INV-700"))

    assert proposal.confidence < 80
    assert "like Umbrella Corp" in proposal.explanation


def test_closed_or_other_currency_invoices_are_not_proposed(org, make_invoice):
    make_invoice("INV-800", "40.00", currency="EUR")

    assert best(org, _receipt(org, "40.00", text="INV-800")) is None


def test_amount_and_fuzzy_payer_without_a_number(org, make_invoice):
    make_invoice("INV-1", "99.00", customer="Hooli Holdings")
    target = make_invoice("INV-2", "120.00", customer="Hooli Holdings")

    proposal = best(org, _receipt(org, "120.00", payer="HOOLI HOLDINGS INC"))

    assert [invoice.id for invoice, _ in proposal.allocations] == [target.pk]
    assert proposal.confidence >= 88
    assert "only open invoice of this amount" in proposal.explanation


def test_subset_sum_over_the_payers_open_invoices(org, make_invoice):
    for number, amount in [("A-1", "10.00"), ("A-2", "25.00"), ("A-3", "40.00"), ("A-4", "7.00")]:
        make_invoice(number, amount, customer="Stark Industries")

    proposal = best(org, _receipt(org, "72.00", payer="Stark Industries"))

    assert sorted(numbers_of(proposal)) == [("A-2", "25.00"), ("A-3", "40.00"), ("A-4", "7.00")]
    assert "sum exactly to the amount" in proposal.explanation


def test_amount_alone_is_never_confident(org, make_invoice):
    make_invoice("INV-5", "33.33", customer="Tyrell")

    proposal = best(org, _receipt(org, "33.33"))

    assert proposal.confidence <= 60


def test_ambiguous_amount_is_not_proposed(org, make_invoice):
    make_invoice("INV-5", "33.33", customer="Tyrell")
    make_invoice("INV-6", "33.33", customer="Cyberdyne")

    assert best(org, _receipt(org, "33.33")) is None


def test_a_batch_shares_its_queries(org, make_invoice):
    for index in range(30):
        make_invoice(f"INV-{index:04d}", f"{100 + index}.00", customer=f"Customer {index}")
    receipts = [
        _receipt(org, f"{100 + index}.00", payer=f"Customer {index}", text=f"INV {index}")
        for index in range(30)
    ]

    with CaptureQueriesContext(connection) as few:
        Matcher(org).match(receipts[:3])
    with CaptureQueriesContext(connection) as many:
        results = Matcher(org).match(receipts)

    assert all(results[r.pk] and results[r.pk][0].confidence >= 97 for r in receipts)
    assert len(many) == len(few)


def test_a_name_shared_by_customers_is_told_apart_by_the_amount(org, make_invoice):
    make_invoice("INV-10", "120.00", customer="Summit Staffing Inc")
    target = make_invoice("INV-11", "75.25", customer="Summit Staffing GmbH")
    make_invoice("INV-12", "80.00", customer="Summit Staffing GmbH")

    proposal = best(org, _receipt(org, "75.25", payer="SUMMIT STAFFING"))
    unknown_amount = best(org, _receipt(org, "99.00", payer="SUMMIT STAFFING"))

    assert [invoice.id for invoice, _ in proposal.allocations] == [target.pk]
    assert proposal.confidence == 95
    assert "fits 2 customers" in proposal.explanation
    assert unknown_amount is None
