"""`plixo scheduler`: enqueue due periodic jobs, as the single leader among all schedulers."""

from django.core.management.base import BaseCommand, CommandError

from plixo.ops import services
from plixo.ops.scheduler import DEFAULT_INTERVAL, Scheduler


def positive_float(value: str) -> float:
    number = float(value)
    if not number > 0 or number == float("inf"):
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Run the scheduler: every --interval seconds, enqueue each unpaused job whose next run "
        "is due. Run one per host if you like; a database lease elects a single leader and a "
        "standby takes over within 30 seconds if the leader dies. Stops cleanly on SIGTERM or "
        "SIGINT. --once runs one tick and exits (for cron and tests)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--interval",
            type=positive_float,
            default=DEFAULT_INTERVAL,
            help="Seconds between ticks (default: %(default)s).",
        )
        parser.add_argument("--once", action="store_true", help="Run a single tick, then exit.")

    def handle(self, *args, interval: float, once: bool, **options):
        scheduler = Scheduler(interval=interval)
        if not once:
            scheduler.run()
            return
        services.jobs_sync()
        try:
            outcome = scheduler.tick()
        except Exception as exc:
            raise CommandError(f"Scheduler tick failed: {exc}", returncode=1) from exc
        finally:
            services.lease_release(holder=scheduler.holder)
        if not outcome.leader:
            self.stdout.write("Another scheduler holds the lease; nothing enqueued.")
        elif outcome.enqueued:
            self.stdout.write("Enqueued: " + ", ".join(outcome.enqueued))
        else:
            self.stdout.write("No job was due.")
