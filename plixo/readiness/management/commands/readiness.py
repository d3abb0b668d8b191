"""`plixo readiness --org SLUG [--json]`: run the Data-Ready checks of an organization and
save the run. Exit codes: 0 all checks passed, 1 a check failed, 2 bad usage (unknown slug)."""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

from plixo.core.models import Organization
from plixo.readiness.services import readiness_run


class Command(BaseCommand):
    help = (
        "Run an organization's Data-Ready checks (contact coverage, aging parity, dispute smoke "
        "test) and save the run. --json prints one JSON object. Exit codes: 0 all passed, "
        "1 a check failed, 2 bad usage."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )

    def handle(self, *args, org: str, as_json: bool, **options):
        organization = Organization.objects.filter(slug=(org or "").strip()[:60]).first()
        if organization is None:
            if as_json:
                self.stdout.write(json.dumps({"error": f"No organization with slug {org!r}."}))
            raise CommandError(f"No organization with slug {org!r}.", returncode=2)
        run = readiness_run(organization=organization, actor=None)
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "organization": organization.slug,
                        "ran_at": run.ran_at.isoformat(),
                        "passed": run.passed,
                        "checks": run.results,
                    },
                    sort_keys=True,
                    default=str,
                )
            )
        else:
            self._table(organization, run)
        if not run.passed:
            sys.exit(1)

    def _table(self, organization, run):
        rows = [("Check", "Result", "Figure", "Threshold")]
        for check in run.results:
            status = "PASS" if check["passed"] else "FAIL"
            rows.append((check["title"], status, check["figure"], check["threshold"]))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        self.stdout.write(f"Data-Ready · {organization.name} ({organization.slug})")
        for row in rows:
            self.stdout.write("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)))
        for check in run.results:
            if not check["passed"]:
                self.stdout.write(f"\n{check['title']}: {check['remediation']}")
        verdict = "All checks passed." if run.passed else "Not ready: a check failed."
        self.stdout.write(f"\n{verdict}")
