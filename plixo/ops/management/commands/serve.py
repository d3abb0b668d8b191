"""`plixo serve`: the production web server (gunicorn), after collecting static files."""

import os
import sys

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

DEFAULT_PORT = 8000


def cpu_count() -> int:
    # The CPUs this process may use (a container's quota), not the host's.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _positive_int(value: str, what: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"{what} must be a whole number, not {value!r}.", returncode=2) from None
    if number < 1:
        raise CommandError(f"{what} must be at least 1, not {number}.", returncode=2)
    return number


class Command(BaseCommand):
    help = (
        "Serve Plixo in production: collect static files (quietly), then replace this process "
        "with gunicorn running plixo.wsgi:application, access log on stdout. "
        "--bind ADDRESS (default 0.0.0.0:$PORT, PORT defaulting to 8000); "
        "--workers N (default $WEB_CONCURRENCY, else 2 x CPUs + 1); --threads N per worker "
        "(default 1); --timeout SECONDS before a stuck worker is restarted (default 30); "
        "--no-collectstatic to skip collecting. Uses plixo.settings.production unless "
        "DJANGO_SETTINGS_MODULE says otherwise, so SECRET_KEY must be set. Behind a proxy, "
        "gunicorn reads FORWARDED_ALLOW_IPS from the environment."
    )

    def add_arguments(self, parser):
        parser.add_argument("--bind", help="Address to listen on, host:port or unix:PATH.")
        parser.add_argument("--workers", help="Worker processes.")
        parser.add_argument("--threads", default="1", help="Threads per worker (default 1).")
        parser.add_argument("--timeout", default="30", help="Worker timeout in seconds.")
        parser.add_argument(
            "--no-collectstatic",
            action="store_false",
            dest="collectstatic",
            help="Do not run collectstatic first.",
        )

    def gunicorn_argv(self, *, bind=None, workers=None, threads="1", timeout="30") -> list[str]:
        if not bind:
            port = _positive_int(os.environ.get("PORT", str(DEFAULT_PORT)), "PORT")
            bind = f"0.0.0.0:{port}"
        if workers is None:
            workers = os.environ.get("WEB_CONCURRENCY") or str(2 * cpu_count() + 1)
        workers = _positive_int(workers, "The number of workers")
        threads = _positive_int(threads, "The number of threads")
        timeout = _positive_int(timeout, "The timeout")
        return [
            sys.executable,
            "-m",
            "gunicorn",
            "plixo.wsgi:application",
            "--bind",
            bind,
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--timeout",
            str(timeout),
            "--access-logfile",
            "-",
            # Payer links carry their token in the path: log it masked.
            "--logger-class",
            "plixo.ops.gunicorn_logging.RedactingLogger",
            "--error-logfile",
            "-",
        ]

    def handle(self, *args, bind, workers, threads, timeout, collectstatic, **options):
        argv = self.gunicorn_argv(bind=bind, workers=workers, threads=threads, timeout=timeout)
        if collectstatic:
            call_command("collectstatic", interactive=False, verbosity=0)
        self.stderr.write(f"Starting gunicorn: {' '.join(argv[3:])}")
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(argv[0], argv)  # noqa: S606 - replaces this process; fixed argv, no shell
