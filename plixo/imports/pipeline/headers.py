"""Canonical column names per kind, and the headers real exports use for them.

Headers match case-, space- and punctuation-insensitively ("Invoice #", "invoice_number",
"*InvoiceNumber" and "INVOICE NUMBER" are the same column). Aliases come from QuickBooks,
Xero, Zoho Books, FreshBooks, NetSuite, Sage and generic spreadsheet exports.

Accounting products leave out some of Plixo's required invoice columns, and an invoice file may
do without them when the rest is there: without a customer id the customer's name is the key,
without a currency column the organization's base currency is meant, without an invoice total
the open balance (an open-invoices report) or the sum of the invoice's lines (a line-item
report) is the amount, and a report grouped by customer names the customer in a heading line
above its invoices instead of in a column.
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
    # Required columns a file may leave out, and what stands in for each (see `HeaderMap`).
    substitutes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Columns of one line of an invoice: their presence makes the file one row per line item.
    line_columns: tuple[str, ...] = ()
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
    "account ref",
    "account reference",
    "contact reference",
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
                    "date of issue",
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
                    "invoice amount due",
                    "amount remaining",
                ),
            ),
            Column(
                "amount_paid",
                False,
                ("invoice amount paid", "amount paid", "paid", "paid amount", "payments"),
            ),
            Column("status", False, ("invoice status", "state", "payment status")),
            Column(
                "document_type",
                False,
                ("type", "transaction type", "document type", "txn type", "invoice type"),
            ),
            Column(
                "paid_date",
                False,
                (
                    "date paid",
                    "paid on",
                    "settled date",
                    "last payment date",
                    "payment date",
                    "fully paid on date",
                ),
            ),
            Column("contact_email", False, ("email", "email address", "billing email", "e mail")),
            Column("contact_name", False, ("contact", "attention", "attn")),
            Column(
                "po_number", False, ("po", "po number", "purchase order", "p o number", "reference")
            ),
            Column("segment", False, ("customer segment", "customer type", "customer group")),
            Column(
                "description", False, ("memo", "notes", "item description", "details", "item desc")
            ),
            # One line of the invoice. Plixo keeps invoices, not their lines: these columns only
            # tell that rows repeat an invoice once per line, and `line_amount` adds up to the
            # invoice's amount when the file has no invoice total.
            Column(
                "item",
                False,
                ("inventory item code", "item code", "item name", "product service", "sku"),
            ),
            Column("quantity", False, ("qty",)),
            Column("unit_price", False, ("unit amount", "rate", "item price", "price")),
            Column("line_amount", False, ("line total", "item total", "line amount")),
        ),
        substitutes={
            "customer_external_id": ("customer_name",),
            "customer_name": ("@group",),
            "currency": ("@base_currency",),
            "amount": ("balance", "line_amount"),
        },
        line_columns=("item", "quantity", "unit_price", "line_amount"),
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
    "exchange_rates": Schema(
        "exchange_rates",
        (
            Column("date", True, ("rate date", "day", "as of", "effective date")),
            Column("currency", True, ("currency code", "curr", "ccy", "code")),
            Column("rate", True, ("exchange rate", "fx rate", "value")),
        ),
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
    # The customer's name comes from the report's group headings (first column, no header).
    customer_from_group: bool = False
    # The file's contact name column names the customer (Xero and Sage call customers contacts).
    customer_from_contact: bool = False

    def _available(self, name: str) -> bool:
        if name == "@group":
            return self.customer_from_group
        if name == "@base_currency":
            return True
        if name in self.positions:
            return True
        return any(self._available(other) for other in self.schema.substitutes.get(name, ()))

    @property
    def unsatisfied(self) -> list[str]:
        """Required columns that are neither in the file nor stood in for."""
        return [
            name
            for name in self.schema.required
            if name not in self.positions
            and not any(self._available(o) for o in self.schema.substitutes.get(name, ()))
        ]

    @property
    def missing(self) -> list[str]:
        """Empty when the file can load. Otherwise every required column the file lacks, those
        that could have been left out included, so the message shows the whole picture."""
        if not self.unsatisfied:
            return []
        return [name for name in self.schema.required if name not in self.positions]

    @property
    def customers_by_name(self) -> bool:
        return "customer_external_id" in self.schema.required and (
            "customer_external_id" not in self.positions
        )

    @property
    def base_currency(self) -> bool:
        return "currency" in self.schema.substitutes and "currency" not in self.positions

    @property
    def amount_from(self) -> str:
        """Where an invoice's amount comes from: its `amount` column, its `balance` (an
        open-invoices report), or the sum of its `lines`."""
        if "amount" in self.positions or "amount" not in self.schema.substitutes:
            return "amount"
        return "balance" if "balance" in self.positions else "lines"

    @property
    def line_items(self) -> bool:
        """One row per line item: rows of an invoice repeat its invoice-level fields."""
        return any(name in self.positions for name in self.schema.line_columns)

    def rows(self) -> list[dict]:
        """For the preview: every canonical column with the file header feeding it, or what
        stands in for a required column the file leaves out."""
        return [
            {
                "name": c.name,
                "required": c.required,
                "header": self.headers[self.positions[c.name]]
                if c.name in self.positions
                else None,
                "instead": self._instead(c.name) if not self.unsatisfied else "",
            }
            for c in self.schema.columns
        ]

    def _instead(self, name: str) -> str:
        if name in self.positions or name not in self.schema.substitutes:
            return ""
        if name == "customer_external_id":
            return "not in file: customers are matched by name"
        if name == "customer_name" and self.customer_from_group:
            return "the group headings of the report (first column)"
        if name == "currency":
            return "not in file: your organization's base currency"
        if name == "amount":
            if self.amount_from == "balance":
                return "not in file: the open balance is the amount"
            return "not in file: the sum of the invoice's line amounts"
        return ""


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
            # The exact canonical name wins over an alias, except where a report gives both an
            # invoice's open balance and the customer's running "Balance" (QuickBooks' Customer
            # Balance Detail): the invoice's own figure is the one meant.
            held = normalize(headers[positions[name]])
            exact = normalize(header) == normalize(name) and held != "open balance"
            if exact or (name == "balance" and normalize(header) == "open balance"):
                positions[name] = index
            duplicates.append(name)
            continue
        positions[name] = index
    from_contact = from_group = False
    if "customer_name" in schema.substitutes and "customer_name" not in positions:
        if "contact_name" in positions:
            # Without a customer column, the contact is the customer: Xero's ContactName and
            # Sage's Contact Name are the customer the invoice is addressed to.
            positions["customer_name"] = positions.pop("contact_name")
            from_contact = True
        elif headers and not headers[0].strip():
            from_group = True
    return HeaderMap(
        schema=schema,
        headers=headers,
        positions=positions,
        unmapped=unmapped,
        duplicates=duplicates,
        is_reject_log=reject_columns == len(REJECT_LOG_COLUMNS),
        customer_from_group=from_group,
        customer_from_contact=from_contact,
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


SUBSTITUTE_TEXT = {
    "customer_external_id": "customer_external_id (customers are then matched by name)",
    "customer_name": "customer_name (when the report names the customer in group headings)",
    "currency": "currency (your organization's base currency is then meant)",
    "amount": "amount (the open balance, or the sum of line amounts, is then the amount)",
}


def missing_columns_text(mapping: HeaderMap) -> str:
    missing = mapping.missing
    return f"Required column{'s' if len(missing) > 1 else ''} missing: {', '.join(missing)}."


def substitutes_text(mapping: HeaderMap) -> str:
    """What of the missing columns a file could have done without, and what it cannot."""
    optional = [SUBSTITUTE_TEXT[n] for n in mapping.missing if n in mapping.schema.substitutes]
    if not optional:
        return ""
    return f" A file may leave out {', '.join(optional)}, but not {', '.join(mapping.unsatisfied)}."
