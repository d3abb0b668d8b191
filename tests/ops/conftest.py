import datetime as dt

import pytest

from plixo.ops.jobs import JOBS, JobSpec
from tests.ops import jobs_for_tests

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def failing_job(monkeypatch):
    """Registers `test.explode`, a job whose task raises."""
    spec = JobSpec(
        name="test.explode",
        description="Always fails.",
        every=dt.timedelta(minutes=5),
        task_path="tests.ops.jobs_for_tests.explode",
    )
    monkeypatch.setitem(JOBS, spec.name, spec)
    jobs_for_tests.CALLS.clear()
    return spec


@pytest.fixture
def counting_job(monkeypatch):
    """Registers `test.count`, a job that records each call."""
    spec = JobSpec(
        name="test.count",
        description="Counts its calls.",
        every=dt.timedelta(minutes=10),
        task_path="tests.ops.jobs_for_tests.count_calls",
        result_format="call {}",
    )
    monkeypatch.setitem(JOBS, spec.name, spec)
    jobs_for_tests.CALLS.clear()
    return spec


# The ops tests check the scheduling machinery against the two jobs ops itself declares; jobs
# other apps register (receipts, imports …) are tested with those apps.
OPS_OWN_JOBS = {"comms.suppressions_reactivate", "tasks.prune"}


@pytest.fixture(autouse=True)
def ops_own_jobs_only(monkeypatch):
    for name in list(JOBS):
        if name not in OPS_OWN_JOBS:
            monkeypatch.delitem(JOBS, name)
