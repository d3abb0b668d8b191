"""`plixo stripe connect|disconnect|status|replay|rotate-keys`.

    plixo stripe connect --org SLUG --secret-key K --webhook-secret S
    plixo stripe disconnect --org SLUG
    plixo stripe status --org SLUG
    plixo stripe replay [--failed] [--org SLUG]
    plixo stripe rotate-keys

Keys are stored encrypted and never printed back in full. `--json` prints one JSON object.
Exit codes: 0 ok, 2 bad usage, 1 internal error.
"""

import json

from django.core.management.base import BaseCommand

from plixo.core.models import Organization
from plixo.ledger.models import LedgerError
from plixo.ops.management.commands._output import fail
from plixo.payments.models import StripeAccount, StripeEvent, StripeEventStatus
from plixo.payments.stripe import accounts, webhooks

ACTIONS = ("connect", "disconnect", "status", "replay", "rotate-keys")


class Command(BaseCommand):
    help = (
        "Connect an organization to its Stripe account, show or drop the connection, "
        "reprocess stored webhook events, or re-encrypt stored keys under the current "
        "encryption key. Exit codes: 0 ok, 2 bad usage, 1 internal error."
    )

    def add_arguments(self, parser):
        parser.add_argument("action", help=f"One of: {', '.join(ACTIONS)}.")
        parser.add_argument("--org", default=None, help="The organization's slug.")
        parser.add_argument("--secret-key", default=None, help="sk_test_…/sk_live_… (connect).")
        parser.add_argument(
            "--webhook-secret", default=None, help="The endpoint's whsec_… (connect)."
        )
        parser.add_argument(
            "--failed", action="store_true", help="replay: only failed and waiting events."
        )
        parser.add_argument(
            "--json", action="store_true", dest="as_json", help="Print one JSON object."
        )

    def _organization(self, slug, as_json, *, required=True):
        if not slug:
            if required:
                raise fail(self, "--org SLUG is required.", as_json=as_json, returncode=2)
            return None
        organization = Organization.objects.filter(slug=slug).first()
        if organization is None:
            raise fail(self, f"No organization with slug {slug!r}.", as_json=as_json, returncode=2)
        return organization

    def _emit(self, result: dict, text: str, as_json: bool) -> None:
        self.stdout.write(json.dumps(result) if as_json else text)

    def handle(self, *args, action, org, secret_key, webhook_secret, failed, as_json, **options):
        if action not in ACTIONS:
            raise fail(
                self,
                f"Unknown action {action!r}: use {', '.join(ACTIONS)}.",
                as_json=as_json,
                returncode=2,
            )
        if action == "connect":
            organization = self._organization(org, as_json)
            if not secret_key or not webhook_secret:
                raise fail(
                    self,
                    "connect needs --secret-key and --webhook-secret.",
                    as_json=as_json,
                    returncode=2,
                )
            try:
                account = accounts.stripe_connect(
                    organization=organization, secret_key=secret_key, webhook_secret=webhook_secret
                )
            except LedgerError as exc:
                raise fail(self, str(exc), as_json=as_json, returncode=2) from exc
            self._emit(
                _status(organization, account),
                f"{organization.slug}: connected to Stripe ({account.secret_key_hint}, "
                f"{'live' if account.livemode else 'test'} mode). Webhook URL: "
                f"{_webhook_url(organization)}",
                as_json,
            )
        elif action == "disconnect":
            organization = self._organization(org, as_json)
            dropped = accounts.stripe_disconnect(organization=organization)
            self._emit(
                {"organization": organization.slug, "disconnected": dropped},
                f"{organization.slug}: "
                + (
                    "disconnected; payers use the sandbox (webhooks still accepted)."
                    if dropped
                    else "not connected."
                ),
                as_json,
            )
        elif action == "status":
            organization = self._organization(org, as_json)
            account = StripeAccount.objects.filter(organization=organization).first()
            result = _status(organization, account)
            text = f"{organization.slug}: " + (
                f"Stripe {account.secret_key_hint} "
                f"({'live' if account.livemode else 'test'} mode), "
                f"{result['events_failed']} failed, {result['events_waiting']} waiting, "
                f"{result['events_review']} to review"
                if account and account.is_connected
                else "not connected (payers use the sandbox)"
            )
            self._emit(result, text, as_json)
        elif action == "replay":
            organization = self._organization(org, as_json, required=False)
            counts = webhooks.events_replay(failed_only=failed, organization=organization)
            result = {"replayed": sum(counts.values()), "by_status": counts}
            text = f"{result['replayed']} events replayed: " + (
                ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
            )
            self._emit(result, text, as_json)
            if counts.get(StripeEventStatus.FAILED):
                raise SystemExit(1)
        else:
            count = accounts.stripe_keys_reencrypt()
            self._emit({"reencrypted": count}, f"{count} Stripe accounts re-encrypted.", as_json)


def _webhook_url(organization: Organization) -> str:
    from django.conf import settings

    return f"{settings.PLIXO_PUBLIC_URL}/webhooks/stripe/{organization.slug}/"


def _status(organization: Organization, account: StripeAccount | None) -> dict:
    events = StripeEvent.objects.filter(organization=organization)

    def count(status):
        return events.filter(status=status).count()

    return {
        "organization": organization.slug,
        "connected": account is not None and account.is_connected,
        "secret_key": account.secret_key_hint if account else None,
        "webhook_secret": account.webhook_secret_hint if account else None,
        "mode": ("live" if account.livemode else "test")
        if account and account.is_connected
        else None,
        "webhook_url": _webhook_url(organization),
        "events_failed": count(StripeEventStatus.FAILED),
        "events_waiting": count(StripeEventStatus.WAITING),
        "events_review": count(StripeEventStatus.REVIEW),
    }
