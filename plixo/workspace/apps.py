import math
import sqlite3

from django.apps import AppConfig
from django.db.backends.signals import connection_created


def _sqlite_math(sender, connection, **kwargs) -> None:
    """The queue's rank uses LOG10 in SQL. SQLite has it only when built with its math
    functions (most builds since 3.35 are); where it is missing, Python's stands in."""
    if connection.vendor != "sqlite":
        return
    try:
        connection.connection.execute("SELECT LOG10(10)").fetchone()
    except sqlite3.OperationalError:
        connection.connection.create_function("LOG10", 1, _log10, deterministic=True)


def _log10(value):
    if value is None or value <= 0:
        return None
    return math.log10(value)


class WorkspaceConfig(AppConfig):
    name = "plixo.workspace"
    label = "workspace"
    verbose_name = "Operator workspace"

    def ready(self) -> None:
        connection_created.connect(_sqlite_math, dispatch_uid="workspace.sqlite_math")
