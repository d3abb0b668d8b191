"""The `plixo` command line on a database that is not migrated says what to run, instead of a
traceback half-way through the command."""

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize("command", [["seed", "--invoices", "10"], ["jobs", "list"]])
def test_a_data_command_on_an_unmigrated_database_says_to_migrate(tmp_path, command):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env.update(DJANGO_SETTINGS_MODULE="plixo.settings.dev", PLIXO_DATA_DIR=str(tmp_path))

    done = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "plixo.cli", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 2, done.stderr
    assert "not applied yet. Run `plixo migrate` first" in done.stderr
    assert "Traceback" not in done.stderr
