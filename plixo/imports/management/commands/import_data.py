"""`plixo import {customers|contacts|invoices|payments|aging} FILE --org SLUG [--json]`.

Exit 0 when the import did its job (rejected rows included: they are in the reject log), 2 for
bad usage or a file rejected whole (undecodable, missing a required column, all or nothing with
rejected rows), 1 when the import failed part-way.
"""

import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from plixo.core.models import Organization
from plixo.imports.models import DateFormat, ImportKind, ImportStatus, NumberFormat
from plixo.imports.pipeline.validate import ERROR_CODES
from plixo.imports.services import ImportsError, import_file


class Command(BaseCommand):
    help = "Import a CSV file of customers, contacts, invoices, payments or an ERP aging export."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=ImportKind.values)
        parser.add_argument("file", type=Path)
        parser.add_argument("--org", required=True, metavar="SLUG", help="organization slug")
        parser.add_argument("--json", action="store_true", help="print the summary as JSON")
        parser.add_argument(
            "--all-or-nothing",
            action="store_true",
            help="load nothing if any row is rejected",
        )
        parser.add_argument(
            "--date-format",
            choices=DateFormat.values,
            default=DateFormat.AUTO,
            help="regional date format accepted besides ISO 8601 (default: auto, found in the "
            "file; a file whose every date reads both ways is refused until you choose)",
        )
        parser.add_argument(
            "--number-format",
            choices=NumberFormat.values,
            default=NumberFormat.AUTO,
            help="point: 1,234.56; comma: 1.234,56 (default: auto, found in the file)",
        )

    def handle(self, *args, **options):
        settings.DEBUG = False  # no per-query SQL log on a million-row file
        organization = Organization.objects.filter(slug=options["org"].strip().lower()).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.", returncode=2)
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}", returncode=2)
        try:
            batch = import_file(
                organization=organization,
                kind=options["kind"],
                path=path,
                all_or_nothing=options["all_or_nothing"],
                date_format=options["date_format"],
                number_format=options["number_format"],
            )
        except (ImportsError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        summary = dict(batch.summary)
        if summary.get("reject_log"):
            summary["reject_log"] = batch.reject_log.path
        if options["json"]:
            self.stdout.write(json.dumps({**summary, "status": batch.status, "error": batch.error}))
        else:
            self._print(batch, summary)
        if batch.status == ImportStatus.REJECTED:
            raise SystemExit(2)
        if batch.status == ImportStatus.FAILED:
            raise SystemExit(1)

    def _print(self, batch, summary):
        write = self.stdout.write
        write(f"{batch.get_kind_display()} import {batch.public_id}: {batch.get_status_display()}")
        if batch.error:
            write(batch.error)
        write(
            f"rows {summary['rows']:,}  accepted {summary['accepted']:,}  "
            f"rejected {summary['rejected']:,}  created {summary['created']:,}  "
            f"updated {summary['updated']:,}"
        )
        for code, count in summary["errors_by_code"].items():
            write(f"  {count:>8,}  {code}  ({ERROR_CODES.get(code, code)})")
        for note in summary.get("notes") or []:
            write(f"Note: {note}")
        if summary.get("reject_log"):
            write(f"Reject log: {summary['reject_log']}")
