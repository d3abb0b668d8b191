"""R5: a worker killed between claim and send neither duplicates nor loses the email.

Real processes, really killed: every step runs in its own Python process
(`tests.comms.killed_worker_child`) on a database they share — a SQLite file in a temporary
folder, or a scratch PostgreSQL database when the suite runs on PostgreSQL — with Django's file
email backend, so what was "sent" is what lies in the folder. The worker is stopped with SIGKILL
at a marker it writes itself; no code of the worker runs after that.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHILD = "tests.comms.killed_worker_child"
LEASE = 30  # seconds; recovery runs with "now" moved past it
STEP_TIMEOUT = 60  # no child may run longer than this, whatever happens
MARKER_TIMEOUT = 30


def _postgres_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgres://", "postgresql://")) else ""


def _admin(sql: str) -> None:
    import psycopg

    server = _postgres_url().rpartition("/")[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        admin.execute(sql)


def _child(args: list[str], env: dict) -> dict:
    done = subprocess.run(  # noqa: S603 - our own child module
        [sys.executable, "-m", CHILD, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _base_env(tmp: Path) -> dict:
    return {
        **{k: v for k, v in os.environ.items() if k != "DATABASE_URL"},
        "DJANGO_SETTINGS_MODULE": "tests.comms.killed_settings",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp),
        "COMMS_CLAIM_LEASE": str(LEASE),
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="module")
def migrated(tmp_path_factory):
    """A migrated, empty database that each test copies (migrating once keeps this file fast):
    a SQLite file, or a PostgreSQL template database."""
    tmp = tmp_path_factory.mktemp("killed-template")
    if not _postgres_url():
        _child(["migrate"], {**_base_env(tmp), "PLIXO_DATA_DIR": str(tmp)})
        yield {"sqlite": tmp / "plixo.sqlite3"}
        return
    name = f"plixo_killed_{uuid.uuid4().hex[:10]}"
    server = _postgres_url().rpartition("/")[0]
    _admin(f'CREATE DATABASE "{name}"')
    try:
        _child(["migrate"], {**_base_env(tmp), "DATABASE_URL": f"{server}/{name}"})
        yield {"template": name}
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _database(migrated: dict, tmp_path: Path):
    """Environment variables naming a fresh copy of the migrated database."""
    if "sqlite" in migrated:
        data = tmp_path / "data"
        data.mkdir()
        shutil.copyfile(migrated["sqlite"], data / "plixo.sqlite3")
        yield {"PLIXO_DATA_DIR": str(data)}
        return
    name = f"plixo_killed_{uuid.uuid4().hex[:10]}"
    server = _postgres_url().rpartition("/")[0]
    _admin(f'CREATE DATABASE "{name}" TEMPLATE "{migrated["template"]}"')
    try:
        yield {"DATABASE_URL": f"{server}/{name}"}
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class World:
    def __init__(self, tmp_path: Path, database: dict):
        self.mail = tmp_path / "mail"
        self.mail.mkdir()
        self.marker = tmp_path / "marker"
        self.env = {**_base_env(self.mail), **database, "KILLED_MARKER": str(self.marker)}

    def run(self, *args: str, **env) -> dict:
        return _child(list(args), {**self.env, **env})

    def kill_worker_at_marker(self, **env) -> None:
        """Start `outbox_send` in a worker process, wait for its marker, SIGKILL it."""
        worker = subprocess.Popen(  # noqa: S603 - our own child module
            [sys.executable, "-m", CHILD, "send"],
            cwd=ROOT,
            env={**self.env, **env},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + MARKER_TIMEOUT
            while not self.marker.exists():
                if worker.poll() is not None:
                    pytest.fail(f"the worker ended before its marker: {worker.stderr.read()}")
                if time.monotonic() > deadline:
                    pytest.fail("the worker never reached its marker")
                time.sleep(0.05)
            assert self.marker.read_text() == str(worker.pid)
            os.kill(worker.pid, signal.SIGKILL)
            assert worker.wait(timeout=10) == -signal.SIGKILL
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(timeout=10)
            worker.stderr.close()

    def emails(self) -> list[str]:
        """Every email in the folder (the file backend writes one file per connection and
        separates messages with a line of 79 dashes)."""
        found = []
        for path in sorted(self.mail.iterdir()):
            text = path.read_text()
            found += [part for part in text.split("-" * 79 + "\n") if part.strip()]
        return found


@pytest.fixture
def world(migrated, tmp_path):
    with _database(migrated, tmp_path) as database:
        world = World(tmp_path, database)
        state = world.run("setup")
        assert state["status"] == "queued"
        assert state["events"].count("email_approved") == 1
        yield world


def test_worker_killed_after_claim_sends_exactly_once_after_the_lease(world):
    world.kill_worker_at_marker(COMMS_OUTBOX_AFTER_CLAIM=f"{CHILD}.block_after_claim")
    assert world.emails() == []

    # Within the lease the claim is respected: another worker neither takes nor sends it.
    counts = world.run("send")
    assert counts["requeued"] == 0 and counts["sent"] == 0, counts
    state = counts["state"]
    assert state["status"] == "sending"
    assert state["claimed"] and not state["send_started"]
    assert world.emails() == []

    counts = world.run("send", "--later", str(LEASE + 5))
    assert counts["requeued"] == 1 and counts["sent"] == 1, counts
    state = counts["state"]
    assert state["status"] == "sent"
    assert state["events"].count("email_sent") == 1
    emails = world.emails()
    assert len(emails) == 1
    assert emails[0].count("X-Plixo-Message: ") == 1
    assert "To: ap@payer.example" in emails[0]

    # Later runs find nothing left to send.
    counts = world.run("send", "--later", str(2 * LEASE + 10))
    assert counts["sent"] == 0 and counts["requeued"] == 0, counts
    assert len(world.emails()) == 1


def test_worker_killed_during_hand_off_is_never_sent_twice(world):
    world.kill_worker_at_marker(EMAIL_BACKEND=f"{CHILD}.BlockingEmailBackend")
    # The provider took it before the worker died (the blocking backend wrote it first).
    assert len(world.emails()) == 1

    counts = world.run("send")
    assert counts["unknown"] == 0 and counts["sent"] == 0, counts
    assert counts["state"]["status"] == "sending"
    assert counts["state"]["send_started"]

    counts = world.run("send", "--later", str(LEASE + 5))
    assert counts["unknown"] == 1 and counts["sent"] == 0 and counts["requeued"] == 0, counts
    state = counts["state"]
    assert state["status"] == "unknown"
    assert state["events"].count("email_delivery_unknown") == 1
    assert "email_sent" not in state["events"]

    counts = world.run("send", "--later", str(3 * LEASE))
    assert counts["sent"] == 0 and counts["unknown"] == 0, counts
    assert counts["state"]["status"] == "unknown"
    assert len(world.emails()) == 1
