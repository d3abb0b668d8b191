"""`plixo org {live|test|status} --org SLUG [--test-address EMAIL] [--json]`: an organization's
sending mode. In test mode every email goes to the organization's test address, marked as a
test; live, email goes to payers."""

import json

from django.core.management.base import BaseCommand

from plixo.comms.services import sending_settings_for
from plixo.core.models import Organization
from plixo.ledger.models import LedgerError
from plixo.ops.management.commands._output import fail

ACTIONS = ("live", "test", "status")


class Command(BaseCommand):
    help = (
        "Switch an organization's email live or back to test mode, or show its mode. "
        "--test-address sets the address test-mode email goes to. --json prints one JSON "
        "object. Exit codes: 0 ok, 2 bad usage, 1 internal error."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", help="One of: live, test, status.")
        parser.add_argument("--org", required=True, help="The organization's slug.")
        parser.add_argument("--test-address", default=None, help="Where test-mode email goes.")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )

    def handle(self, *args, action, org, test_address, as_json, **options):
        from plixo.comms.services.settings import organization_live_set, sending_settings_update

        if action not in ACTIONS:
            raise fail(
                self,
                f"Unknown action {action!r}: use live, test or status.",
                as_json=as_json,
                returncode=2,
            )
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise fail(self, f"No organization with slug {org!r}.", as_json=as_json, returncode=2)
        try:
            if test_address is not None:
                sending_settings_update(
                    organization=organization, actor=None, test_address=test_address
                )
            if action != "status":
                organization = organization_live_set(
                    organization=organization, live=action == "live", actor=None
                )
        except LedgerError as exc:
            raise fail(self, str(exc), as_json=as_json, returncode=2) from exc
        sending = sending_settings_for(organization)
        result = {
            "organization": organization.slug,
            "mode": "live" if organization.is_live else "test",
            "test_address": sending.test_address,
        }
        if as_json:
            self.stdout.write(json.dumps(result, sort_keys=True))
            return
        if organization.is_live:
            self.stdout.write(f"{organization.name} is live: email goes to payers.")
        else:
            self.stdout.write(
                f"{organization.name} is in test mode: every email goes to "
                f"{sending.test_address or '(no test address set: email is held)'}."
            )
