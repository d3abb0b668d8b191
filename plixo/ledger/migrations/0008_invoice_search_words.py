"""Invoice descriptions are searched by word, not by any three letters.

A trigram index over free text costs a posting per three characters of every description: it
made an import of 100,000 invoices three times slower. Numbers and PO numbers keep their
trigram index (a number's tail is what people type); descriptions get a word index, matched by
word prefix ("hard" finds "Hardware shipment").

SQLite: the trigram table now covers number and PO number only, and a second FTS5 table with
the default word tokenizer covers descriptions, both kept by triggers. PostgreSQL: the trigram
index on descriptions becomes a full-text GIN index on `to_tsvector('simple', description)`.
"""

from importlib import import_module

from django.db import migrations

_previous = import_module("plixo.ledger.migrations.0007_invoice_search")

SQLITE = [
    "DROP TRIGGER IF EXISTS ledger_invoice_search_insert",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_delete",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_update",
    "DROP TABLE IF EXISTS ledger_invoice_search",
    "CREATE VIRTUAL TABLE ledger_invoice_search USING fts5("
    "number, po_number, content='ledger_invoice', content_rowid='id', tokenize='trigram')",
    "CREATE VIRTUAL TABLE ledger_invoice_words USING fts5("
    "description, content='ledger_invoice', content_rowid='id')",
    "CREATE TRIGGER ledger_invoice_search_insert AFTER INSERT ON ledger_invoice BEGIN "
    "INSERT INTO ledger_invoice_search(rowid, number, po_number) "
    "VALUES (new.id, new.number, new.po_number); "
    "INSERT INTO ledger_invoice_words(rowid, description) "
    "SELECT new.id, new.description WHERE new.description != ''; END",
    "CREATE TRIGGER ledger_invoice_search_delete AFTER DELETE ON ledger_invoice BEGIN "
    "INSERT INTO ledger_invoice_search(ledger_invoice_search, rowid, number, po_number) "
    "VALUES ('delete', old.id, old.number, old.po_number); "
    "INSERT INTO ledger_invoice_words(ledger_invoice_words, rowid, description) "
    "SELECT 'delete', old.id, old.description WHERE old.description != ''; END",
    "CREATE TRIGGER ledger_invoice_search_update AFTER UPDATE OF number, po_number "
    "ON ledger_invoice WHEN old.number != new.number OR old.po_number != new.po_number BEGIN "
    "INSERT INTO ledger_invoice_search(ledger_invoice_search, rowid, number, po_number) "
    "VALUES ('delete', old.id, old.number, old.po_number); "
    "INSERT INTO ledger_invoice_search(rowid, number, po_number) "
    "VALUES (new.id, new.number, new.po_number); END",
    "CREATE TRIGGER ledger_invoice_words_update AFTER UPDATE OF description "
    "ON ledger_invoice WHEN old.description != new.description BEGIN "
    "INSERT INTO ledger_invoice_words(ledger_invoice_words, rowid, description) "
    "SELECT 'delete', old.id, old.description WHERE old.description != ''; "
    "INSERT INTO ledger_invoice_words(rowid, description) "
    "SELECT new.id, new.description WHERE new.description != ''; END",
    "INSERT INTO ledger_invoice_search(ledger_invoice_search) VALUES ('rebuild')",
    "INSERT INTO ledger_invoice_words(rowid, description) "
    "SELECT id, description FROM ledger_invoice WHERE description != ''",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_invoice_words_update",
    "DROP TABLE IF EXISTS ledger_invoice_words",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_insert",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_delete",
    "DROP TRIGGER IF EXISTS ledger_invoice_search_update",
    "DROP TABLE IF EXISTS ledger_invoice_search",
    # then 0007's invoice statements again (its customer table is untouched here)
    *[s for s in _previous.SQLITE if "ledger_customer_search" not in s],
]
POSTGRES = [
    "DROP INDEX IF EXISTS invoice_search_description",
    "CREATE INDEX IF NOT EXISTS invoice_words_description ON ledger_invoice "
    "USING gin (to_tsvector('simple'::regconfig, description))",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS invoice_words_description",
    *[s for s in _previous.POSTGRES if "invoice_search_description" in s],
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_invoice_search")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        )
    ]
