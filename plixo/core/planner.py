"""Statistics for the database's query planner.

Which index serves a list (the customers' name index walked in order, or every invoice sorted)
is the planner's choice, made from table statistics. PostgreSQL's autovacuum keeps them; SQLite
has none until `ANALYZE` runs, and then picks poor plans on large tables. Plixo refreshes them
after a bulk load (seeding, imports) and daily (`ops.planner_statistics`).
"""

from django.db import connection


def planner_statistics_refresh() -> str:
    """Refresh the planner's statistics; returns which database was analysed."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            # A full pass (about a second per million invoices): a sampled one
            # (`analysis_limit`) misjudges the invoice indexes and loses the good plans.
            cursor.execute("PRAGMA analysis_limit = 0")
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA optimize")
        else:
            cursor.execute("ANALYZE")
    return connection.vendor
