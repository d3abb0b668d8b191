"""`plixo cashapp import FILE --org SLUG [--format …] [--json]`: summary keys and exit codes."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "cashapp"
KEYS = {
    "statement_id",
    "lines",
    "receipts",
    "duplicates",
    "rejected",
    "auto_applied",
    "suggested",
    "unmatched",
}


def run(*args) -> dict:
    out = StringIO()
    call_command("cashapp", "import", *args, stdout=out)
    return json.loads(out.getvalue())


def test_json_summary_and_reimport(org):
    path = str(FIXTURES / "camt-viafintech/camt053_valid_example_v8.xml")

    first = run(path, "--org", "acme", "--json")
    again = run(path, "--org", "acme", "--format", "camt", "--json")

    assert set(first) >= KEYS
    assert (first["lines"], first["receipts"], first["duplicates"]) == (3, 2, 0)
    assert (again["receipts"], again["duplicates"]) == (0, 2)


def test_rejected_lines_still_exit_zero(org):
    summary = run(
        str(FIXTURES / "ofx-ofxparse/fail_nice/decimal_error.ofx"), "--org", "acme", "--json"
    )

    assert summary["rejected"] == 1 and summary["rejects"][0]["line"] == 34


@pytest.mark.parametrize(
    "args",
    [
        ("missing.csv", "--org", "acme"),
        (str(FIXTURES / "ofx-ofxparse/checking.ofx"), "--org", "nobody"),
        (
            str(FIXTURES / "bai2-moov-io/errors/sample-parseError.txt"),
            "--org",
            "acme",
            "--format",
            "bai2",
        ),
    ],
)
def test_bad_usage_or_file_rejected_whole_exits_2(org, args):
    with pytest.raises(CommandError) as error:
        call_command("cashapp", "import", *args, stdout=StringIO())
    assert error.value.returncode == 2
