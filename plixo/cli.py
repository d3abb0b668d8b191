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
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)


if __name__ == "__main__":
    main()
