"""Bank CSV exports: one line per transaction, headers named as banks name them.

Required: a date and an amount (or separate credit and debit columns). Currency may be a column
or given for the whole file. Header names are matched after lower-casing and dropping accents and
punctuation, against the aliases below.

Amounts are read as the bank wrote them: "1,234.56" or, from banks that write a decimal comma,
"1.234,56" and "12,50". Which one a file uses is decided once for the whole file, from the
amounts that can only be read one way, so an ambiguous "1,234" is read like its neighbours.
"""

import csv
import datetime as dt
import io
import re
import unicodedata

from plixo.cashapp.parsers.base import Parsed, RawLine, StatementRejected
from plixo.imports.pipeline.decode import sniff_delimiter

ALIASES: dict[str, tuple[str, ...]] = {
    "date": (
        "date",
        "booking date",
        "booked on",
        "posting date",
        "posted date",
        "transaction date",
        "value date",
        "entry date",
        "buchungstag",
        "datum",
    ),
    "amount": ("amount", "transaction amount", "value", "betrag", "montant", "net amount"),
    "credit": ("credit", "credit amount", "deposit", "deposits", "money in", "paid in", "cr"),
    "debit": ("debit", "debit amount", "withdrawal", "withdrawals", "money out", "paid out", "dr"),
    "currency": ("currency", "ccy", "currency code", "curr", "wahrung", "waehrung", "devise"),
    "payer_name": (
        "payer name",
        "payer",
        "counterparty",
        "counterparty name",
        "name",
        "remitter",
        "originator",
        "debtor",
        "debtor name",
        "from",
        "customer",
        "description name",
        "beguenstigter zahlungspflichtiger",
        "name zahlungsbeteiligter",
        "auftraggeber empfanger",
        "auftraggeber",
        "zahlungspflichtiger",
    ),
    "remittance": (
        "remittance",
        "remittance text",
        "remittance information",
        "description",
        "details",
        "memo",
        "narrative",
        "narration",
        "payment details",
        "purpose",
        "verwendungszweck",
        "particulars",
        "text",
    ),
    "reference": (
        "reference",
        "customer reference",
        "payment reference",
        "ref",
        "end to end id",
        "kundenreferenz end to end",
    ),
    "bank_transaction_id": (
        "bank transaction id",
        "transaction id",
        "bank reference",
        "fitid",
        "id",
        "transaction reference",
        "bank ref",
    ),
}
_LOOKUP = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d.%m.%y", "%Y%m%d")


def _normalize(header: str) -> str:
    # "Währung" → "wahrung", "Montant (€)" → "montant"
    plain = unicodedata.normalize("NFKD", header.lower())
    plain = "".join(char for char in plain if not unicodedata.combining(char))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain).split())


def _date(value: str) -> dt.date:
    value = value.strip()
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(value[:10], fmt).date()
        except ValueError:
            continue
    raise ValueError(f"date {value!r} is not in ISO 8601 (YYYY-MM-DD) or DD.MM.YYYY form")


# Amounts only a decimal comma explains ("12,50", "1.234,56", "1.234.567"), and amounts only a
# decimal point explains ("12.50", "1,234.56", "1,234,567").
_COMMA_ONLY = re.compile(
    r"-?(\d+,\d{1,2} | \d+,\d{4,} | \d{1,3}(\.\d{3})+,\d+ | \d{1,3}(\.\d{3}){2,})", re.VERBOSE
)
_POINT_ONLY = re.compile(
    r"-?(\d+\.\d{1,2} | \d+\.\d{4,} | \d{1,3}(,\d{3})+\.\d+ | \d{1,3}(,\d{3}){2,})", re.VERBOSE
)


def _bare(value: str) -> tuple[str, bool]:
    """The number of an amount cell without spaces, signs in brackets or CR/DR marks, and
    whether it is negative."""
    text = value.strip()
    for space in ("\u00a0", "\u202f", " ", "'", "\u2019"):  # also Swiss 1'234.56
        text = text.replace(space, "")
    negative = text.startswith("(") and text.endswith(")")
    text = text.strip("()")
    if text.upper().endswith("DR"):
        negative, text = True, text[:-2]
    elif text.upper().endswith("CR"):
        text = text[:-2]
    return text.lstrip("+"), negative


def _uses_decimal_comma(values: list[str]) -> bool:
    """Whether the file's amounts are written with a decimal comma: some amount can only be
    read that way and none can only be read the other way."""
    comma = point = False
    for value in values:
        text, _ = _bare(value)
        comma = comma or bool(_COMMA_ONLY.fullmatch(text))
        point = point or bool(_POINT_ONLY.fullmatch(text))
    return comma and not point


def _amount(value: str, *, decimal_comma: bool = False) -> str:
    """'1,234.56', '(12.00)', '-12.00', '12.00 CR' (or '1.234,56' with a decimal comma) → a
    signed decimal string."""
    text, negative = _bare(value)
    if decimal_comma:
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", text):
            text = text.replace(".", "")
        if re.fullmatch(r"-?\d+,\d+", text):
            text = text.replace(",", ".")
        elif re.fullmatch(r"-?\d+\.\d+", text):
            raise ValueError(f"amount {value!r} has a decimal point; this file writes a comma")
    elif re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    if not re.fullmatch(r"-?\d+(\.\d+)?", text):
        raise ValueError(f"amount {value!r} is not a decimal number")
    if negative and not text.startswith("-"):
        text = "-" + text
    return text


def parse_csv(text: str, *, default_currency: str = "") -> Parsed:
    delimiter = sniff_delimiter(text[:4096])
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        headers = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise StatementRejected("The CSV file is empty.") from exc
    columns: dict[str, int] = {}
    for index, header in enumerate(headers):
        field = _LOOKUP.get(_normalize(header))
        if field and field not in columns:
            columns[field] = index
    if "date" not in columns or not (
        "amount" in columns or "credit" in columns or "debit" in columns
    ):
        raise StatementRejected(
            "The CSV file needs a date column and an amount column (or credit and debit "
            f"columns); found: {', '.join(h.strip() for h in headers if h.strip()) or 'none'}."
        )
    if "currency" not in columns and not default_currency:
        raise StatementRejected(
            "The CSV file has no currency column: choose the statement's currency."
        )
    parsed = Parsed()

    def cell(row: list[str], field: str) -> str:
        index = columns.get(field)
        return row[index].strip() if index is not None and index < len(row) else ""

    rows: list[tuple[int, list[str]]] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.reject(reader.line_num, f"unreadable CSV line: {exc}")
            continue
        if any(value.strip() for value in row):
            rows.append((reader.line_num, row))
    comma = _uses_decimal_comma(
        [cell(row, field) for _, row in rows for field in ("amount", "credit", "debit")]
    )

    for line, row in rows:
        try:
            if "amount" in columns and cell(row, "amount"):
                amount = _amount(cell(row, "amount"), decimal_comma=comma)
            elif cell(row, "credit"):
                amount = _amount(cell(row, "credit"), decimal_comma=comma).lstrip("-")
            elif cell(row, "debit"):
                amount = "-" + _amount(cell(row, "debit"), decimal_comma=comma).lstrip("-")
            else:
                raise ValueError("the line has no amount")
            booked_on = _date(cell(row, "date"))
        except ValueError as exc:
            parsed.reject(line, str(exc))
            continue
        parsed.lines.append(
            RawLine(
                line=line,
                booked_on=booked_on,
                amount=amount,
                currency=cell(row, "currency") or default_currency,
                payer_name=cell(row, "payer_name"),
                remittance=cell(row, "remittance"),
                reference=cell(row, "reference"),
                bank_transaction_id=cell(row, "bank_transaction_id"),
            )
        )
    return parsed
