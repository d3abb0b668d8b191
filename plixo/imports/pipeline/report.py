"""The furniture of a report exported as CSV, told apart from its rows.

Accounting products export reports as they print them: a company name, a title and a date range
above the header (`headers.find_header` skips those), and below it group headings ("Current",
"1 - 30 days past due", a customer's name), subtotal lines ("Total for Current", "Total Acme
Ltd"), a grand total ("TOTAL") and a blank line with the time the report was run. None of
these is a row: none has the row's key (an invoice number, a payment reference), and each is
either a single cell or a line that starts with "Total". They are skipped and counted, not
rejected.

A report grouped by customer (QuickBooks' Open Invoices) names the customer only in the group
heading, in a first column that has no header; its rows inherit that name. A row of such a
report written back into a reject log carries the name in that first column, so the fixed
rows load again without their headings.
"""

from plixo.imports.pipeline.headers import HeaderMap

# The column without which a line is not a row, per kind (kinds not listed have no furniture).
KEY_COLUMNS = {"invoices": "invoice_number", "payments": "reference"}
GRAND_TOTALS = {"total", "totals", "grand total"}


class ReportLayout:
    def __init__(self, mapping: HeaderMap, kind: str):
        self.key = mapping.positions.get(KEY_COLUMNS.get(kind, ""))
        self.groups = mapping.customer_from_group
        self.group = ""  # the heading above the rows being read

    def is_furniture(self, cells: list[str]) -> bool:
        """A heading, a total or a footer line; reading it moves the current group."""
        if self.key is None:
            return False
        if self.key < len(cells) and cells[self.key].strip():
            return False
        filled = [(i, cell.strip()) for i, cell in enumerate(cells) if cell.strip()]
        if not filled:
            return False
        index, first = filled[0]
        if len(filled) == 1:
            if first.lower() in GRAND_TOTALS:
                self.group = ""
            elif self.groups and index == 0:
                self.group = first
            return True
        if first.lower().startswith("total"):
            if index == 0:
                self.group = ""  # the group's subtotal closes it
            return True
        return False

    def customer(self, cells: list[str]) -> str:
        """The customer of a row in a report grouped by customer."""
        own = cells[0].strip() if cells else ""
        return own or self.group

    def as_logged(self, cells: list[str] | None) -> list[str] | None:
        """The row for the reject log: in a grouped report, with its customer filled in."""
        if not self.groups or not cells or cells[0].strip() or not self.group:
            return cells
        return [self.group, *cells[1:]]
