"""Reading an ERP's aging summary (CSV) into five bucket totals.

ERPs write the report as they print it: a company name, a title and an "As of" line above the
header, one row per customer, a TOTAL row and the time the report ran below. Only the header's
bucket columns matter; the rest is furniture. The products' own column names are recognised:

- QuickBooks Online / Desktop, A/R Aging Summary: Current, 1 - 30, 31 - 60, 61 - 90,
  91 and over (Desktop: > 90), Total; the customer column has no header or "Customer".
- Xero, Aged Receivables Summary: Contact, Current, < 1 Month, 1 Month, 2 Months, 3 Months,
  Older, Total. Months are taken as 30-day bands (Xero's "by due date, months" view), so
  "3 Months" and "Older" together are Plixo's 90+ days.
- NetSuite, A/R Aging Summary: Current, 1 - 30, 31 - 60, 61 - 90, > 90 (or Over 90), Total.
- A plain file with the five buckets: current, 1_30, 31_60, 61_90, 90_plus.

Amounts are read strictly (`plixo.imports.pipeline.numbers`, decimal point): a cell that is
not an amount is an error naming its line and column, never a zero.
"""

import csv
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal

from plixo.imports.pipeline.decode import UndecodableFile, detect_encoding, sniff_delimiter
from plixo.imports.pipeline.numbers import not_an_amount, parse_number

BUCKETS = ("current", "1_30", "31_60", "61_90", "90_plus")
MAX_BYTES = 5 * 1024 * 1024
MAX_ROWS = 200_000
HEADER_SEARCH_LINES = 15
MAX_CELL = 2_000

# Normalised header -> the bucket it adds to. Several columns may add to one bucket (Xero's
# "3 Months" and "Older" are both over 90 days).
_BUCKET_HEADERS = {
    "current": "current",
    "not yet due": "current",
    "not due": "current",
    "1-30": "1_30",
    "1_30": "1_30",
    "< 1 month": "1_30",
    "31-60": "31_60",
    "31_60": "31_60",
    "1 month": "31_60",
    "61-90": "61_90",
    "61_90": "61_90",
    "2 months": "61_90",
    "91 and over": "90_plus",
    "> 90": "90_plus",
    ">90": "90_plus",
    "over 90": "90_plus",
    "90+": "90_plus",
    "91+": "90_plus",
    "90_plus": "90_plus",
    "91-120": "90_plus",
    "121 and over": "90_plus",
    "> 120": "90_plus",
    "3 months": "90_plus",
    "older": "90_plus",
}
_TOTAL_HEADERS = {"total", "totals", "amount due", "balance", "total due"}
_NAME_HEADERS = {"", "customer", "contact", "name", "customer name", "client", "company"}
_TOTAL_LABELS = {"total", "totals", "grand total"}
EXPECTED_COLUMNS = (
    "Current, 1 - 30, 31 - 60, 61 - 90 and 91 and over (QuickBooks, NetSuite: > 90 or "
    "Over 90), or Current, < 1 Month, 1 Month, 2 Months, 3 Months and Older (Xero)"
)


class AgingFileError(ValueError):
    """The file cannot be read as an aging summary; the message says why and where."""


@dataclass
class AgingFile:
    buckets: dict[str, Decimal]
    total: Decimal
    product: str  # which layout was recognised
    customers: int  # rows read
    had_total_row: bool
    columns: dict[str, list[str]] = field(default_factory=dict)  # bucket -> headers read


def _header_key(cell: str) -> str:
    text = cell.strip().lstrip("\ufeff").lower().replace("\u2013", "-").replace("\u2014", "-")
    text = re.sub(r"\s*-\s*", "-", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r"\s*(days?|days past due|past due)$", "", text)
    return text.strip()


def _product(keys: set[str]) -> str:
    if "< 1 month" in keys:
        return "Xero Aged Receivables Summary"
    if "91 and over" in keys:
        return "QuickBooks A/R Aging Summary"
    if "> 90" in keys or ">90" in keys or "over 90" in keys:
        return "NetSuite or QuickBooks Desktop A/R Aging Summary"
    return "Aging summary"


def _find_header(rows: list[list[str]]) -> tuple[int, dict[int, str], int | None, str] | None:
    for index, row in enumerate(rows[:HEADER_SEARCH_LINES]):
        keys = [_header_key(cell) for cell in row]
        positions = {i: _BUCKET_HEADERS[k] for i, k in enumerate(keys) if k in _BUCKET_HEADERS}
        if set(positions.values()) == set(BUCKETS):
            total = next((i for i, k in enumerate(keys) if k in _TOTAL_HEADERS), None)
            return index, positions, total, _product(set(keys))
    return None


def _read_rows(data: bytes) -> list[list[str]]:
    stream = io.BytesIO(data)
    try:
        encoding = detect_encoding(stream)
    except UndecodableFile as exc:
        raise AgingFileError(str(exc)) from exc
    text = data.decode("utf-8-sig" if encoding.startswith("utf-8") else encoding)
    if not text.strip():
        raise AgingFileError("The file is empty.")
    delimiter = sniff_delimiter(text[:65536])
    rows = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            if len(rows) >= MAX_ROWS:
                raise AgingFileError(f"The file has more than {MAX_ROWS:,} lines.")
            if any(len(cell) > MAX_CELL for cell in row):
                raise AgingFileError(
                    f"Line {len(rows) + 1} has a cell longer than {MAX_CELL:,} characters."
                )
            rows.append(row)
    except csv.Error as exc:
        raise AgingFileError(f"The file is not valid CSV: {exc}.") from exc
    return rows


def _amount(raw: str, line: int, column: str) -> Decimal:
    raw = raw.strip()
    if not raw or raw in ("-", "\u2013"):
        return Decimal(0)  # an empty bucket, as ERPs leave it
    value = parse_number(raw, "point")
    if value is None:
        raise AgingFileError(f"Line {line}, column {column!r}: {not_an_amount(raw, 'point')}")
    return value


def aging_file_parse(data: bytes) -> AgingFile:
    """The bucket totals of an aging summary export. Raises `AgingFileError`."""
    if len(data) > MAX_BYTES:
        raise AgingFileError(
            f"The file is {len(data) / 1024 / 1024:.1f} MB; an aging summary is at most "
            f"{MAX_BYTES // 1024 // 1024} MB."
        )
    if not data:
        raise AgingFileError("The file is empty.")
    rows = _read_rows(data)
    found = _find_header(rows)
    if found is None:
        raise AgingFileError(
            f"No aging header found in the first {HEADER_SEARCH_LINES} lines. Expected columns "
            f"{EXPECTED_COLUMNS}, and optionally Total. Export the aging summary (not the "
            "detail) as CSV."
        )
    header_index, positions, total_position, product = found
    header = rows[header_index]
    bucket_sums = dict.fromkeys(BUCKETS, Decimal(0))
    total_column = Decimal(0)
    total_row: tuple[int, dict[str, Decimal], Decimal | None] | None = None
    customers = 0
    for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
        filled = [cell.strip() for cell in row if cell.strip()]
        if not filled:
            continue
        name = row[0].strip() if row else ""
        amount_cells = [row[i].strip() for i in positions if i < len(row)]
        if not any(amount_cells):
            continue  # a title, a group heading or the "run at" footer line
        values = dict.fromkeys(BUCKETS, Decimal(0))
        for position, bucket in positions.items():
            cell = row[position] if position < len(row) else ""
            values[bucket] += _amount(cell, offset, header[position].strip())
        row_total = None
        if total_position is not None and total_position < len(row):
            row_total = _amount(row[total_position], offset, header[total_position].strip())
        if name.lower() in _TOTAL_LABELS:
            total_row = (offset, values, row_total)
            break  # below it: percentages (Xero) and the time the report ran
        if row_total is not None and row_total != sum(values.values(), Decimal(0)):
            raise AgingFileError(
                f"Line {offset} ({name[:60] or 'no name'}): its Total {row_total} is not the sum "
                f"of its buckets ({sum(values.values(), Decimal(0))})."
            )
        customers += 1
        for bucket, value in values.items():
            bucket_sums[bucket] += value
        total_column += row_total if row_total is not None else sum(values.values(), Decimal(0))
    if customers == 0 and total_row is None:
        raise AgingFileError("The file has a header but no rows with amounts.")
    if total_row is not None and customers:
        line, totals, total_amount = total_row
        for bucket in BUCKETS:
            if totals[bucket] != bucket_sums[bucket]:
                raise AgingFileError(
                    f"The TOTAL row (line {line}) says {totals[bucket]} for "
                    f"{_label(header, positions, bucket)} but the customer rows add up to "
                    f"{bucket_sums[bucket]}. Export the report again without editing it."
                )
        if total_amount is not None and total_amount != total_column:
            raise AgingFileError(
                f"The TOTAL row (line {line}) says {total_amount} in total but the customer rows "
                f"add up to {total_column}."
            )
    elif total_row is not None:
        bucket_sums = dict(total_row[1])  # a summary with its total only
    columns: dict[str, list[str]] = {bucket: [] for bucket in BUCKETS}
    for position, bucket in positions.items():
        columns[bucket].append(header[position].strip())
    return AgingFile(
        buckets=bucket_sums,
        total=sum(bucket_sums.values(), Decimal(0)),
        product=product,
        customers=customers,
        had_total_row=total_row is not None,
        columns=columns,
    )


def _label(header: list[str], positions: dict[int, str], bucket: str) -> str:
    return " + ".join(repr(header[i].strip()) for i, b in positions.items() if b == bucket)
