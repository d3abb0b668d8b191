"""The SQLite search indexes' triggers, restored after every `migrate`.

SQLite drops a table's triggers when a migration rebuilds the table (which Django does for many
column changes), and the FTS5 indexes of migrations 0007-0008 would then silently stop following
the invoices and customers. `ensure_triggers` recreates any that are missing (`IF NOT EXISTS`);
the ledger's app config runs it after each migrate. The statements are those of the latest
migration that defines them (0008 for invoices, 0007 for customers, 0010 for payments).
"""

from django.db import connections

TRIGGERS = [
    "CREATE TRIGGER IF NOT EXISTS ledger_invoice_search_insert AFTER INSERT ON ledger_invoice "
    "BEGIN INSERT INTO ledger_invoice_search(rowid, number, po_number) "
    "VALUES (new.id, new.number, new.po_number); "
    "INSERT INTO ledger_invoice_words(rowid, description) "
    "SELECT new.id, new.description WHERE new.description != ''; END",
    "CREATE TRIGGER IF NOT EXISTS ledger_invoice_search_delete AFTER DELETE ON ledger_invoice "
    "BEGIN INSERT INTO ledger_invoice_search(ledger_invoice_search, rowid, number, po_number) "
    "VALUES ('delete', old.id, old.number, old.po_number); "
    "INSERT INTO ledger_invoice_words(ledger_invoice_words, rowid, description) "
    "SELECT 'delete', old.id, old.description WHERE old.description != ''; END",
    "CREATE TRIGGER IF NOT EXISTS ledger_invoice_search_update "
    "AFTER UPDATE OF number, po_number ON ledger_invoice "
    "WHEN old.number != new.number OR old.po_number != new.po_number BEGIN "
    "INSERT INTO ledger_invoice_search(ledger_invoice_search, rowid, number, po_number) "
    "VALUES ('delete', old.id, old.number, old.po_number); "
    "INSERT INTO ledger_invoice_search(rowid, number, po_number) "
    "VALUES (new.id, new.number, new.po_number); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_invoice_words_update "
    "AFTER UPDATE OF description ON ledger_invoice "
    "WHEN old.description != new.description BEGIN "
    "INSERT INTO ledger_invoice_words(ledger_invoice_words, rowid, description) "
    "SELECT 'delete', old.id, old.description WHERE old.description != ''; "
    "INSERT INTO ledger_invoice_words(rowid, description) "
    "SELECT new.id, new.description WHERE new.description != ''; END",
    "CREATE TRIGGER IF NOT EXISTS ledger_customer_search_insert AFTER INSERT ON ledger_customer "
    "BEGIN INSERT INTO ledger_customer_search(rowid, name, external_id) "
    "VALUES (new.id, new.name, new.external_id); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_customer_search_delete AFTER DELETE ON ledger_customer "
    "BEGIN INSERT INTO ledger_customer_search(ledger_customer_search, rowid, name, external_id) "
    "VALUES ('delete', old.id, old.name, old.external_id); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_customer_search_update "
    "AFTER UPDATE OF name, external_id ON ledger_customer BEGIN "
    "INSERT INTO ledger_customer_search(ledger_customer_search, rowid, name, external_id) "
    "VALUES ('delete', old.id, old.name, old.external_id); "
    "INSERT INTO ledger_customer_search(rowid, name, external_id) "
    "VALUES (new.id, new.name, new.external_id); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_payment_search_insert AFTER INSERT ON ledger_payment "
    "BEGIN INSERT INTO ledger_payment_search(rowid, reference) VALUES (new.id, new.reference); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_payment_search_delete AFTER DELETE ON ledger_payment "
    "BEGIN INSERT INTO ledger_payment_search(ledger_payment_search, rowid, reference) "
    "VALUES ('delete', old.id, old.reference); END",
    "CREATE TRIGGER IF NOT EXISTS ledger_payment_search_update "
    "AFTER UPDATE OF reference ON ledger_payment WHEN old.reference != new.reference BEGIN "
    "INSERT INTO ledger_payment_search(ledger_payment_search, rowid, reference) "
    "VALUES ('delete', old.id, old.reference); "
    "INSERT INTO ledger_payment_search(rowid, reference) VALUES (new.id, new.reference); END",
]
SEARCH_TABLES = {
    "ledger_invoice_search",
    "ledger_invoice_words",
    "ledger_customer_search",
    "ledger_payment_search",
}


def ensure_triggers(*, using: str = "default") -> int:
    """Create the search triggers that are missing; returns how many statements ran. Nothing
    on PostgreSQL (its indexes need no triggers) or before the search tables exist."""
    connection = connections[using]
    if connection.vendor != "sqlite":
        return 0
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        if not tables >= SEARCH_TABLES:
            return 0
        for statement in TRIGGERS:
            cursor.execute(statement)
    return len(TRIGGERS)


def _after_migrate(sender, using="default", **kwargs) -> None:
    ensure_triggers(using=using)
