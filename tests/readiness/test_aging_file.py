from decimal import Decimal

import pytest

from plixo.readiness.aging_file import MAX_BYTES, AgingFileError, aging_file_parse
from tests.readiness.conftest import fixture_bytes

EXPECTED = {
    "current": Decimal("3700.00"),
    "1_30": Decimal("1350.50"),
    "31_60": Decimal("500.00"),
    "61_90": Decimal("250.00"),
    "90_plus": Decimal("4000.00"),
}


@pytest.mark.parametrize(
    ("name", "product"),
    [
        ("quickbooks_online.csv", "QuickBooks A/R Aging Summary"),
        ("quickbooks_desktop.csv", "NetSuite or QuickBooks Desktop A/R Aging Summary"),
        ("xero.csv", "Xero Aged Receivables Summary"),
        ("netsuite.csv", "NetSuite or QuickBooks Desktop A/R Aging Summary"),
        ("plain.csv", "Aging summary"),
    ],
)
def test_each_product_layout_reads_to_the_same_buckets(name, product):
    parsed = aging_file_parse(fixture_bytes(name))
    assert parsed.buckets == EXPECTED
    assert all(isinstance(v, Decimal) for v in parsed.buckets.values())
    assert parsed.total == Decimal("9800.50")
    assert parsed.product == product


def test_xero_months_over_ninety_days_add_up():
    parsed = aging_file_parse(fixture_bytes("xero.csv"))
    assert parsed.columns["90_plus"] == ["3 Months", "Older"]
    assert parsed.had_total_row and parsed.customers == 3


def test_quickbooks_desktop_reads_negative_amounts_in_brackets():
    parsed = aging_file_parse(fixture_bytes("quickbooks_desktop.csv"))
    assert parsed.customers == 4  # Credit Corp's (50.00) is one of them


def test_windows_1252_file_is_read():
    parsed = aging_file_parse(fixture_bytes("cp1252.csv"))
    assert parsed.buckets["current"] == Decimal("1000.00")


def test_missing_header_names_the_expected_columns():
    with pytest.raises(AgingFileError, match="No aging header found.*91 and over"):
        aging_file_parse(fixture_bytes("bad_no_header.csv"))


def test_bad_amount_names_line_and_column():
    with pytest.raises(AgingFileError, match=r"Line 3, column '1 - 30'.*35O\.50"):
        aging_file_parse(fixture_bytes("bad_amount.csv"))


def test_total_row_must_agree_with_the_customer_rows():
    with pytest.raises(AgingFileError, match=r"TOTAL row \(line 4\) says 300.50 for '1 - 30'"):
        aging_file_parse(fixture_bytes("bad_total.csv"))


def test_row_total_must_be_the_sum_of_its_buckets():
    data = b"Customer,Current,1 - 30,31 - 60,61 - 90,> 90,Total\nA,1,2,3,4,5,16\n"
    with pytest.raises(AgingFileError, match="Line 2 \\(A\\): its Total 16"):
        aging_file_parse(data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"x" * (MAX_BYTES + 1), "at most 5 MB"),
        (b"PK\x03\x04rest of a workbook", "Excel workbook"),
        (b"Customer,Current,1 - 30,31 - 60,61 - 90,> 90\n", "no rows with amounts"),
        (b'"a\n', "no aging header"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(data, message):
    with pytest.raises(AgingFileError, match=f"(?i){message}"):
        aging_file_parse(data)
