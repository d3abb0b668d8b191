"""Row validation: cells to clean Python values, or an error code naming what is wrong.

Each kind has a function `validate_<kind>(values, ctx) -> dict` that raises `RowError` for
the first problem in the row. These checks need nothing but the row itself; checks against the
database (unknown customer, conflicts) happen in `load`.
"""

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from plixo.core.models import validate_time_zone
from plixo.core.money import currency_digits, is_currency
from plixo.ledger.models import PaymentMethod

# Error codes, each with the text the summary shows beside its count.
ERROR_CODES = {
    "missing_required_header": "Missing required header",
    "undecodable_file": "File is not readable text",
    "empty_file": "File has no rows",
    "malformed_row": "Malformed line",
    "missing_value": "Missing value",
    "invalid_currency": "Invalid currency code",
    "malformed_date": "Malformed date",
    "bad_amount": "Bad amount",
    "too_many_decimals": "Too many decimal places",
    "due_before_issue": "Due date before issue date",
    "unknown_status": "Unknown status",
    "unknown_method": "Unknown payment method",
    "unknown_customer": "Unknown customer",
    "unknown_invoice": "Unknown invoice",
    "duplicate_row": "Duplicate row",
    "invalid_email": "Invalid email address",
    "invalid_value": "Invalid value",
    "conflict": "Conflicts with Plixo's data",
}

MAX_LENGTHS = {
    "invoice_number": 100,
    "customer_external_id": 100,
    "customer_name": 255,
    "reference": 100,
    "po_number": 100,
    "segment": 60,
    "name": 200,
    "contact_name": 200,
    "role": 60,
    "memo": 500,
    "description": 10_000,
}


class RowError(Exception):
    def __init__(self, column: str, code: str, message: str):
        assert code in ERROR_CODES, code
        self.column, self.code, self.message = column, code, message
        super().__init__(message)


@dataclass(frozen=True)
class Context:
    date_format: str  # a DateFormat value
    default_currency: str


# --- values ---------------------------------------------------------------------------------


def text(values: dict, column: str, *, required: bool = False) -> str:
    value = values.get(column, "").strip()
    if required and not value:
        raise RowError(column, "missing_value", f"{column} is empty.")
    limit = MAX_LENGTHS.get(column)
    if limit and len(value) > limit:
        raise RowError(column, "invalid_value", f"{column} is longer than {limit} characters.")
    return value


def currency(values: dict, column: str = "currency", *, default: str | None = None) -> str:
    code = values.get(column, "").strip().upper()
    if not code:
        if default:
            return default
        raise RowError(column, "missing_value", f"{column} is empty.")
    if not is_currency(code):
        raise RowError(
            column, "invalid_currency", f"{code[:20]!r} is not an ISO 4217 currency code."
        )
    return code


_DATE_PATTERNS = {
    "mdy": (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (2, 0, 1)),
    "dmy": (re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$"), (2, 1, 0)),
    "dmy_dot": (re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})$"), (2, 1, 0)),
}
_DATE_HINT = {
    "iso": "YYYY-MM-DD",
    "mdy": "YYYY-MM-DD or MM/DD/YYYY",
    "dmy": "YYYY-MM-DD or DD/MM/YYYY",
    "dmy_dot": "YYYY-MM-DD or DD.MM.YYYY",
}
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ].*)?$")


@lru_cache(maxsize=8192)
def parse_date(raw: str, date_format: str) -> dt.date | None:
    """ISO 8601 (a date, or a date-time whose date is taken), or the batch's regional format."""
    if _ISO_DATE.match(raw):
        try:
            return dt.date.fromisoformat(raw[:10])
        except ValueError:
            return None
    pattern = _DATE_PATTERNS.get(date_format)
    if pattern is None:
        return None
    match = pattern[0].match(raw)
    if not match:
        return None
    parts = match.groups()
    year, month, day = (int(parts[i]) for i in pattern[1])
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def date(values: dict, column: str, ctx: Context, *, required: bool = True) -> dt.date | None:
    raw = values.get(column, "").strip()
    if not raw:
        if required:
            raise RowError(column, "missing_value", f"{column} is empty.")
        return None
    parsed = parse_date(raw, ctx.date_format)
    if parsed is None:
        raise RowError(
            column,
            "malformed_date",
            f"{raw[:40]!r} is not a date ({_DATE_HINT.get(ctx.date_format, 'YYYY-MM-DD')}).",
        )
    return parsed


_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
# What nearly every cell of a million-row file looks like: no sign, symbol or separator.
_PLAIN_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,30})?")
_TOO_LARGE = Decimal(10) ** 15


@lru_cache(maxsize=256)
def _minor_units(code: str) -> tuple[int, Decimal]:
    digits = currency_digits(code)
    return digits, Decimal(1).scaleb(-digits)


_SYMBOLS = str.maketrans("", "", "$€£¥ \u00a0")


def amount(
    values: dict,
    column: str,
    code: str,
    *,
    required: bool = True,
    positive: bool = True,
    allow_zero: bool = False,
) -> Decimal | None:
    """A decimal amount in `code`'s minor units. Accepts "$1,250.00" and "(12.50)" forms that
    spreadsheets produce; never rounds silently."""
    raw = values.get(column, "").strip()
    if not raw:
        if required:
            raise RowError(column, "missing_value", f"{column} is empty.")
        return None
    value = Decimal(raw) if _PLAIN_AMOUNT.fullmatch(raw) else _spreadsheet_amount(raw, column)
    if positive and (value < 0 or (value == 0 and not allow_zero)):
        what = "zero or more" if allow_zero else "more than zero"
        raise RowError(column, "bad_amount", f"{column} must be {what} (got {raw[:40]}).")
    if abs(value) >= _TOO_LARGE:
        raise RowError(column, "bad_amount", f"{raw[:40]!r} is too large.")
    digits, unit = _minor_units(code)
    exponent = value.as_tuple().exponent
    if exponent == -digits:
        return value
    if -exponent > digits and value != value.quantize(unit):
        raise RowError(
            column,
            "too_many_decimals",
            f"{raw[:40]} has more decimal places than {code} allows ({digits}).",
        )
    return value.quantize(unit)


def _spreadsheet_amount(raw: str, column: str) -> Decimal:
    cleaned = raw.translate(_SYMBOLS)
    negative = cleaned.startswith("(") and cleaned.endswith(")")
    if negative:
        cleaned = cleaned[1:-1]
    if _THOUSANDS.match(cleaned.lstrip("-")):
        cleaned = cleaned.replace(",", "")
    try:
        value = Decimal(cleaned)
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite() or "e" in cleaned.lower():
        raise RowError(column, "bad_amount", f"{raw[:40]!r} is not an amount.")
    return -value if negative else value


def email(values: dict, column: str, *, required: bool = False) -> str:
    value = values.get(column, "").strip().lower()
    if not value:
        if required:
            raise RowError(column, "missing_value", f"{column} is empty.")
        return ""
    try:
        validate_email(value)
    except ValidationError as exc:
        raise RowError(column, "invalid_email", f"{value[:80]!r} is not an email address.") from exc
    if len(value) > 254:
        raise RowError(column, "invalid_email", "The email address is too long.")
    return value


_TRUE = {"true", "yes", "y", "1", "x", "primary"}
_FALSE = {"false", "no", "n", "0", ""}


def boolean(values: dict, column: str) -> bool | None:
    raw = values.get(column, "").strip().lower()
    if column not in values or raw == "":
        return None
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise RowError(column, "invalid_value", f"{raw[:20]!r} is not yes or no.")


# Words exports use for an invoice's state -> the status Plixo records on import.
INVOICE_STATUS_WORDS = {
    "open": "open",
    "unpaid": "open",
    "overdue": "open",
    "sent": "open",
    "due": "open",
    "outstanding": "open",
    "awaiting payment": "open",
    "authorised": "open",
    "authorized": "open",
    "partially paid": "open",
    "partial": "open",
    "partially_paid": "open",
    "paid": "paid",
    "closed": "paid",
    "settled": "paid",
    "void": "void",
    "voided": "void",
    "cancelled": "void",
    "canceled": "void",
}

PAYMENT_METHOD_WORDS = {
    **{value: value for value in PaymentMethod.values},
    "bank transfer": "wire",
    "transfer": "wire",
    "eft": "ach",
    "cheque": "check",
    "credit card": "card",
    "debit card": "card",
}


# --- rows -----------------------------------------------------------------------------------


def validate_invoices(values: dict, ctx: Context) -> dict:
    number = text(values, "invoice_number", required=True)
    external_id = text(values, "customer_external_id", required=True)
    name = text(values, "customer_name", required=True)
    issue = date(values, "issue_date", ctx)
    due = date(values, "due_date", ctx)
    code = currency(values)
    total = amount(values, "amount", code)
    balance = amount(values, "balance", code, required=False, allow_zero=True)
    word = " ".join(values.get("status", "").strip().lower().replace("_", " ").split())
    status = INVOICE_STATUS_WORDS.get(word or "open")
    if status is None:
        raise RowError(
            "status", "unknown_status", f"{word[:40]!r} is not a status (open, paid or void)."
        )
    paid = date(values, "paid_date", ctx, required=False)
    if due < issue:
        raise RowError(
            "due_date", "due_before_issue", f"The due date {due} is before the issue date {issue}."
        )
    if balance is not None and balance > total:
        raise RowError(
            "balance", "bad_amount", f"The balance {balance} is more than the amount {total}."
        )
    if status == "paid":
        balance = Decimal(0)
    elif status == "open" and balance == 0:
        status = "paid"
    return {
        "number": number,
        "customer_external_id": external_id,
        "customer_name": name,
        "issue_date": issue,
        "due_date": due,
        "currency": code,
        "amount": total,
        "balance": balance,
        "status": status,
        "paid_date": paid,
        "contact_email": email(values, "contact_email"),
        "contact_name": text(values, "contact_name"),
        "po_number": text(values, "po_number"),
        "segment": text(values, "segment"),
        "description": text(values, "description"),
    }


def validate_customers(values: dict, ctx: Context) -> dict:
    row = {
        "external_id": text(values, "customer_external_id", required=True),
        "name": text(values, "customer_name", required=True),
    }
    if "segment" in values and values["segment"].strip():
        row["segment"] = text(values, "segment")
    country = values.get("country", "").strip().upper()
    if country:
        if not re.fullmatch(r"[A-Z]{2}", country):
            raise RowError("country", "invalid_value", f"{country[:20]!r} is not an ISO country.")
        row["country"] = country
    if values.get("currency", "").strip():
        row["currency"] = currency(values)
    zone = values.get("time_zone", "").strip()
    if zone:
        try:
            validate_time_zone(zone)
        except ValidationError as exc:
            raise RowError(
                "time_zone", "invalid_value", f"{zone[:40]!r} is not a time zone."
            ) from exc
        row["time_zone"] = zone
    return row


def validate_contacts(values: dict, ctx: Context) -> dict:
    row = {
        "customer_external_id": text(values, "customer_external_id", required=True),
        "email": email(values, "email", required=True),
        "is_primary": boolean(values, "is_primary"),
    }
    for column in ("name", "role"):
        if values.get(column, "").strip():
            row[column] = text(values, column)
    return row


def validate_payments(values: dict, ctx: Context) -> dict:
    reference = text(values, "reference", required=True)
    code = currency(values)
    paid = amount(values, "amount", code)
    received = date(values, "received_date", ctx)
    word = " ".join(values.get("method", "").strip().lower().split())
    method = PAYMENT_METHOD_WORDS.get(word or "other")
    if method is None:
        raise RowError(
            "method",
            "unknown_method",
            f"{word[:40]!r} is not a payment method ({', '.join(PaymentMethod.values)}).",
        )
    return {
        "reference": reference,
        "currency": code,
        "amount": paid,
        "received_date": received,
        "invoice_number": text(values, "invoice_number"),
        "customer_external_id": text(values, "customer_external_id"),
        "method": method,
        "memo": text(values, "memo"),
    }


AGING_BUCKETS = ("current", "days_1_30", "days_31_60", "days_61_90", "days_over_90")


def validate_aging(values: dict, ctx: Context) -> dict:
    name = text(values, "customer_name", required=True)
    code = currency(values, default=ctx.default_currency)
    row = {
        "customer_name": name,
        "customer_external_id": text(values, "customer_external_id"),
        "currency": code,
        "total": amount(values, "total", code, positive=False),
    }
    for bucket in AGING_BUCKETS:
        row[bucket] = amount(values, bucket, code, required=False, positive=False) or Decimal(0)
    return row


VALIDATORS = {
    "invoices": validate_invoices,
    "customers": validate_customers,
    "contacts": validate_contacts,
    "payments": validate_payments,
    "aging": validate_aging,
}


def natural_keys(kind: str, row: dict) -> list[tuple[str, str]]:
    """(column, key) pairs that must be unique within one file."""
    if kind == "invoices":
        return [("invoice_number", f"inv:{row['number']}")]
    if kind == "customers":
        return [("customer_external_id", f"cus:{row['external_id']}")]
    if kind == "contacts":
        keys = [("email", f"con:{row['customer_external_id']}|{row['email']}")]
        if row["is_primary"]:
            keys.append(("is_primary", f"primary:{row['customer_external_id']}"))
        return keys
    if kind == "payments":
        return [("reference", f"pay:{row['reference']}")]
    if kind == "aging":
        return [("customer_name", f"age:{aging_key(row)}")]
    raise ValueError(kind)


def aging_key(row: dict) -> str:
    return row["customer_external_id"] or row["customer_name"].strip().lower()
