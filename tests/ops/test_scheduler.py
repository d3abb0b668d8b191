"""The scheduler tick: due and unpaused jobs are enqueued once, on their grid."""

import datetime as dt
import io
import os
import signal

import pytest
import time_machine
from django.core.management import call_command
from django_tasks.signals import task_enqueued

from plixo.ops import services
from plixo.ops.jobs import JOBS
from plixo.ops.models import Job, SchedulerLease
from plixo.ops.scheduler import Scheduler
from tests.ops import jobs_for_tests
from tests.ops.conftest import T0

pytestmark = pytest.mark.django_db

MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def enqueued():
    """Names of the jobs enqueued (through the real task backend) during the test."""
    names: list[str] = []

    def receiver(sender, task_result, **kwargs):
        names.append(task_result.args[0])

    task_enqueued.connect(receiver, weak=False)
    yield names
    task_enqueued.disconnect(receiver)


def job(name: str) -> Job:
    return Job.objects.get(name=name)


def test_sync_creates_a_row_per_registered_job_and_keeps_paused_flags():
    with time_machine.travel(T0, tick=False):
        rows = services.jobs_sync()
    assert [row.name for row in rows] == sorted(JOBS)
    assert job("comms.suppressions_reactivate").every_seconds == 15 * 60
    assert job("tasks.prune").every_seconds == 24 * 3600
    assert job("tasks.prune").next_run_at == T0

    services.job_pause(name="tasks.prune", actor_label="ops@example.test")
    Job.objects.filter(name="tasks.prune").update(description="stale text")
    services.jobs_sync()

    assert job("tasks.prune").paused is True
    assert job("tasks.prune").description == JOBS["tasks.prune"].description
    assert Job.objects.count() == len(JOBS)


def test_a_tick_enqueues_only_due_unpaused_jobs(counting_job, enqueued):
    with time_machine.travel(T0, tick=False) as traveller:
        services.jobs_sync()
        services.job_pause(name="tasks.prune", actor_label="ops")
        Job.objects.filter(name="comms.suppressions_reactivate").update(next_run_at=T0 + MINUTE)

        outcome = Scheduler(holder="s1").tick()

        assert outcome.leader is True
        assert outcome.enqueued == ["test.count"]
        assert enqueued == ["test.count"]
        count = job("test.count")
        # The test backend runs tasks at once: the wrapper recorded the outcome.
        assert count.last_status == Job.Status.OK
        assert count.last_result == "call 1"
        assert count.run_count == 1
        assert count.last_run_at == T0
        assert count.next_run_at == T0 + dt.timedelta(minutes=10)
        assert job("tasks.prune").last_status == Job.Status.NEVER

        traveller.shift(MINUTE)
        assert Scheduler(holder="s1").tick().enqueued == ["comms.suppressions_reactivate"]
        assert enqueued == ["test.count", "comms.suppressions_reactivate"]
        assert SchedulerLease.objects.get().last_tick_at == T0 + MINUTE


def test_ticking_again_before_the_next_slot_enqueues_nothing(counting_job, enqueued):
    scheduler = Scheduler(holder="s1")
    with time_machine.travel(T0, tick=False) as traveller:
        services.jobs_sync()
        first = scheduler.tick()
        traveller.shift(dt.timedelta(seconds=5))
        second = scheduler.tick()

    assert sorted(first.enqueued) == sorted(JOBS)
    assert second.enqueued == []
    assert sorted(enqueued) == sorted(JOBS)
    assert jobs_for_tests.CALLS == ["count_calls"]


def test_two_schedulers_with_the_same_stale_read_enqueue_a_run_once(counting_job, enqueued):
    with time_machine.travel(T0, tick=False):
        services.jobs_sync()
        stale = {row.name: row for row in services.jobs_due(now=T0)}

        assert "test.count" in services.jobs_enqueue_due(now=T0)
        # A second scheduler acting on what it read before the first one's claim.
        assert services.job_claim_run(stale["test.count"], now=T0) is False

    assert enqueued.count("test.count") == 1
    assert job("test.count").run_count == 1


def test_only_the_leader_enqueues(counting_job, enqueued):
    with time_machine.travel(T0, tick=False) as traveller:
        services.jobs_sync()
        leader, standby = Scheduler(holder="a"), Scheduler(holder="b")
        assert leader.tick().leader is True
        traveller.shift(20 * MINUTE)  # everything is due again, but the leader's lease ran out
        assert standby.tick().leader is True
        assert leader.tick().leader is False

    assert enqueued.count("test.count") == 2
    assert SchedulerLease.objects.get().holder == "b"


def test_next_run_stays_on_the_grid_and_skips_missed_slots():
    every = 15 * 60
    assert services.next_run_after(T0, every, T0) == T0 + 15 * MINUTE
    assert services.next_run_after(T0, every, T0 + 3 * MINUTE) == T0 + 15 * MINUTE
    # The scheduler was down for 50 minutes: one run now, then back on the grid.
    assert services.next_run_after(T0, every, T0 + 50 * MINUTE) == T0 + 60 * MINUTE
    assert services.next_run_after(T0, every, T0 + 45 * MINUTE) == T0 + 60 * MINUTE


def test_a_run_still_queued_is_not_stacked_up_until_it_is_presumed_lost(counting_job, enqueued):
    with time_machine.travel(T0, tick=False) as traveller:
        services.jobs_sync()
        Job.objects.filter(name="test.count").update(
            last_status=Job.Status.ENQUEUED, last_run_at=T0 - 5 * MINUTE
        )
        assert "test.count" not in services.jobs_enqueue_due()
        assert job("test.count").next_run_at == T0 + 10 * MINUTE  # the slot passed

        traveller.shift(dt.timedelta(hours=1))
        assert "test.count" in services.jobs_enqueue_due()

    assert enqueued.count("test.count") == 1


def test_a_run_queued_before_a_pause_is_skipped_by_the_worker(counting_job):
    services.jobs_sync()
    services.job_pause(name="test.count", actor_label="ops")

    run = services.job_execute(name="test.count", scheduled=True)

    assert run.skipped is True
    assert jobs_for_tests.CALLS == []
    assert job("test.count").last_status == Job.Status.SKIPPED


def test_resume_puts_a_paused_job_back_on_schedule(counting_job, enqueued):
    with time_machine.travel(T0, tick=False) as traveller:
        services.jobs_sync()
        services.job_pause(name="test.count", actor_label="ops")
        assert "test.count" not in services.jobs_enqueue_due()
        traveller.shift(MINUTE)
        resumed = services.job_resume(name="test.count")
        assert resumed.paused is False and resumed.paused_by == ""
        assert "test.count" in services.jobs_enqueue_due()


def test_sigterm_stops_the_loop_and_releases_the_lease(counting_job, monkeypatch):
    scheduler = Scheduler(interval=0.01, holder="loop")
    ticks = []
    original_tick = scheduler.tick

    def tick_then_terminate(**kwargs):
        outcome = original_tick(**kwargs)
        ticks.append(outcome)
        if len(ticks) == 2:
            os.kill(os.getpid(), signal.SIGTERM)
        return outcome

    monkeypatch.setattr(scheduler, "tick", tick_then_terminate)
    before = signal.getsignal(signal.SIGTERM)

    scheduler.run()

    assert len(ticks) == 2
    assert ticks[0].leader is True
    lease = SchedulerLease.objects.get()
    assert lease.holder == "" and lease.expires_at is None
    assert lease.last_tick_at is not None
    assert signal.getsignal(signal.SIGTERM) == before
    assert job("test.count").run_count == 1


def test_a_failing_tick_is_logged_and_the_loop_goes_on(monkeypatch):
    scheduler = Scheduler(interval=0.01, holder="loop")
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database restarting")
        scheduler.stop()
        return None

    monkeypatch.setattr(scheduler, "tick", flaky)
    scheduler.run()
    assert len(calls) == 2


def test_scheduler_once_command_runs_one_tick():
    out = io.StringIO()
    with time_machine.travel(T0, tick=False):
        call_command("scheduler", "--once", stdout=out)
        call_command("scheduler", "--once", stdout=out)

    lines = out.getvalue().splitlines()
    assert lines == ["Enqueued: comms.suppressions_reactivate, tasks.prune", "No job was due."]
    # --once gives the lease back, so a long-running scheduler is not kept waiting.
    assert SchedulerLease.objects.get().holder == ""


def test_scheduler_once_as_standby_enqueues_nothing():
    with time_machine.travel(T0, tick=False):
        services.lease_acquire(holder="elsewhere", ttl=dt.timedelta(seconds=30))
        out = io.StringIO()
        call_command("scheduler", "--once", stdout=out)
    assert "Another scheduler holds the lease" in out.getvalue()
    assert not Job.objects.exclude(last_status=Job.Status.NEVER).exists()
