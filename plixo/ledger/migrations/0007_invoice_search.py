"""Text search over invoices and customers that does not read every row.

SQLite: FTS5 indexes with the trigram tokenizer over the invoice number, PO number and
description and over the customer name and external id, stored as external-content tables over
`ledger_invoice` and `ledger_customer` (the text is not copied) and kept in step by triggers. PostgreSQL: trigram GIN indexes (pg_trgm) on the same columns and
on customer names and external ids, on `UPPER(column)` as Django's `icontains` compares.
"""

from django.db import migrations

SQLITE = [
    "CREATE VIRTUAL TABLE ledger_invoice_search USING fts5("
    "number, po_number, description, content='ledger_invoice', content_rowid='id', "
    "tokenize='trigram')",
    "CREATE TRIGGER ledger_invoice_search_insert AFTER INSERT ON ledger_invoice BEGIN "
    "INSERT INTO ledger_invoice_search(rowid, number, po_number, description) "
    "VALUES (new.id, new.number, new.po_number, new.description); END",
    "CREATE TRIGGER ledger_invoice_search_delete AFTER DELETE ON ledger_invoice BEGIN "
    "INSERT INTO ledger_invoice_search(ledger_invoice_search, rowid, number, po_number, "
    "description) VALUES ('delete', old.id, old.number, old.po_number, old.description); END",
    "CREATE TRIGGER ledger_invoice_search_update AFTER UPDATE OF number, po_number, description "
    "ON ledger_invoice BEGIN "
    "INSERT INTO ledger_invoice_search(ledger_invoice_search, rowid, number, po_number, "
    "description) VALUES ('delete', old.id, old.number, old.po_number, old.description); "
    "INSERT INTO ledger_invoice_search(rowid, number, po_number, description) "
    "VALUES (new.id, new.number, new.po_number, new.description); END",
    "INSERT INTO ledger_invoice_search(ledger_invoice_search) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE ledger_customer_search USING fts5("
    "name, external_id, content='ledger_customer', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER ledger_customer_search_insert AFTER INSERT ON ledger_customer BEGIN "
    "INSERT INTO ledger_customer_search(rowid, name, external_id) "
    "VALUES (new.id, new.name, new.external_id); END",
    "CREATE TRIGGER ledger_customer_search_delete AFTER DELETE ON ledger_customer BEGIN "
    "INSERT INTO ledger_customer_search(ledger_customer_search, rowid, name, external_id) "
    "VALUES ('delete', old.id, old.name, old.external_id); END",
    "CREATE TRIGGER ledger_customer_search_update AFTER UPDATE OF name, external_id "
    "ON ledger_customer BEGIN "
    "INSERT INTO ledger_customer_search(ledger_customer_search, rowid, name, external_id) "
    "VALUES ('delete', old.id, old.name, old.external_id); "
    "INSERT INTO ledger_customer_search(rowid, name, external_id) "
    "VALUES (new.id, new.name, new.external_id); END",
    "INSERT INTO ledger_customer_search(ledger_customer_search) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_customer_search_insert",
    "DROP TRIGGER IF EXISTS ledger_customer_search_delete",
    "DROP TRIGGER IF EXISTS ledger_customer_search_update",
    "DROP TABLE IF EXISTS ledger_customer_search",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_insert",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_delete",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_update",
    "DROP TABLE IF EXISTS ledger_invoice_search",
]
POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    *(
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (UPPER({column}) gin_trgm_ops)"
        for name, table, column in (
            ("invoice_search_number", "ledger_invoice", "number"),
            ("invoice_search_po_number", "ledger_invoice", "po_number"),
            ("invoice_search_description", "ledger_invoice", "description"),
            ("customer_search_name", "ledger_customer", "name"),
            ("customer_search_external_id", "ledger_customer", "external_id"),
        )
    ),
]
POSTGRES_REVERSE = [
    f"DROP INDEX IF EXISTS {name}"
    for name in (
        "invoice_search_number",
        "invoice_search_po_number",
        "invoice_search_description",
        "customer_search_name",
        "customer_search_external_id",
    )
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor, [])
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_invoice_list_indexes")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
