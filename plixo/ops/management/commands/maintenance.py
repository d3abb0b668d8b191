"""`plixo maintenance {on|off|status} [--message M] [--json]`: the maintenance switch."""

import json

from django.core.management.base import BaseCommand

from plixo.ops import services
from plixo.ops.management.commands._output import fail, human_time, maintenance_dict
from plixo.ops.selectors import maintenance_state

ACTIONS = ("on", "off", "status")


class Command(BaseCommand):
    help = (
        "Turn maintenance mode on or off, or show it. While it is on, payer pages (/p/ and "
        "/portal/) answer a maintenance page with status 503 and Retry-After, nothing is sent, "
        "and staff see a banner. --message sets the text payers read (with `on`). --json prints "
        "one JSON object. Exit codes: 0 ok, 2 bad usage, 1 internal error."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", help="One of: on, off, status.")
        parser.add_argument("--message", default="", help="Shown to payers while it is on.")
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )

    def handle(self, *args, action: str, message: str, as_json: bool, **options):
        if action not in ACTIONS:
            raise fail(
                self,
                f"Unknown action {action!r}: use on, off or status.",
                as_json=as_json,
                returncode=2,
            )
        if message and action != "on":
            raise fail(self, "--message goes with `on`.", as_json=as_json, returncode=2)
        if action == "status":
            state = maintenance_state()
        else:
            try:
                state = services.maintenance_set(
                    enabled=action == "on", message=message, actor_label="command line"
                )
            except ValueError as exc:
                raise fail(self, str(exc), as_json=as_json, returncode=2) from exc
        if as_json:
            self.stdout.write(json.dumps(maintenance_dict(state), sort_keys=True))
            return
        if state.enabled:
            line = f"Maintenance mode is ON since {human_time(state.changed_at)}"
            line += f" ({state.changed_by_label})." if state.changed_by_label else "."
            if state.message:
                line += f" Message: {state.message}"
        else:
            line = "Maintenance mode is off."
        self.stdout.write(line)
