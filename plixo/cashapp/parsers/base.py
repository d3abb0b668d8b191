"""What every statement parser returns: the lines it read (credits and debits, with their line
number in the file) and the lines it could not read, each with its line number and why.

Parsers only read; `clean_line` bounds and validates every value before anything is written.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from plixo.core.money import MoneyError, is_currency, parse_amount
from plixo.core.text import DATE_MIN

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_LINES = 100_000
MAX_TEXT = 1000  # remittance text kept per line
MAX_NAME = 200
MAX_REFERENCE = 120
# Bank lines are dated in the past; a week ahead allows for value dates and time zones.
FUTURE_DAYS = 7

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class StatementRejected(ValueError):
    """The file as a whole cannot be read: nothing is written."""


@dataclass
class RawLine:
    line: int
    booked_on: dt.date | None
    amount: str | Decimal | None  # signed: credits positive, debits negative
    currency: str
    payer_name: str = ""
    remittance: str = ""
    reference: str = ""
    bank_transaction_id: str = ""
    account: str = ""


@dataclass
class LineReject:
    line: int
    message: str


@dataclass
class Parsed:
    lines: list[RawLine] = field(default_factory=list)
    rejects: list[LineReject] = field(default_factory=list)
    account: str = ""
    notes: list[str] = field(default_factory=list)

    def reject(self, line: int, message: str) -> None:
        self.rejects.append(LineReject(line=line, message=message))


@dataclass(frozen=True)
class CleanLine:
    line: int
    booked_on: dt.date
    amount: Decimal  # signed
    currency: str
    payer_name: str
    remittance: str
    reference: str
    bank_transaction_id: str
    account: str


def _text(value: str, limit: int, *, what: str, line: int) -> str:
    value = value or ""
    if _CONTROL.search(value):
        raise ValueError(f"{what} contains a control character")
    # One-line storage: bank continuation records are joined with spaces.
    value = " ".join(value.split())
    if len(value) > limit:
        value = value[:limit]
    return value


def clean_line(raw: RawLine, *, today: dt.date) -> CleanLine:
    """The line with every value checked, or ValueError with a message for the reject list."""
    currency = (raw.currency or "").strip().upper()
    if not is_currency(currency):
        raise ValueError(f"{raw.currency or 'no currency'!r} is not an ISO 4217 currency code")
    if raw.booked_on is None:
        raise ValueError("the line has no booking date")
    if not DATE_MIN <= raw.booked_on <= today + dt.timedelta(days=FUTURE_DAYS):
        raise ValueError(f"the date {raw.booked_on:%Y-%m-%d} is out of range")
    if raw.amount is None or (isinstance(raw.amount, str) and not raw.amount.strip()):
        raise ValueError("the line has no amount")
    try:
        amount = parse_amount(raw.amount, currency)
    except (MoneyError, InvalidOperation) as exc:
        raise ValueError(f"bad amount: {exc}") from exc
    if amount == 0:
        raise ValueError("the amount is zero")
    return CleanLine(
        line=raw.line,
        booked_on=raw.booked_on,
        amount=amount,
        currency=currency,
        payer_name=_text(raw.payer_name, MAX_NAME, what="The payer name", line=raw.line),
        remittance=_text(raw.remittance, MAX_TEXT, what="The remittance text", line=raw.line),
        reference=_text(raw.reference, MAX_REFERENCE, what="The reference", line=raw.line),
        bank_transaction_id=_text(
            raw.bank_transaction_id, MAX_REFERENCE, what="The transaction id", line=raw.line
        ),
        account=_text(raw.account, 100, what="The account", line=raw.line),
    )


def decode_text(data: bytes) -> str:
    """UTF-8 (with or without BOM) or Windows-1252; NUL bytes mean it is not a text file."""
    if b"\x00" in data:
        raise StatementRejected("This is not a bank statement: the file holds binary data.")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise StatementRejected(
                "The file could not be read as text (UTF-8 or Windows-1252)."
            ) from exc


def decimal_or_none(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except (InvalidOperation, ValueError):
        return None
