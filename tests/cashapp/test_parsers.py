"""The statement parsers against real bank files (tests/fixtures/cashapp, see their SOURCE.md)."""

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from plixo.cashapp.parsers import StatementRejected, clean_line, detect_format, parse

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cashapp"
TODAY = dt.date(2026, 12, 1)


def read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def credits(parsed):
    return [line for line in parsed.lines if Decimal(str(line.amount)) > 0]


# --- BAI2 --------------------------------------------------------------------------------


def test_bai2_svb_two_groups_ach_credits():
    parsed = parse(read("bai2-ministryofjustice/svb_us_example.bai2"), format="bai2")

    assert parsed.rejects == []
    assert [(line.booked_on, line.amount, line.currency) for line in parsed.lines] == [
        (dt.date(2022, 2, 1), Decimal("4901.96"), "USD"),
        (dt.date(2022, 2, 2), Decimal("9058.00"), "USD"),
    ]
    assert parsed.lines[0].bank_transaction_id == "172629"
    assert parsed.lines[0].remittance == "SOME PAYMENT ACH OFFSET"
    assert parsed.lines[0].line == 7  # the 16 record's line in the file


def test_bai2_debits_are_negative_and_continuations_join():
    parsed = parse(read("bai2-ministryofjustice/nwb_example.bai2"), format="bai2")

    amounts = [line.amount for line in parsed.lines]
    assert amounts[:4] == [Decimal("-9.71"), Decimal("-1.00"), Decimal("-1.23"), Decimal("-15.71")]
    assert amounts[4] == Decimal("0.89")  # type 399, a credit, in GBP pence
    assert parsed.lines[4].remittance.endswith("INTERNATIONAL-5373 CLIE NT SECCY AC TFR")


def test_bai2_citi_remittance_from_88_records():
    parsed = parse(read("bai2-ministryofjustice/citi_example.bai2"), format="bai2")

    (line,) = parsed.lines
    assert line.currency == "GBP"
    assert "BUCKINGHAM PALACE" in line.remittance
    assert line.reference == "RP12312312312312"


def test_bai2_malformed_record_is_rejected_with_its_line_and_the_rest_goes_through():
    parsed = parse(read("bai2-moov-io/sample5-issue113.txt"), format="bai2")

    assert [(r.line, r.message.split(":")[0]) for r in parsed.rejects] == [
        (63, "unknown BAI2 record '88")
    ]
    assert len(parsed.lines) == 20
    assert parsed.notes  # control totals could not be checked


def test_bai2_broken_amount_in_a_transaction_line(tmp_path):
    text = read("bai2-ministryofjustice/svb_us_example.bai2").decode()
    broken = text.replace("16,142,490196,,172629,/", "16,142,49O196,,172629,/")

    parsed = parse(broken.encode(), format="bai2")

    assert [r.line for r in parsed.rejects] == [7]
    assert [line.amount for line in parsed.lines] == [Decimal("9058.00")]


def test_bai2_not_bai2_is_rejected_whole():
    with pytest.raises(StatementRejected):
        parse(read("bai2-moov-io/errors/sample-parseError.txt"), format="bai2")


# --- camt --------------------------------------------------------------------------------


def test_camt053_entries_and_batch_transactions():
    parsed = parse(read("camt-viafintech/camt053_valid_example.xml"), format="camt")

    assert parsed.account == "DE14740618130000033626"
    assert parsed.rejects == []
    assert [line.amount for line in parsed.lines] == ["-2.00", "-3.00", "1.00", "-3.50", "-2.50"]
    credit = parsed.lines[2]
    assert credit.line == 219 and credit.booked_on == dt.date(2013, 12, 27)
    assert credit.payer_name == "Testkonto Nummer 2"
    assert credit.bank_transaction_id == "2013122711085260000"


def test_camt053_v8_party_names_and_remittance():
    parsed = parse(read("camt-viafintech/camt053_valid_example_v8.xml"), format="camt")

    first = parsed.lines[0]
    assert (first.amount, first.currency, first.payer_name) == ("474.4", "CHF", "Jon Doe")
    assert "INVOICE R77561" in first.remittance


def test_camt054_batch_gives_one_line_per_transaction():
    parsed = parse(read("camt-viafintech/camt054_valid_example.xml"), format="camt")

    first_two = parsed.lines[:2]
    assert [(line.amount, line.payer_name) for line in first_two] == [
        ("15.00", "Rutschmann Pia"),
        ("9.00", "Bernasconi Maria"),
    ]
    assert [line.bank_transaction_id for line in first_two] == [
        "TST_201-2091644-9",
        "TST_201-2091644-8",
    ]
    assert first_two[0].line == first_two[1].line == 28


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">]><Document>&a;</Document>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<Document>&x;</Document>",
        b'<?xml version="1.0"?><!DOCTYPE Document SYSTEM "http://example.com/x.dtd"><Document/>',
    ],
)
def test_camt_refuses_entities_and_external_references(document):
    with pytest.raises(StatementRejected, match="refused for safety"):
        parse(document, format="camt")


def test_camt_entry_without_indicator_is_rejected_and_others_pass():
    text = read("camt-viafintech/camt054_valid_example.xml").decode()
    broken = text.replace("<CdtDbtInd>CRDT</CdtDbtInd>", "<CdtDbtInd>XXXX</CdtDbtInd>", 1)

    parsed = parse(broken.encode(), format="camt")

    assert [r.line for r in parsed.rejects] == [28]
    assert len(parsed.lines) == 3


def test_not_xml_is_rejected_whole():
    with pytest.raises(StatementRejected, match="not well formed"):
        parse(b"<Document><Ntry>", format="camt")


# --- OFX ---------------------------------------------------------------------------------


def test_ofx_sgml_without_closing_tags():
    parsed = parse(read("ofx-ofxparse/checking.ofx"), format="ofx")

    assert parsed.account == "1452687~7"
    first = parsed.lines[0]
    assert (first.booked_on, first.amount, first.currency) == (dt.date(2011, 3, 31), "0.01", "USD")
    assert first.bank_transaction_id == "0000486"
    assert [line.amount for line in parsed.lines] == ["0.01", "-34.51", "-25.00"]
    assert parsed.lines[2].remittance.endswith("319")  # CHECKNUM kept with the memo


def test_ofx_xml_and_sgml_without_line_breaks():
    suncorp = parse(read("ofx-ofxparse/suncorp.ofx"), format="ofx")
    medium = parse(read("ofx-ofxparse/bank_medium.ofx"), format="ofx")

    assert suncorp.lines[0].currency == "AUD" and suncorp.lines[0].amount == "-16.85"
    assert medium.lines[0].currency == "CAD" and medium.lines[0].booked_on == dt.date(2009, 4, 1)


def test_ofx_bad_amount_is_rejected_with_its_line():
    parsed = parse(read("ofx-ofxparse/fail_nice/decimal_error.ofx"), format="ofx")

    assert [(r.line, r.message) for r in parsed.rejects] == [
        (34, "amount '$120' is not a decimal number")
    ]
    assert parsed.lines == []


def test_ofx_refuses_entity_declarations():
    with pytest.raises(StatementRejected):
        parse(b'<!DOCTYPE x [<!ENTITY a "b">]><OFX></OFX>', format="ofx")


# --- CSV and checks ----------------------------------------------------------------------


def test_csv_header_aliases_and_credit_debit_columns():
    data = (
        b"Booking Date;Credit;Debit;Currency;Counterparty;Verwendungszweck;Bank Reference\n"
        b"02.11.2026;1.234,00;;EUR;Globex;INV-1;B1\n"  # decimal comma is not supported: rejected
        b"2026-11-02;1,234.00;;EUR;Globex;INV-1;B2\n"
        b"2026-11-03;;50.00;EUR;Bank;fee;B3\n"
    )

    parsed = parse(data, format="csv")

    assert [(r.line, r.message) for r in parsed.rejects] == [
        (2, "amount '1.234,00' is not a decimal number")
    ]
    assert [(line.amount, line.payer_name, line.bank_transaction_id) for line in parsed.lines] == [
        ("1234.00", "Globex", "B2"),
        ("-50.00", "Bank", "B3"),
    ]


def test_csv_from_a_german_bank_with_decimal_commas():
    # As a Sparkasse "CSV-CAMT" export writes it: semicolons, umlauts spelt out or not,
    # two-digit years, thousands dots and a decimal comma.
    data = (
        '"Auftragskonto";"Buchungstag";"Valutadatum";"Buchungstext";"Verwendungszweck";'
        '"Kundenreferenz (End-to-End)";"Beguenstigter/Zahlungspflichtiger";'
        '"Kontonummer/IBAN";"Betrag";"Waehrung";"Info"\n'
        '"DE0012";"02.11.26";"02.11.26";"GUTSCHR. UEBERWEISUNG";"RE INV-1043 UND INV-1047";'
        '"E2E-77";"Globex GmbH";"DE89370400440532013000";"1.234,56";"EUR";"Umsatz gebucht"\n'
        '"DE0012";"03.11.26";"03.11.26";"GUTSCHR. UEBERWEISUNG";"INV-2001";'
        '"NOTPROVIDED";"Initech AG";"DE02120300000000202051";"250";"EUR";"Umsatz gebucht"\n'
        '"DE0012";"04.11.26";"04.11.26";"LASTSCHRIFT";"Miete";'
        '"";"Vermieter";"DE02120300000000202052";"-1.500,00";"EUR";"Umsatz gebucht"\n'
    ).encode("cp1252")

    parsed = parse(data, format="csv")

    assert not parsed.rejects
    first, second, third = parsed.lines
    assert (first.booked_on, first.amount, first.currency) == (
        dt.date(2026, 11, 2),
        "1234.56",
        "EUR",
    )
    assert (first.payer_name, first.reference) == ("Globex GmbH", "E2E-77")
    assert first.remittance == "RE INV-1043 UND INV-1047"
    assert (second.amount, third.amount) == ("250", "-1500.00")


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        (["1,234.56", "12.50"], ["1234.56", "12.50"]),
        (["1.234,56", "12,50"], ["1234.56", "12.50"]),
        (["1,234", "12.50"], ["1234", "12.50"]),  # a thousands comma beside a decimal point
        (["1,234", "12,50"], ["1.234", "12.50"]),  # a decimal comma beside a decimal comma
        (["1'234.50 CR", "(7.00)"], ["1234.50", "-7.00"]),
    ],
)
def test_csv_amounts_are_read_the_way_the_whole_file_writes_them(amounts, expected):
    rows = "".join(f'2026-11-02;"{amount}";USD\n' for amount in amounts)
    parsed = parse(f"Date;Amount;Currency\n{rows}".encode(), format="csv")

    assert [line.amount for line in parsed.lines] == expected


def test_csv_mixing_decimal_commas_and_points_rejects_the_odd_line():
    data = b"Date;Amount;Currency\n2026-11-02;12,50;EUR\n2026-11-03;1.234,00;EUR\n"
    parsed = parse(data, format="csv")
    assert [line.amount for line in parsed.lines] == ["12.50", "1234.00"]

    mixed = b"Date;Amount;Currency\n2026-11-02;12,50;EUR\n2026-11-03;7.25;EUR\n"
    parsed = parse(mixed, format="csv")
    # Both readings appear: each amount is read as written with a point, and the comma one is
    # refused rather than guessed.
    assert [line.amount for line in parsed.lines] == ["7.25"]
    assert parsed.rejects and "12,50" in parsed.rejects[0].message


def test_csv_without_required_columns_is_rejected_whole():
    with pytest.raises(StatementRejected, match="needs a date column"):
        parse(b"Payer,Text\nA,B\n", format="csv")


def test_clean_line_bounds_dates_amounts_and_control_characters():
    parsed = parse(
        b"Date,Amount,Currency,Description\n"
        b"2026-11-02,10.00,USD,ok\n"
        b"2031-01-01,10.00,USD,future\n"
        b"2026-11-02,10.001,USD,too many decimals\n"
        b"2026-11-02,10.00,XXQ,bad currency\n"
        b"2026-11-02,10.00,USD,bell\x07\n",
        format="csv",
    )
    outcomes = []
    for raw in parsed.lines:
        try:
            clean_line(raw, today=TODAY)
            outcomes.append("ok")
        except ValueError as exc:
            outcomes.append(str(exc).split(" ")[0:2])
    assert outcomes[0] == "ok"
    assert outcomes[1] == ["the", "date"]
    assert outcomes[2] == ["bad", "amount:"]
    assert outcomes[3][1] == "is"
    assert outcomes[4] == ["The", "remittance"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("bai2-ministryofjustice/svb_us_example.bai2", "bai2"),
        ("camt-viafintech/camt054_valid_example.xml", "camt"),
        ("ofx-ofxparse/checking.ofx", "ofx"),
        ("ofx-ofxparse/suncorp.ofx", "ofx"),
    ],
)
def test_format_is_recognised_from_content(name, expected):
    assert detect_format(read(name)) == expected


def test_oversized_file_is_rejected_before_parsing():
    with pytest.raises(StatementRejected, match="larger than"):
        parse(b"01," + b"x" * (20 * 1024 * 1024), format="bai2")
