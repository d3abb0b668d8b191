"""The task wrapper records each run's outcome on the job row; the real jobs do their work."""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from plixo.ops import services
from plixo.ops.jobs import JOBS, JobSpec
from plixo.ops.models import Job
from plixo.ops.tasks import job_run
from tests.factories import ContactFactory
from tests.ops import jobs_for_tests
from tests.ops.conftest import T0

pytestmark = pytest.mark.django_db


def test_a_successful_run_records_status_result_and_count():
    due = ContactFactory(suppressed_until=timezone.now() - dt.timedelta(hours=1))
    later = ContactFactory(suppressed_until=timezone.now() + dt.timedelta(days=3))

    result = job_run.enqueue("comms.suppressions_reactivate", scheduled=False)

    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == "1 contacts reactivated"
    job = Job.objects.get(name="comms.suppressions_reactivate")
    assert job.last_status == Job.Status.OK
    assert job.last_result == "1 contacts reactivated"
    assert job.last_error == ""
    assert job.run_count == 1
    assert job.last_run_at is not None and job.last_finished_at >= job.last_run_at
    due.refresh_from_db()
    later.refresh_from_db()
    assert due.suppressed_until is None and due.suppression_reason == ""
    assert later.suppressed_until is not None


def test_a_failing_run_records_the_traceback_tail_and_fails_the_task(failing_job):
    result = job_run.enqueue("test.explode", scheduled=False)

    # The task result fails too, so the queue's failed count shows it.
    assert result.status == TaskResultStatus.FAILED
    assert "RuntimeError: ledger unreachable" in result.errors[0].traceback
    job = Job.objects.get(name="test.explode")
    assert job.last_status == Job.Status.ERROR
    assert job.last_result == ""
    assert job.last_error.splitlines()[-1] == "RuntimeError: ledger unreachable"
    assert "jobs_for_tests.py" in job.last_error
    assert len(job.last_error) <= services.ERROR_MAX_CHARS
    assert job.run_count == 1
    assert job.last_finished_at is not None
    assert jobs_for_tests.CALLS == ["explode"]


def test_a_success_after_a_failure_clears_the_error(failing_job, counting_job, monkeypatch):
    services.job_execute(name="test.explode")
    # The fix is deployed: the job now points at a working task.
    monkeypatch.setitem(
        JOBS,
        "test.explode",
        JobSpec(
            name="test.explode",
            description="Fixed.",
            every=dt.timedelta(minutes=5),
            task_path=counting_job.task_path,
        ),
    )
    run = services.job_execute(name="test.explode")

    assert run.ok is True
    job = Job.objects.get(name="test.explode")
    assert job.last_status == Job.Status.OK
    assert job.last_error == ""
    assert job.run_count == 2


def make_result(*, status, finished_days_ago=None):
    now = timezone.now()
    return DBTaskResult.objects.create(
        args_kwargs={"args": [], "kwargs": {}},
        task_path="plixo.ops.tasks.task_results_prune",
        backend_name="default",
        status=status,
        finished_at=now - dt.timedelta(days=finished_days_ago)
        if finished_days_ago is not None
        else None,
    )


def test_prune_deletes_only_finished_results_older_than_14_days():
    old_ok = make_result(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=15)
    old_failed = make_result(status=TaskResultStatus.FAILED, finished_days_ago=30)
    recent = make_result(status=TaskResultStatus.SUCCESSFUL, finished_days_ago=13)
    waiting = make_result(status=TaskResultStatus.READY)
    running = make_result(status=TaskResultStatus.RUNNING)

    run = services.job_execute(name="tasks.prune")

    assert run.ok
    assert Job.objects.get(name="tasks.prune").last_result == "2 task results deleted"
    remaining = set(DBTaskResult.objects.values_list("pk", flat=True))
    assert remaining == {recent.pk, waiting.pk, running.pk}
    assert old_ok.pk not in remaining and old_failed.pk not in remaining


def test_an_unknown_job_name_is_refused():
    with pytest.raises(LookupError, match="Unknown job 'nope'"):
        services.job_execute(name="nope")


def test_run_now_from_the_page_queues_the_wrapper_and_keeps_the_schedule(counting_job):
    with time_machine.travel(T0, tick=False):
        services.jobs_sync()
        services.job_pause(name="test.count", actor_label="ops")
        job = services.job_enqueue_now(name="test.count", actor_label="ops")

    # A paused job still runs when someone asks for it; its schedule is untouched.
    assert job.last_status == Job.Status.OK
    assert job.paused is True
    assert job.next_run_at == T0
    assert jobs_for_tests.CALLS == ["count_calls"]
