"""`plixo worker` drains the database queue; `plixo serve` collects static files and starts
gunicorn with the documented defaults."""

import io
import signal
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from plixo.ops import services
from plixo.ops.management.commands import serve
from plixo.ops.models import Job

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}


@pytest.mark.django_db(transaction=True)
def test_worker_runs_what_the_scheduler_enqueued():
    with override_settings(TASKS=DATABASE_TASKS):
        services.jobs_sync()
        assert sorted(services.jobs_enqueue_due()) == [
            "comms.suppressions_reactivate",
            "tasks.prune",
        ]
        assert DBTaskResult.objects.filter(status=TaskResultStatus.READY).count() == 2
        assert set(Job.objects.values_list("last_status", flat=True)) == {"enqueued"}
        before = signal.getsignal(signal.SIGTERM)

        call_command("worker", "--batch", "--no-startup-delay", verbosity=0)

        assert signal.getsignal(signal.SIGTERM) == before
    statuses = set(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == {TaskResultStatus.SUCCESSFUL}
    for job in Job.objects.all():
        assert job.last_status == Job.Status.OK, job.name
        assert job.run_count == 1


class Exec(Exception):
    """Raised instead of replacing the test process with gunicorn."""


@pytest.fixture
def exec_calls(monkeypatch):
    calls = []

    def fake_execv(path, argv):
        calls.append(argv)
        raise Exec

    monkeypatch.setattr(serve.os, "execv", fake_execv)
    return calls


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_serve_collects_static_then_execs_gunicorn(exec_calls, monkeypatch, tmp_path):
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    with override_settings(STATIC_ROOT=tmp_path / "static"), pytest.raises(Exec):
        call_command("serve", stderr=io.StringIO())

    (argv,) = exec_calls
    assert argv[:4] == [sys.executable, "-m", "gunicorn", "plixo.wsgi:application"]
    assert option(argv, "--bind") == "0.0.0.0:9123"
    assert option(argv, "--workers") == "3"
    assert option(argv, "--access-logfile") == "-"
    assert (tmp_path / "static" / "ops" / "maintenance.css").is_file()


def test_serve_defaults_and_explicit_options(exec_calls, monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr(serve, "cpu_count", lambda: 2)
    with pytest.raises(Exec):
        call_command("serve", "--no-collectstatic", stderr=io.StringIO())
    with pytest.raises(Exec):
        call_command(
            "serve",
            "--no-collectstatic",
            "--bind",
            "127.0.0.1:8080",
            "--workers",
            "4",
            "--timeout",
            "60",
            stderr=io.StringIO(),
        )

    defaults, explicit = exec_calls
    assert option(defaults, "--bind") == "0.0.0.0:8000"
    assert option(defaults, "--workers") == "5"
    assert option(explicit, "--bind") == "127.0.0.1:8080"
    assert option(explicit, "--workers") == "4"
    assert option(explicit, "--timeout") == "60"


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"PORT": "http"}, [], "PORT must be a whole number"),
        ({}, ["--workers", "0"], "The number of workers must be at least 1"),
        ({"WEB_CONCURRENCY": "lots"}, [], "The number of workers must be a whole number"),
    ],
)
def test_serve_refuses_bad_settings_with_exit_2(exec_calls, monkeypatch, env, args, message):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(CommandError) as excinfo:
        call_command("serve", "--no-collectstatic", *args)
    assert excinfo.value.returncode == 2
    assert message in str(excinfo.value)
    assert exec_calls == []
