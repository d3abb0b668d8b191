"""Payments found without reading them all: text search over the reference (SQLite FTS5 with
the trigram tokenizer as an external-content table kept in step by triggers; PostgreSQL a
trigram GIN index on `UPPER(reference)` as `icontains` compares), and a partial index of the
payments with cash still to apply, newest first, for "With unapplied cash only"."""

from django.db import migrations, models

SQLITE = [
    "CREATE VIRTUAL TABLE ledger_payment_search USING fts5("
    "reference, content='ledger_payment', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER ledger_payment_search_insert AFTER INSERT ON ledger_payment BEGIN "
    "INSERT INTO ledger_payment_search(rowid, reference) VALUES (new.id, new.reference); END",
    "CREATE TRIGGER ledger_payment_search_delete AFTER DELETE ON ledger_payment BEGIN "
    "INSERT INTO ledger_payment_search(ledger_payment_search, rowid, reference) "
    "VALUES ('delete', old.id, old.reference); END",
    "CREATE TRIGGER ledger_payment_search_update AFTER UPDATE OF reference ON ledger_payment "
    "WHEN old.reference != new.reference BEGIN "
    "INSERT INTO ledger_payment_search(ledger_payment_search, rowid, reference) "
    "VALUES ('delete', old.id, old.reference); "
    "INSERT INTO ledger_payment_search(rowid, reference) VALUES (new.id, new.reference); END",
    "INSERT INTO ledger_payment_search(ledger_payment_search) VALUES ('rebuild')",
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS ledger_payment_search_insert",
    "DROP TRIGGER IF EXISTS ledger_payment_search_delete",
    "DROP TRIGGER IF EXISTS ledger_payment_search_update",
    "DROP TABLE IF EXISTS ledger_payment_search",
]
POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS payment_search_reference ON ledger_payment "
    "USING gin (UPPER(reference) gin_trgm_ops)",
]
POSTGRES_REVERSE = ["DROP INDEX IF EXISTS payment_search_reference"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0009_time_ordered_ids_fewer_indexes")]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRES_REVERSE}),
        ),
        migrations.AddIndex(
            model_name="payment",
            index=models.Index(
                models.F("organization"),
                models.F("received_at").desc(),
                models.F("id").desc(),
                condition=models.Q(
                    allocated_amount__lt=models.F("amount") - models.F("refunded_amount")
                ),
                name="payment_unapplied",
            ),
        ),
    ]
