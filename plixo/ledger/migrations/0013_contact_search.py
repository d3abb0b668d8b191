"""Contacts found by name or email without reading them all on PostgreSQL: trigram GIN indexes
on `UPPER(name)` and `UPPER(email)`, as `icontains` compares (the API's contact search). SQLite
reads its contacts' index quickly enough at this size and gets none."""

from django.db import migrations

POSTGRES = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS contact_search_name ON ledger_contact "
    "USING gin (UPPER(name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS contact_search_email ON ledger_contact "
    "USING gin (UPPER(email) gin_trgm_ops)",
]
POSTGRES_REVERSE = [
    "DROP INDEX IF EXISTS contact_search_name",
    "DROP INDEX IF EXISTS contact_search_email",
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for statement in statements:
                schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0012_payment_list_order")]

    operations = [migrations.RunPython(_run(POSTGRES), _run(POSTGRES_REVERSE))]
