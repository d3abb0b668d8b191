"""`plixo worker`: the background worker, django-tasks-db's `db_worker` with Plixo's defaults."""

import signal

from django.core.management.base import BaseCommand
from django_tasks_db.management.commands.db_worker import Command as DbWorkerCommand


class Command(BaseCommand):
    help = (
        "Run the background worker: it takes queued tasks from the database and runs them, one "
        "at a time per process; start several for more throughput (PostgreSQL hands each task "
        "to exactly one of them). Every option of django-tasks-db's db_worker is accepted; "
        "Plixo's defaults are all queues (--queue-name '*') and no autoreload (--reload to "
        "turn it on in development). --batch drains the queue and exits. SIGTERM or SIGINT "
        "finishes the current task, then stops."
    )

    def add_arguments(self, parser):
        DbWorkerCommand().add_arguments(parser)
        parser.set_defaults(queue_name="*", reload=False)

    def handle(self, *args, **options):
        worker = DbWorkerCommand(stdout=self.stdout._out, stderr=self.stderr._out)
        # db_worker installs its own SIGTERM/SIGINT handlers and leaves them behind; put the
        # previous ones back so a caller (a test, `plixo demo`) keeps its own.
        signals = [signal.SIGTERM, signal.SIGINT]
        if hasattr(signal, "SIGQUIT"):
            signals.append(signal.SIGQUIT)
        previous = {sig: signal.getsignal(sig) for sig in signals}
        try:
            worker.handle(*args, **options)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
