"""`plixo import KIND FILE --org SLUG [--json] [--all-or-nothing]` and its exit codes."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from plixo.imports.pipeline import run as pipeline_run

GOOD = "customer_external_id,customer_name,currency\nC-1,Acme,USD\nC-2,Beta,XXQ\n"


def run(*args):
    out = StringIO()
    try:
        call_command("import_data", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    return 0, out.getvalue()


def test_json_summary_and_exit_0_with_rejected_rows(org, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(GOOD)
    code, out = run("customers", str(path), "--org", org.slug, "--json")
    assert code == 0
    summary = json.loads(out)
    for key in (
        "batch_id",
        "rows",
        "accepted",
        "rejected",
        "created",
        "updated",
        "errors_by_code",
        "reject_log",
    ):
        assert key in summary
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (2, 1, 1)
    assert summary["errors_by_code"] == {"invalid_currency": 1}
    with open(summary["reject_log"], encoding="utf-8-sig") as handle:
        assert "invalid_currency" in handle.read()


def test_file_rejected_whole_exits_2(org, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name\nAcme\n")
    code, out = run("customers", str(path), "--org", org.slug, "--json")
    assert code == 2
    assert json.loads(out)["errors_by_code"] == {"missing_required_header": 1}


def test_all_or_nothing_with_rejects_exits_2(org, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(GOOD)
    code, _ = run("customers", str(path), "--org", org.slug, "--all-or-nothing")
    assert code == 2
    assert not org.customers.exists()


def test_bad_usage_exits_2(org, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as missing:
        call_command("import_data", "customers", str(tmp_path / "nope.csv"), "--org", org.slug)
    assert missing.value.returncode == 2
    path = tmp_path / "c.csv"
    path.write_text(GOOD)
    with pytest.raises(CommandError) as unknown_org:
        call_command("import_data", "customers", str(path), "--org", "nobody")
    assert unknown_org.value.returncode == 2


def test_internal_error_exits_1(org, tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(pipeline_run.Pass, "flush", broken)
    path = tmp_path / "c.csv"
    path.write_text(GOOD)
    code, out = run("customers", str(path), "--org", org.slug)
    assert code == 1
    assert "Failed" in out


def test_plain_output(org, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(GOOD)
    code, out = run("customers", str(path), "--org", org.slug)
    assert code == 0
    assert "accepted 1" in out and "invalid_currency" in out and "Reject log:" in out
