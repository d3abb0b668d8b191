"""Row validation: cells to clean Python values, or an error code naming what is wrong.

Each kind has a function `validate_<kind>(values, ctx) -> dict` that raises `RowError` for
the first problem in the row. These checks need nothing but the row itself; checks against the
database (unknown customer, conflicts) happen in `load`.
"""

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from plixo.core.models import validate_time_zone
from plixo.core.money import currency_digits, is_currency
from plixo.core.text import DATE_MAX, DATE_MIN, date_problem, text_problem
from plixo.imports.pipeline.numbers import not_an_amount, parse_number
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
    "conflicting_lines": "Lines of one invoice disagree",
    "incomplete_invoice": "Another line of the invoice was rejected",
    "ambiguous_dates": "Dates can be read two ways",
    "ambiguous_amounts": "Amounts can be read two ways",
    "not_allowed": "Not allowed for the uploader's role",
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
    date_format: str  # a DateFormat value (never "auto": detection settles it first)
    default_currency: str
    number_format: str = "point"  # a NumberFormat value (never "auto")
    customers_by_name: bool = False  # the file has no customer id column
    amount_from: str = "amount"  # "amount", "balance" or "lines" (see HeaderMap.amount_from)


# --- values ---------------------------------------------------------------------------------


MULTI_LINE_COLUMNS = {"description", "memo"}


def text(values: dict, column: str, *, required: bool = False) -> str:
    value = values.get(column, "").strip()
    if required and not value:
        raise RowError(column, "missing_value", f"{column} is empty.")
    limit = MAX_LENGTHS.get(column)
    if limit and len(value) > limit:
        raise RowError(column, "invalid_value", f"{column} is longer than {limit} characters.")
    if value and not value.isprintable():
        problem = text_problem(value, single_line=column not in MULTI_LINE_COLUMNS)
        if problem:
            raise RowError(column, "invalid_value", f"{column} {problem}.")
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
    if not DATE_MIN <= parsed <= DATE_MAX:
        raise RowError(column, "malformed_date", f"{raw[:40]!r}: the date {date_problem(parsed)}.")
    return parsed


# What nearly every cell of a million-row file looks like: no sign, symbol or separator.
_PLAIN_AMOUNT = re.compile(r"\d{1,15}(\.\d{1,30})?")
_TOO_LARGE = Decimal(10) ** 15


@lru_cache(maxsize=256)
def _minor_units(code: str) -> tuple[int, Decimal]:
    digits = currency_digits(code)
    return digits, Decimal(1).scaleb(-digits)


def amount(
    values: dict,
    column: str,
    code: str,
    ctx: Context | None = None,
    *,
    required: bool = True,
    positive: bool = True,
    allow_zero: bool = False,
) -> Decimal | None:
    """A decimal amount in `code`'s minor units, read in the file's number format: "$1,250.00",
    "1 250,00 €" and "(12.50)" are amounts; "1,23,4.5" is not. Never rounds silently."""
    raw = values.get(column, "").strip()
    if not raw:
        if required:
            raise RowError(column, "missing_value", f"{column} is empty.")
        return None
    number_format = ctx.number_format if ctx is not None else "point"
    if number_format == "point" and _PLAIN_AMOUNT.fullmatch(raw):
        value = Decimal(raw)
    else:
        value = parse_number(raw, number_format)
        if value is None:
            raise RowError(column, "bad_amount", not_an_amount(raw, number_format))
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
    "viewed": "open",
    "due": "open",
    "outstanding": "open",
    "awaiting payment": "open",
    "authorised": "open",
    "authorized": "open",
    "approved": "open",
    "issued": "open",
    "posted": "open",
    "disputed": "open",
    "partially paid": "open",
    "partial": "open",
    "part paid": "open",
    "partially_paid": "open",
    "paid": "paid",
    "paid in full": "paid",
    "fully paid": "paid",
    "closed": "paid",
    "settled": "paid",
    "deposited": "paid",
    "void": "void",
    "voided": "void",
    "cancelled": "void",
    "canceled": "void",
}
# States in which an invoice is not (or not yet, or no longer) a receivable: such rows are
# skipped, with the reason counted in the summary, instead of loaded.
SKIPPED_STATUS_WORDS = {
    "draft": "draft",
    "deleted": "deleted",
    "awaiting approval": "not_approved",
    "submitted": "not_approved",
    "pending approval": "not_approved",
    "rejected": "not_approved",
}
# Transaction types of receivables reports and exports: invoices load, the rest is skipped.
INVOICE_TYPE_WORDS = {
    "invoice",
    "sales invoice",
    "tax invoice",
    "customer invoice",
    "accrec",
    "inv",
    "si",
}
SKIPPED_TYPE_WORDS = {
    "credit note": "credit_note",
    "sales credit note": "credit_note",
    "credit memo": "credit_note",
    "credit": "credit_note",
    "accreccredit": "credit_note",
    "sc": "credit_note",
    "payment": "payment",
    "receive payment": "payment",
    "customer payment": "payment",
    "sales receipt": "not_an_invoice",
    "refund": "not_an_invoice",
    "refund receipt": "not_an_invoice",
    "deposit": "not_an_invoice",
    "journal": "not_an_invoice",
    "journal entry": "not_an_invoice",
    "general journal": "not_an_invoice",
    "statement charge": "not_an_invoice",
    "estimate": "not_an_invoice",
    "quote": "not_an_invoice",
    "finance charge": "not_an_invoice",
}
SKIP_REASONS = {
    "draft": "draft",
    "deleted": "deleted",
    "not_approved": "not approved yet",
    "credit_note": "credit note",
    "payment": "payment",
    "not_an_invoice": "not an invoice",
}


def _word(values: dict, column: str) -> str:
    return " ".join(values.get(column, "").strip().lower().replace("_", " ").split())


def customer_name_key(name: str) -> str:
    """How a customer's name is compared when a file has no customer id: case, spacing and
    punctuation aside ("ACME Corp." is "Acme  Corp"); apostrophes and full stops vanish
    ("O'Brien" is "OBrien"), other punctuation separates words ("Smith-Jones" is "Smith Jones")."""
    text = unicodedata.normalize("NFKC", name).casefold()
    text = re.sub(r"[.'’`]", "", text)
    text = re.sub(r"[\W_]+", " ", text)
    return " ".join(text.split())


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


def invoice_skip_reason(values: dict, status_word: str) -> str | None:
    """Why a row is not a receivable to load (a draft, a credit note …), or None."""
    kind = _word(values, "document_type") if values.get("document_type") else ""
    if kind and kind not in INVOICE_TYPE_WORDS:
        reason = SKIPPED_TYPE_WORDS.get(kind)
        if reason is None:
            raise RowError(
                "document_type",
                "invalid_value",
                f"{kind[:40]!r} is not a document type Plixo knows (an invoice, a credit note, "
                "a payment …).",
            )
        return reason
    return SKIPPED_STATUS_WORDS.get(status_word)


def validate_invoices(values: dict, ctx: Context) -> dict:
    word = _word(values, "status")
    skip = invoice_skip_reason(values, word)
    if skip:
        # Not a receivable: its other cells do not matter (a draft may have no number yet).
        return {"skip": skip}
    number = text(values, "invoice_number", required=True)
    name = text(values, "customer_name", required=True)
    if ctx.customers_by_name:
        external_id, key = "", customer_name_key(name)
        if not key:
            raise RowError(
                "customer_name",
                "invalid_value",
                f"{name[:40]!r} has no letters or digits to match a customer by.",
            )
    else:
        external_id = text(values, "customer_external_id", required=True)
        key = external_id
    issue = date(values, "issue_date", ctx)
    due = date(values, "due_date", ctx)
    code = currency(values, default=None if "currency" in values else ctx.default_currency)
    balance = amount(values, "balance", code, ctx, required=False, allow_zero=True)
    paid = amount(values, "amount_paid", code, ctx, required=False, allow_zero=True)
    line_amount = None
    if ctx.amount_from == "balance":
        total = amount(values, "balance", code, ctx)
    elif ctx.amount_from == "lines":
        # A line may be a discount (negative); the invoice's lines must add up to more than 0.
        line_amount = amount(values, "line_amount", code, ctx, positive=False)
        total = line_amount
    else:
        total = amount(values, "amount", code, ctx)
    status = INVOICE_STATUS_WORDS.get(word or "open")
    if status is None:
        raise RowError(
            "status", "unknown_status", f"{word[:40]!r} is not a status (open, paid or void)."
        )
    paid_on = date(values, "paid_date", ctx, required=False)
    if due < issue:
        raise RowError(
            "due_date", "due_before_issue", f"The due date {due} is before the issue date {issue}."
        )
    row = {
        "number": number,
        "customer_external_id": external_id,
        "customer_key": key,
        "customer_name": name,
        "issue_date": issue,
        "due_date": due,
        "currency": code,
        "amount": total,
        "balance": balance,
        "amount_paid": paid,
        "line_amount": line_amount,
        "status": status,
        "paid_date": paid_on,
        "contact_email": email(values, "contact_email"),
        "contact_name": text(values, "contact_name"),
        "po_number": text(values, "po_number"),
        "segment": text(values, "segment"),
        "description": text(values, "description"),
    }
    if ctx.amount_from != "lines":
        settle_invoice(row)
    return row


def settle_invoice(row: dict) -> dict:
    """Balance and status from the invoice's amount, what is due or paid and the status word
    (once the amount is known: a line-item file adds its lines up first)."""
    total, balance, paid = row["amount"], row["balance"], row["amount_paid"]
    if total <= 0:
        raise RowError(
            "line_amount", "bad_amount", f"The invoice's lines add up to {total}, not more than 0."
        )
    if balance is None and paid is not None:
        if paid > total:
            raise RowError(
                "amount_paid", "bad_amount", f"The amount paid {paid} is more than {total}."
            )
        balance = total - paid
    if balance is not None and balance > total:
        raise RowError(
            "balance", "bad_amount", f"The balance {balance} is more than the amount {total}."
        )
    if row["status"] == "paid":
        balance = Decimal(0)
    elif row["status"] == "open" and balance == 0:
        row["status"] = "paid"
    row["balance"] = balance
    return row


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
    paid = amount(values, "amount", code, ctx)
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
        "total": amount(values, "total", code, ctx, positive=False),
    }
    for bucket in AGING_BUCKETS:
        row[bucket] = amount(values, bucket, code, ctx, required=False, positive=False) or Decimal(
            0
        )
    return row


def validate_exchange_rates(values: dict, ctx: Context) -> dict:
    """One day's rate of one currency: 1 unit of `currency` is `rate` units of the
    organization's base currency (see `plixo.reports.models.ExchangeRate`)."""
    on = date(values, "date", ctx)
    code = currency(values)
    if code == ctx.default_currency:
        raise RowError(
            "currency", "invalid_value", f"{code} is the base currency: its rate is always 1."
        )
    raw = values.get("rate", "").strip()
    if not raw:
        raise RowError("rate", "missing_value", "rate is empty.")
    rate = parse_number(raw, ctx.number_format)
    if rate is None:
        raise RowError("rate", "bad_amount", not_an_amount(raw, ctx.number_format))
    if rate <= 0:
        raise RowError("rate", "bad_amount", f"{raw[:40]!r}: a rate must be more than zero.")
    if rate >= 10**13:
        raise RowError("rate", "bad_amount", f"{raw[:40]!r} is too large a rate.")
    if rate != rate.quantize(Decimal("1e-10")):
        raise RowError("rate", "too_many_decimals", f"{raw[:40]!r} has more than 10 decimals.")
    return {"on": on, "currency": code, "rate": rate}


VALIDATORS = {
    "invoices": validate_invoices,
    "customers": validate_customers,
    "contacts": validate_contacts,
    "payments": validate_payments,
    "aging": validate_aging,
    "exchange_rates": validate_exchange_rates,
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
    if kind == "exchange_rates":
        return [("date", f"fx:{row['on']}|{row['currency']}")]
    raise ValueError(kind)


def aging_key(row: dict) -> str:
    return row["customer_external_id"] or row["customer_name"].strip().lower()
