"""`plixo demo`: migrate, seed the demo organizations (idempotent), then serve them on
127.0.0.1 with a worker and the scheduler alongside, until Ctrl-C or SIGTERM stops all three."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from plixo.portal.services import demo_portal_link
from plixo.seeding.demo import DemoResult, demo_build
from plixo.seeding.members import DEMO_PASSWORD

HOST = "127.0.0.1"


class _Stop(Exception):
    """Raised in the main thread by the SIGTERM handler."""


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # On Linux, ask the kernel to end the child if `plixo demo` itself dies (even by SIGKILL),
    # so no orphaned server keeps holding the port.
    try:
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


@dataclass
class Child:
    name: str
    argv: Sequence[str]
    essential: bool = False  # when an essential child exits, everything stops
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)  # when it was restarted (monotonic)
    reported: bool = False


@dataclass
class Supervisor:
    """Start processes, watch them, and stop them all together."""

    children: list[Child]
    write: Callable[[str], None] = print
    grace_seconds: float = 10.0
    env: dict = field(default_factory=lambda: dict(os.environ))

    restart_limit: int = 5  # restarts of one child within `restart_window` before giving up
    restart_window: float = 60.0

    def start(self) -> None:
        for child in self.children:
            self._spawn(child)

    def _spawn(self, child: Child) -> None:
        child.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            list(child.argv),
            env=self.env,
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )

    def alive(self, name: str) -> bool:
        child = next(c for c in self.children if c.name == name)
        return child.process is not None and child.process.poll() is None

    def watch(self, poll_seconds: float = 0.5) -> int:
        """Block until an essential child exits; return its exit code."""
        while True:
            for child in self.children:
                code = child.process.poll()
                if code is None:
                    continue
                if child.essential:
                    self.write(f"The {child.name} stopped (exit code {code}); stopping the rest.")
                    return code
                # The worker or scheduler died: start it again, unless it keeps dying.
                now = time.monotonic()
                child.restarts = [t for t in child.restarts if now - t < self.restart_window]
                if len(child.restarts) < self.restart_limit:
                    child.restarts.append(now)
                    self.write(f"The {child.name} exited (exit code {code}); starting it again.")
                    self._spawn(child)
                elif not child.reported:
                    child.reported = True
                    self.write(
                        f"Warning: the {child.name} exited with code {code} "
                        f"{self.restart_limit} times within a minute; it is not restarted again."
                    )
            time.sleep(poll_seconds)

    def stop(self) -> None:
        running = [c for c in self.children if c.process and c.process.poll() is None]
        for child in running:
            child.process.terminate()
        deadline = time.monotonic() + self.grace_seconds
        for child in running:
            try:
                child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def wait_for_port(port: int, *, until_seconds: float, still_starting) -> bool:
    deadline = time.monotonic() + until_seconds
    while time.monotonic() < deadline and still_starting():
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.2)
    return False


def banner(result: DemoResult, url: str | None) -> str:
    main, *others = result.organizations
    lines = []
    if url:
        lines.append(f"Plixo demo is running at {url}")
    else:
        lines.append("Plixo demo data is ready. Serve it with `plixo demo`.")
    lines.append(f"Organization: {main.organization.name} (slug {main.organization.slug})")
    for other in others:
        lines.append(f"The controller can also switch to: {other.organization.name}")
    lines.append(f"Sign in with any of these logins; the password is {DEMO_PASSWORD}")
    lines.extend(f"  {role:<15} {email}" for role, email in result.logins)
    if url:
        lines.append("A worker and the scheduler run alongside. Press Ctrl-C to stop.")
    rule = "-" * max(len(line) for line in lines)
    return "\n".join([rule, *lines, rule])


class Command(BaseCommand):
    help = (
        "Migrate, seed the demo organization (slug demo) idempotently and serve it on "
        "127.0.0.1 with a worker and the scheduler; --no-serve stops after seeding."
    )

    def add_arguments(self, parser):
        parser.add_argument("--port", type=int, default=8000, help="port (default 8000)")
        parser.add_argument(
            "--no-serve", action="store_true", help="migrate and seed only, then exit"
        )

    def note(self, text: str, ending: str = "\n") -> None:
        """Progress on stderr, in plain text (Django would colour all of stderr as errors)."""
        self.stderr.write(text, style_func=lambda plain: plain, ending=ending)

    def handle(self, *args, **options):
        port = options["port"]
        if not 0 < port < 65536:
            raise CommandError(f"{port} is not a TCP port.", returncode=2)
        serve = not options["no_serve"]
        if serve and not port_is_free(port):
            raise CommandError(
                f"Port {port} on {HOST} is in use; stop what holds it or pass --port N.",
                returncode=2,
            )
        self.note("Applying database migrations…")
        call_command("migrate", interactive=False, verbosity=0)
        started = time.monotonic()
        result = demo_build()
        if result.created:
            self.note(f"Seeded {', '.join(result.created)} in {time.monotonic() - started:.1f} s.")
        else:
            self.note("Demo organizations already present; nothing to seed.")
        if not serve:
            self.stdout.write(banner(result, url=None))
            self.stdout.write(f"Payer portal link (single use): {demo_portal_link()}")
            return
        self._serve(result, port)

    def _serve(self, result: DemoResult, port: int) -> None:
        python = [sys.executable, "-m", "plixo.cli"]
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", "plixo.settings.dev")
        env["PYTHONUNBUFFERED"] = "1"
        # Plixo's own error pages (with the request id), not Django's debug pages listing every
        # URL; static files are still served (WhiteNoise, from the app directories).
        env.setdefault("DEBUG", "0")
        # The development server runs each request in a new thread: a connection kept open
        # for reuse would stay behind with its thread (PostgreSQL runs out of connections).
        env.setdefault("DATABASE_CONN_MAX_AGE", "0")
        # Links in the emails the worker sends must point at this server's port.
        env.setdefault("PLIXO_PUBLIC_URL", f"http://{HOST}:{port}")
        supervisor = Supervisor(
            children=[
                Child("web server", [*python, "runserver", f"{HOST}:{port}", "--noreload"], True),
                Child("worker", [*python, "worker"]),
                Child("scheduler", [*python, "scheduler"]),
            ],
            write=lambda message: self.note(message),
            env=env,
        )

        def on_sigterm(signum, frame):
            raise _Stop

        previous = signal.signal(signal.SIGTERM, on_sigterm)
        code = 0
        try:
            supervisor.start()
            url = f"http://{HOST}:{port}/"
            if wait_for_port(
                port, until_seconds=60, still_starting=lambda: supervisor.alive("web server")
            ):
                self.stdout.write(banner(result, url))
                # Out before the link: issuing it may wait on the database while the worker's
                # first cadence tick writes.
                self.stdout.flush()
                self.stdout.write(
                    f"Payer portal link (single use): {demo_portal_link(base_url=url)}"
                )
                self.stdout.flush()
            code = supervisor.watch()
        except (KeyboardInterrupt, _Stop):
            self.note("Stopping the web server, worker and scheduler…")
        finally:
            supervisor.stop()
            signal.signal(signal.SIGTERM, previous)
        if code:
            raise CommandError("The demo web server stopped unexpectedly.", returncode=1)
