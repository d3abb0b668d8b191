"""Files with one row per line item: the rows of one invoice become one invoice.

Xero, Zoho Books and FreshBooks export an invoice as one row per line, each row repeating the
invoice's own fields (customer, dates, currency, total, what is due, status). The rows of an
invoice follow each other, so they are gathered while the invoice number stays the same
(`Group`) and checked to agree on those fields: if they do, the first row is the invoice and
the others are its lines; if they do not, no row can be trusted and every row of the invoice is
rejected as `conflicting_lines`, naming the rows and what differs. A file without an invoice
total (FreshBooks' Invoice Details) has the invoice's amount as the sum of its line amounts;
there a rejected line leaves the invoice without its total, so its other rows are rejected too
(`incomplete_invoice`).

An invoice's rows that turn up again further down the file are lines of an invoice already
read: with the same invoice fields they are merged as well (the check is a digest kept with the
import's keys, so memory stays flat), with others they conflict.
"""

import hashlib
from dataclasses import dataclass, field

from plixo.imports.pipeline.load import Pending
from plixo.imports.pipeline.validate import RowError, settle_invoice

# Lines kept in memory for one invoice; an invoice with more is cut into groups (its further
# rows are then checked as repeats).
MAX_GROUP_ROWS = 10_000
INVOICE_FIELDS = ("customer_key", "issue_date", "due_date", "currency", "status")
LABELS = {
    "customer_key": "customer",
    "issue_date": "issue date",
    "due_date": "due date",
    "currency": "currency",
    "status": "status",
    "amount": "total",
    "balance": "amount due",
    "amount_paid": "amount paid",
}


def invoice_fields(row: dict, *, summed: bool) -> tuple:
    """What every row of one invoice repeats. The amount is the invoice total, the same on
    every line, except where the lines are what adds up to it."""
    names = INVOICE_FIELDS if summed else (*INVOICE_FIELDS, "amount")
    return tuple((name, str(row[name])) for name in (*names, "balance", "amount_paid"))


def fields_digest(row: dict, *, summed: bool) -> str:
    text = "\x1f".join(value for _, value in invoice_fields(row, summed=summed))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def rows_text(lines: list[int]) -> str:
    lines = sorted(lines)
    if len(lines) == 1:
        return f"row {lines[0]}"
    shown = ", ".join(str(n) for n in lines[:-1][:20])
    more = " …" if len(lines) > 21 else ""
    return f"rows {shown}{more} and {lines[-1]}"


@dataclass
class Group:
    """The adjacent rows of one invoice number, each validated (a Pending) or rejected."""

    number: str
    valid: list[Pending] = field(default_factory=list)
    failed: list[tuple[int, list[str], RowError]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.valid) + len(self.failed)

    def close(self, *, summed: bool) -> tuple[Pending | None, list[tuple[int, list, RowError]]]:
        """The invoice (its first good row, carrying the others as members) and the rows
        rejected, each with its error."""
        rejects = list(self.failed)
        if not self.valid:
            return None, rejects
        head = self.valid[0]
        differing = self._differing(summed=summed)
        if differing:
            error = RowError("invoice_number", "conflicting_lines", self._conflict(differing))
            return None, rejects + [(p.line, p.cells, error) for p in self.valid]
        if summed:
            if self.failed:
                bad = [line for line, _, _ in self.failed]
                error = RowError(
                    "invoice_number",
                    "incomplete_invoice",
                    f"Invoice {self.number} is the sum of its lines, and its line on "
                    f"{rows_text(bad)} was rejected; fix that line and upload every line of "
                    "the invoice again.",
                )
                return None, rejects + [(p.line, p.cells, error) for p in self.valid]
            head.row["amount"] = sum(p.row["line_amount"] for p in self.valid)
            try:
                settle_invoice(head.row)
            except RowError as error:
                return None, [(p.line, p.cells, error) for p in self.valid]
        head.members = [(p.line, p.cells) for p in self.valid[1:]]
        return head, rejects

    def _differing(self, *, summed: bool) -> list[str]:
        first = dict(invoice_fields(self.valid[0].row, summed=summed))
        names = []
        for pending in self.valid[1:]:
            for name, value in invoice_fields(pending.row, summed=summed):
                if value != first[name] and name not in names:
                    names.append(name)
        return names

    def _conflict(self, names: list[str]) -> str:
        lines = [p.line for p in self.valid]
        name = names[0]
        values: dict[str, list[int]] = {}
        for pending in self.valid:
            values.setdefault(_shown(pending.row, name), []).append(pending.line)
        detail = "; ".join(f"{value} on {rows_text(rows)}" for value, rows in values.items())
        return (
            f"{rows_text(lines).capitalize()} are lines of invoice {self.number} but disagree on "
            f"its {', '.join(LABELS[n] for n in names)} ({LABELS[name]}: {detail}). Correct "
            "the rows so that they agree, then upload them again."
        )


def _shown(row: dict, name: str) -> str:
    if name == "customer_key":
        return repr(row["customer_name"])
    value = row[name]
    return "empty" if value is None else str(value)
