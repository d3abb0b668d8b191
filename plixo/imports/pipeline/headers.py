"""Canonical column names per kind, and the headers real exports use for them.

Headers match case-, space- and punctuation-insensitively ("Invoice #", "invoice_number",
"*InvoiceNumber" and "INVOICE NUMBER" are the same column). Aliases come from QuickBooks,
Xero, Zoho, FreshBooks and generic spreadsheet exports.
"""

import re
from dataclasses import dataclass, field

# The columns a reject log adds; they are ignored when a fixed reject log is uploaded again.
REJECT_LOG_COLUMNS = ("row_number", "column", "error_code", "message")


def is_reject_log_column(header: str) -> bool:
    return normalize(header).replace(" ", "_") in REJECT_LOG_COLUMNS


@dataclass(frozen=True)
class Column:
    name: str
    required: bool = False
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Schema:
    kind: str
    columns: tuple[Column, ...]
    # Aging exports from QuickBooks name the customer column with an empty header.
    blank_header: str | None = None
    _lookup: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self):
        for column in self.columns:
            for text in (column.name, *column.aliases):
                self._lookup.setdefault(normalize(text), column.name)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def canonical(self, header: str) -> str | None:
        return self._lookup.get(normalize(header))


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def normalize(header: str) -> str:
    text = _CAMEL.sub(" ", header.strip().lstrip("\ufeff"))
    text = text.lower().replace("#", " number ").replace("№", " number ")
    return " ".join(_NON_WORD.sub(" ", text).split())


CUSTOMER_ID_ALIASES = (
    "customer id",
    "customer number",
    "customer no",
    "customer code",
    "customer ref",
    "account number",
    "account id",
    "account no",
    "client id",
    "client number",
    "external id",
    "customer external id",
)
CUSTOMER_NAME_ALIASES = ("customer", "client", "client name", "company", "company name", "name")

SCHEMAS: dict[str, Schema] = {
    "invoices": Schema(
        "invoices",
        (
            Column(
                "invoice_number",
                True,
                (
                    "invoice #",
                    "invoice no",
                    "invoice num",
                    "num",
                    "no",
                    "number",
                    "doc number",
                    "document number",
                    "ref number",
                    "invoice ref",
                ),
            ),
            Column("customer_external_id", True, CUSTOMER_ID_ALIASES),
            Column("customer_name", True, CUSTOMER_NAME_ALIASES),
            Column(
                "issue_date",
                True,
                (
                    "invoice date",
                    "date",
                    "date issued",
                    "issued",
                    "issue date",
                    "txn date",
                    "transaction date",
                    "document date",
                    "invoiced on",
                ),
            ),
            Column("due_date", True, ("due", "due on", "payment due", "date due")),
            Column("currency", True, ("currency code", "curr", "ccy", "currency iso")),
            Column(
                "amount",
                True,
                (
                    "total",
                    "invoice amount",
                    "invoice total",
                    "total amount",
                    "grand total",
                    "original amount",
                    "amount gross",
                ),
            ),
            Column(
                "balance",
                False,
                (
                    "amount due",
                    "balance due",
                    "open balance",
                    "outstanding",
                    "amount outstanding",
                    "outstanding amount",
                ),
            ),
            Column("status", False, ("invoice status", "state")),
            Column(
                "paid_date",
                False,
                ("date paid", "paid on", "settled date", "last payment date", "payment date"),
            ),
            Column("contact_email", False, ("email", "email address", "billing email", "e mail")),
            Column("contact_name", False, ("contact", "attention", "attn")),
            Column(
                "po_number", False, ("po", "po number", "purchase order", "p o number", "reference")
            ),
            Column("segment", False, ("customer segment", "customer type", "customer group")),
            Column("description", False, ("memo", "notes", "item description", "details")),
        ),
    ),
    "customers": Schema(
        "customers",
        (
            Column("customer_external_id", True, CUSTOMER_ID_ALIASES),
            Column("customer_name", True, CUSTOMER_NAME_ALIASES + ("display name",)),
            Column("segment", False, ("customer segment", "customer type", "customer group")),
            Column("country", False, ("country code", "billing country")),
            Column("currency", False, ("currency code", "curr", "ccy")),
            Column("time_zone", False, ("timezone", "tz")),
        ),
    ),
    "contacts": Schema(
        "contacts",
        (
            Column("customer_external_id", True, CUSTOMER_ID_ALIASES),
            Column("email", True, ("email address", "contact email", "e mail")),
            Column("name", False, ("contact name", "full name", "contact")),
            Column("role", False, ("title", "job title", "contact role")),
            Column("is_primary", False, ("primary", "primary contact", "main contact")),
        ),
    ),
    "payments": Schema(
        "payments",
        (
            Column(
                "reference",
                True,
                (
                    "payment reference",
                    "payment ref",
                    "payment id",
                    "payment number",
                    "transaction id",
                    "check number",
                    "ref",
                ),
            ),
            Column("amount", True, ("payment amount", "amount paid", "amount received", "paid")),
            Column("currency", True, ("currency code", "curr", "ccy")),
            Column(
                "received_date",
                True,
                ("payment date", "date", "date received", "received", "received on", "paid on"),
            ),
            Column("invoice_number", False, ("invoice #", "invoice no", "invoice", "num")),
            Column("customer_external_id", False, CUSTOMER_ID_ALIASES),
            Column("method", False, ("payment method", "payment type", "type")),
            Column("memo", False, ("description", "notes", "remittance")),
        ),
    ),
    "aging": Schema(
        "aging",
        (
            Column("customer_name", True, CUSTOMER_NAME_ALIASES),
            Column("customer_external_id", False, CUSTOMER_ID_ALIASES),
            Column("currency", False, ("currency code", "curr", "ccy")),
            Column("current", False, ("not due", "current due")),
            Column("days_1_30", False, ("1 30", "1 30 days", "1 to 30", "0 30", "30")),
            Column("days_31_60", False, ("31 60", "31 60 days", "31 to 60", "60")),
            Column("days_61_90", False, ("61 90", "61 90 days", "61 to 90", "90")),
            Column(
                "days_over_90",
                False,
                ("91 and over", "over 90", "91", "90 and over", "91 days and over", "older"),
            ),
            Column("total", True, ("balance", "total due", "amount due", "open balance")),
        ),
        blank_header="customer_name",
    ),
}


@dataclass
class HeaderMap:
    """Where each canonical column sits in the file's rows."""

    schema: Schema
    headers: list[str]  # as in the file
    positions: dict[str, int]  # canonical name -> index of its cell
    unmapped: list[str]  # file headers that map to nothing (and are not reject-log columns)
    duplicates: list[str]  # canonical names claimed by two file headers
    is_reject_log: bool

    @property
    def missing(self) -> list[str]:
        return [name for name in self.schema.required if name not in self.positions]

    def rows(self) -> list[dict]:
        """For the preview: every canonical column with the file header feeding it."""
        return [
            {
                "name": c.name,
                "required": c.required,
                "header": self.headers[self.positions[c.name]]
                if c.name in self.positions
                else None,
            }
            for c in self.schema.columns
        ]


def header_map(schema: Schema, headers: list[str]) -> HeaderMap:
    positions: dict[str, int] = {}
    unmapped, duplicates = [], []
    reject_columns = 0
    for index, header in enumerate(headers):
        if is_reject_log_column(header):
            reject_columns += 1
            continue
        name = schema.canonical(header)
        if name is None and not header.strip() and schema.blank_header and index == 0:
            name = schema.blank_header
        if name is None:
            if header.strip():
                unmapped.append(header)
            continue
        if name in positions:
            # The exact canonical name wins over an alias.
            if normalize(header) == normalize(name):
                positions[name] = index
            duplicates.append(name)
            continue
        positions[name] = index
    return HeaderMap(
        schema=schema,
        headers=headers,
        positions=positions,
        unmapped=unmapped,
        duplicates=duplicates,
        is_reject_log=reject_columns == len(REJECT_LOG_COLUMNS),
    )


HEADER_SEARCH_LINES = 10


def find_header(schema: Schema, first_records: list[list[str]]) -> tuple[int, HeaderMap] | None:
    """The header among the first records: exports often open with a title, the company name
    and a date. The first record that names every required column wins; failing that, the
    first non-blank record (so the error names what is missing from the real header)."""
    fallback = None
    for index, cells in enumerate(first_records[:HEADER_SEARCH_LINES]):
        if not any(cell.strip() for cell in cells):
            continue
        mapped = header_map(schema, cells)
        if not mapped.missing:
            return index, mapped
        if fallback is None:
            fallback = (index, mapped)
    return fallback
