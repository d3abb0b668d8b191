"""The `plixo` console script: Plixo's own commands plus everything manage.py offers.

`plixo serve` runs with production settings unless DJANGO_SETTINGS_MODULE says otherwise;
every other command defaults to the development settings.
"""

import os
import sys

# Plixo command -> management command, where the names differ.
ALIASES = {"import": "import_data"}
PRODUCTION_COMMANDS = {"serve"}


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    command = argv[1] if len(argv) > 1 else "help"
    default_settings = (
        "plixo.settings.production" if command in PRODUCTION_COMMANDS else "plixo.settings.dev"
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", default_settings)
    if len(argv) > 1:
        argv[1] = ALIASES.get(command, command)
    argv[0] = "plixo"
    if command in DATA_COMMANDS and (pending := _pending_migrations()):
        sys.stderr.write(
            f"The database is not ready: {pending} migration{'s' if pending != 1 else ''} not "
            "applied yet. Run `plixo migrate` first (`make demo` does it for you).\n"
        )
        raise SystemExit(2)
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


# Commands that read or write Plixo's tables: on a database that is not migrated they would
# fail with a traceback half-way; they say what to run instead.
DATA_COMMANDS = {
    "seed",
    "readiness",
    "import",
    "import_data",
    "apikey",
    "stripe",
    "org",
    "jobs",
    "maintenance",
    "worker",
    "scheduler",
    "createsuperuser",
    "cashapp",
}


def _pending_migrations() -> int:
    """How many migrations the database still needs; 0 when it cannot be reached (the command
    then reports the connection problem itself)."""
    import django
    from django.db import DatabaseError, connections
    from django.db.migrations.executor import MigrationExecutor

    django.setup()
    try:
        executor = MigrationExecutor(connections["default"])
        return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))
    except DatabaseError:
        return 0


if __name__ == "__main__":
    main()
