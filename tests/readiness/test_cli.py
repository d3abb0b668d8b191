import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from plixo.readiness.models import ReadinessRun

pytestmark = pytest.mark.django_db


def test_failing_check_exits_1_and_prints_the_table(personas, uncovered_invoice, capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("readiness", "--org", "acme")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert "Contact coverage" in out and "FAIL" in out and "Not ready" in out
    run = ReadinessRun.objects.get()
    assert run.ran_by is None and run.ran_by_label == "cli" and not run.passed


def test_all_passing_exits_0_with_json(personas, covered_invoice, routing_rule, capsys):
    from plixo.ledger.selectors import org_today
    from plixo.readiness.services import aging_export_upload

    aging_export_upload(
        organization=personas.org,
        data=b"customer,current,1_30,31_60,61_90,90_plus\nBright Dental,0,1200.00,0,0,0\n",
        file_name="aging.csv",
        as_of=org_today(personas.org),
    )
    call_command("readiness", "--org", "acme", "--json")
    data = json.loads(capsys.readouterr().out)
    assert data["passed"] is True
    assert [c["name"] for c in data["checks"]] == [
        "contact_coverage",
        "aging_parity",
        "dispute_smoke",
    ]


def test_unknown_slug_exits_2(personas):
    with pytest.raises(CommandError) as error:
        call_command("readiness", "--org", "nope")
    assert error.value.returncode == 2
    assert not ReadinessRun.objects.exists()


def test_console_script_runs_the_command(personas, uncovered_invoice):
    from plixo.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["plixo", "readiness", "--org", "acme", "--json"])
    assert exit_info.value.code == 1
