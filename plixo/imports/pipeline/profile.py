"""What Plixo makes of a file's shape, in words for the preview and the import summary: which
required columns it does without and what stands in for them, and whether its rows are line
items."""

from plixo.imports.pipeline.headers import HeaderMap


def file_notes(mapping: HeaderMap, *, base_currency: str) -> list[str]:
    if mapping.schema.kind != "invoices" or mapping.missing:
        return []
    notes = []
    if mapping.customers_by_name:
        notes.append("Customers matched by name: no customer id column.")
    if mapping.customer_from_contact:
        header = mapping.headers[mapping.positions["customer_name"]].strip()
        notes.append(
            f"Customer names from the {header!r} column (the file has no customer name or id "
            "column of its own)."
        )
    if mapping.customer_from_group:
        notes.append("Customer names from the report's group headings (its first column).")
    if mapping.base_currency:
        notes.append(
            f"No currency column: amounts are in {base_currency}, your organization's base "
            "currency."
        )
    if mapping.amount_from == "balance":
        notes.append("No invoice total column: each invoice's amount is its open balance.")
    elif mapping.amount_from == "lines":
        notes.append(
            "No invoice total column: each invoice's amount is the sum of its line amounts."
        )
    if mapping.line_items:
        notes.append(
            "One row per line item: the rows of an invoice are merged into one invoice when "
            "they agree on its customer, dates, currency, total and status."
        )
    return notes
