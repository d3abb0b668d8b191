"""The child processes of `test_killed_worker.py`: each is a real Python process with its
own database connection, run as `python -m tests.comms.killed_worker_child COMMAND`.

- `migrate`: migrate the (empty) database.
- `setup`: create a live organization whose send window is always open, an overdue invoice,
  let the tick draft its reminder and approve it (queued in the outbox); prints the state.
- `send [--later SECONDS]`: one run of the outbox job (`outbox_send`), "now" shifted by SECONDS
  (to step past the claim lease); prints the counts and the state after it.
- `state`: the message's status and the invoice's timeline kinds.

`block_after_claim` and `BlockingEmailBackend` are the two places a worker is killed: right
after it claimed the message, and while the email is being handed to the provider. Each writes
the marker file named by KILLED_MARKER, then sleeps until the test kills the process.
"""

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from django.core.mail.backends.filebased import EmailBackend

BLOCK_SECONDS = 60


def _marker() -> None:
    Path(os.environ["KILLED_MARKER"]).write_text(str(os.getpid()))


def block_after_claim(message) -> None:
    """COMMS_OUTBOX_AFTER_CLAIM hook: the claim is committed, nothing sent yet."""
    _marker()
    time.sleep(BLOCK_SECONDS)


class BlockingEmailBackend(EmailBackend):
    """The provider takes the email (it is written to the file), then the worker hangs before
    it hears back."""

    def send_messages(self, email_messages):
        sent = super().send_messages(email_messages)
        _marker()
        time.sleep(BLOCK_SECONDS)
        return sent


def _setup() -> dict:
    from plixo.comms.models import Message
    from plixo.comms.services import cadence_tick, message_approve, sending_settings_for
    from tests.factories import (
        ContactFactory,
        CustomerFactory,
        InvoiceFactory,
        OrganizationFactory,
    )

    org = OrganizationFactory(
        slug="killed",
        name="Killed Worker Ltd",
        time_zone="UTC",
        is_live=True,
        # 00:00–00:00 is an overnight window that never closes: the test runs at any hour.
        quiet_hours_start=dt.time(0, 0),
        quiet_hours_end=dt.time(0, 0),
    )
    sending = sending_settings_for(org)
    sending.test_address = "ar-test@killed.example"
    sending.send_on_weekends = True
    sending.skip_holidays = False
    sending.save()
    customer = CustomerFactory(organization=org, time_zone="UTC", country="GB")
    ContactFactory(customer=customer, email="ap@payer.example", is_primary=True)
    today = dt.date.today()
    invoice = InvoiceFactory(
        customer=customer,
        organization=org,
        issue_date=today - dt.timedelta(days=34),
        due_date=today - dt.timedelta(days=4),
    )
    cadence_tick()
    message = Message.objects.get(invoice=invoice)
    message_approve(message=message, actor=None)
    return _state()


def _send(later: float) -> dict:
    from django.utils import timezone

    from plixo.comms.services import outbox_send

    counts = outbox_send(now=timezone.now() + dt.timedelta(seconds=later))
    return {**counts, "state": _state()}


def _state() -> dict:
    from plixo.comms.models import Message
    from plixo.ledger.models import TimelineEvent

    message = Message.objects.get()
    kinds = list(
        TimelineEvent.objects.filter(invoice_id=message.invoice_id)
        .order_by("at", "pk")
        .values_list("kind", flat=True)
    )
    return {
        "status": message.status,
        "attempts": message.attempts,
        "claimed": message.claimed_at is not None,
        "send_started": message.send_started_at is not None,
        "portal_link": message.portal_link_id,
        "events": kinds,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="killed_worker_child")
    parser.add_argument("command", choices=["migrate", "setup", "send", "state"])
    parser.add_argument("--later", type=float, default=0.0)
    args = parser.parse_args(argv)
    import django

    django.setup()
    if args.command == "migrate":
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        result = {"migrated": True}
    elif args.command == "setup":
        result = _setup()
    elif args.command == "send":
        result = _send(args.later)
    else:
        result = _state()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
