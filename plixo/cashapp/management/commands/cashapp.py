"""`plixo cashapp import FILE --org SLUG [--format bai2|camt|ofx|csv] [--currency CCY] [--json]`.

Exit 0 when the statement was read (rejected lines included: they are listed), 2 for bad usage
or a file rejected whole (nothing written), 1 for an internal error.
"""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from plixo.cashapp.models import CashError, StatementFormat
from plixo.cashapp.parsers import MAX_FILE_BYTES
from plixo.cashapp.services import statement_import
from plixo.core.models import Organization

SUMMARY_KEYS = (
    "statement_id",
    "lines",
    "receipts",
    "duplicates",
    "rejected",
    "auto_applied",
    "suggested",
    "unmatched",
    "payouts",
)


class Command(BaseCommand):
    help = "Cash application: import a bank statement (BAI2, camt.053/054, OFX or bank CSV)."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("import", help="import a bank statement and match its lines")
        run.add_argument("file", type=Path)
        run.add_argument("--org", required=True, metavar="SLUG", help="organization slug")
        run.add_argument(
            "--format",
            choices=StatementFormat.values,
            default=None,
            help="the file's format (default: recognised from its content)",
        )
        run.add_argument(
            "--currency", default="", help="currency of a CSV file without a currency column"
        )
        run.add_argument("--json", action="store_true", help="print the summary as JSON")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"].strip().lower()).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.", returncode=2)
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}", returncode=2)
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it by date.",
                returncode=2,
            )
        try:
            statement = statement_import(
                organization=organization,
                data=path.read_bytes(),
                file_name=path.name,
                format=options["format"],
                default_currency=options["currency"].strip().upper(),
            )
        except (CashError, OSError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        summary = statement.summary()
        if options["json"]:
            self.stdout.write(json.dumps(summary))
            return
        write = self.stdout.write
        write(f"{statement.get_format_display()} statement {statement.public_id}")
        write("  ".join(f"{key} {summary[key]:,}" for key in SUMMARY_KEYS[1:]))
        for reject in summary["rejects"]:
            write(f"  line {reject['line']}: {reject['message']}")
        for note in summary["notes"]:
            write(f"Note: {note}")
