"""`plixo jobs {list|pause|resume|run} [NAME] [--json]` and its exit codes."""

import io
import json

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

from plixo.ops import services
from plixo.ops.models import Job
from tests.ops import jobs_for_tests
from tests.ops.conftest import T0

pytestmark = pytest.mark.django_db


def jobs_cli(*args) -> tuple[int, str, str]:
    """Run the command as the CLI would: (exit code, stdout, stderr message)."""
    out = io.StringIO()
    try:
        call_command("jobs", *args, stdout=out, stderr=io.StringIO())
    except CommandError as exc:
        return exc.returncode, out.getvalue(), str(exc)
    return 0, out.getvalue(), ""


def test_list_shows_every_job_with_its_schedule():
    with time_machine.travel(T0, tick=False):
        code, out, _ = jobs_cli("list")

    assert code == 0
    header, *rows = out.splitlines()
    for column in ("NAME", "EVERY", "PAUSED", "LAST RUN", "STATUS", "NEXT RUN", "LAST RESULT"):
        assert column in header
    assert rows[0].split()[:4] == ["comms.suppressions_reactivate", "15", "min", "no"]
    assert "2026-03-02 09:00:00 UTC" in rows[0]
    assert rows[1].split()[:4] == ["tasks.prune", "1", "day", "no"]


def test_list_json_is_one_object():
    with time_machine.travel(T0, tick=False):
        code, out, _ = jobs_cli("list", "--json")

    assert code == 0
    payload = json.loads(out)
    by_name = {job["name"]: job for job in payload["jobs"]}
    assert set(by_name) == {"comms.suppressions_reactivate", "tasks.prune"}
    reactivate = by_name["comms.suppressions_reactivate"]
    assert reactivate["every_seconds"] == 900
    assert reactivate["paused"] is False
    assert reactivate["last_status"] == "never"
    assert reactivate["next_run_at"] == "2026-03-02T09:00:00+00:00"


def test_pause_and_resume_round_trip_with_json():
    code, out, _ = jobs_cli("pause", "tasks.prune", "--json")
    assert code == 0
    paused = json.loads(out)["job"]
    assert paused["paused"] is True
    assert paused["paused_by"] == "command line"
    assert Job.objects.get(name="tasks.prune").paused is True

    code, out, _ = jobs_cli("list")
    assert "paused" in next(line for line in out.splitlines() if line.startswith("tasks.prune"))

    code, out, _ = jobs_cli("resume", "tasks.prune")
    assert code == 0
    assert out.startswith("Resumed tasks.prune")
    assert Job.objects.get(name="tasks.prune").paused is False


def test_a_paused_job_is_not_scheduled():
    jobs_cli("pause", "comms.suppressions_reactivate")
    assert "comms.suppressions_reactivate" not in services.jobs_enqueue_due()


def test_run_runs_the_job_in_process_and_records_it(counting_job):
    code, out, _ = jobs_cli("run", "test.count", "--json")

    assert code == 0
    payload = json.loads(out)
    assert payload["ok"] is True
    assert payload["job"]["last_status"] == "ok"
    assert payload["job"]["last_result"] == "call 1"
    assert payload["job"]["run_count"] == 1
    assert jobs_for_tests.CALLS == ["count_calls"]

    code, out, _ = jobs_cli("run", "test.count")
    assert (code, out.strip()) == (0, "test.count: call 2")


def test_run_of_a_failing_job_exits_1_and_still_prints_the_record(failing_job):
    code, out, message = jobs_cli("run", "test.explode", "--json")

    assert code == 1
    payload = json.loads(out)
    assert payload["ok"] is False
    assert payload["job"]["last_status"] == "error"
    assert "RuntimeError: ledger unreachable" in payload["job"]["last_error"]
    assert message == "test.explode failed: RuntimeError: ledger unreachable"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ("pause", "nope"),
            "Unknown job 'nope'. Known jobs: comms.suppressions_reactivate, tasks.prune.",
        ),
        (("run", "nope"), "Unknown job 'nope'"),
        (("resume",), "`jobs resume` needs a job name."),
        (("list", "tasks.prune"), "`jobs list` takes no job name."),
        (("explode",), "Unknown action 'explode'"),
    ],
)
def test_bad_usage_exits_2_with_a_clear_message(args, expected):
    code, out, message = jobs_cli(*args)
    assert code == 2
    assert message.startswith(expected)
    assert out == ""


def test_bad_usage_with_json_prints_the_error_as_json():
    code, out, _ = jobs_cli("pause", "nope", "--json")
    assert code == 2
    assert json.loads(out)["error"].startswith("Unknown job 'nope'")
    assert not Job.objects.filter(name="nope").exists()
