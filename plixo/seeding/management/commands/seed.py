"""`plixo seed --org SLUG --invoices N`: an organization with a login per role and N synthetic
invoices, fast enough for benchmarks (1,000,000 invoices in minutes).

Re-running against the same organization adds N more invoices (and customers) numbered after
the last seeded ones; users and memberships that exist are left alone.
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from plixo.seeding.bulk import invoices_seed
from plixo.seeding.members import DEMO_PASSWORD, organization_with_members


def count(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Create the organization SLUG if missing (logins <role>@SLUG.plixo.test, password "
        f"{DEMO_PASSWORD}) and add N synthetic invoices with customers, contacts and payments. "
        "Running it again adds N more with new numbers."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, metavar="SLUG", help="organization slug")
        parser.add_argument(
            "--invoices", required=True, type=count, metavar="N", help="invoices to add"
        )
        parser.add_argument(
            "--customers",
            type=count,
            default=None,
            metavar="C",
            help="customers to add (default: one per 20 invoices, at most 50,000; "
            "0 spreads the invoices over the existing customers)",
        )
        parser.add_argument(
            "--seed", type=int, default=0, metavar="S", help="random seed (default 0)"
        )
        parser.add_argument("--name", default="", help="name for a new organization")
        parser.add_argument(
            "--currency", default="USD", help="base currency for a new organization"
        )
        parser.add_argument("--time-zone", default="UTC", help="time zone for a new organization")
        parser.add_argument(
            "--all-open",
            action="store_true",
            help="seed every invoice open (no payments), e.g. for queue benchmarks",
        )
        parser.add_argument(
            "--batch-size", type=int, default=5000, help="invoices per transaction (default 5000)"
        )

    def note(self, text: str, ending: str = "\n") -> None:
        """Progress on stderr, in plain text (Django would colour all of stderr as errors)."""
        self.stderr.write(text, style_func=lambda plain: plain, ending=ending)

    def handle(self, *args, **options):
        # With DEBUG on, Django keeps (and on SQLite re-quotes) the SQL of every query; that
        # doubles the time of a million-row load and grows memory for nothing.
        settings.DEBUG = False
        slug = options["org"].strip().lower()
        quiet = options["verbosity"] == 0
        try:
            seeded = organization_with_members(
                slug=slug,
                name=options["name"] or slug.replace("-", " ").title(),
                base_currency=options["currency"].upper(),
                time_zone=options["time_zone"],
            )
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages), returncode=2) from exc
        org = seeded.organization
        if seeded.created:
            self.note(f"Created organization {org.name} ({org.slug}).")
        if seeded.users_created or seeded.memberships_created:
            self.note(
                f"Added {seeded.users_created} users and {seeded.memberships_created} "
                f"memberships (password {DEMO_PASSWORD})."
            )

        def progress(what: str, done: int, total: int, seconds: float) -> None:
            if quiet:
                return
            rate = done / seconds if seconds else 0
            line = f"\r  {what}: {done:,}/{total:,}  {seconds:6.1f} s  {rate:,.0f}/s   "
            self.note(line, ending="\n" if done == total else "")
            self.stderr.flush()

        try:
            summary = invoices_seed(
                organization=org,
                invoices=options["invoices"],
                customers=options["customers"],
                seed=options["seed"],
                all_open=options["all_open"],
                batch_size=options["batch_size"],
                progress=progress,
            )
        except ValueError as exc:
            raise CommandError(str(exc), returncode=2) from exc

        statuses = ", ".join(
            f"{status} {count:,}" for status, count in (summary.by_status or {}).items() if count
        )
        numbers = (
            f" ({summary.first_number} … {summary.last_number})" if summary.first_number else ""
        )
        self.stdout.write(
            f"Seeded {org.slug}: {summary.customers:,} customers, {summary.contacts:,} contacts, "
            f"{summary.invoices:,} invoices{numbers}, {summary.payments:,} payments, "
            f"{summary.events:,} timeline events in {summary.seconds:.1f} s."
        )
        if statuses:
            self.stdout.write(f"Statuses: {statuses}.")
