"""`plixo apikey {create|list|revoke}`: per-user API keys.

`create` prints the new key alone on stdout (so `KEY=$(plixo apikey create …)` works); it is
shown once and only its hash is kept. Exit codes: 0 ok, 2 bad usage or an unknown user,
organization, membership or key.
"""

import json
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError

from plixo.api.selectors import api_key_by_prefix, api_keys_for, member_by_email
from plixo.api.services import ApiKeyError, api_key_create, api_key_revoke
from plixo.core.models import Organization

CLI_ACTOR = "command line"


def _iso(value):
    return value.astimezone(UTC).isoformat() if value else None


def _human(value):
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if value else "-"


class Command(BaseCommand):
    help = (
        "Manage API keys. `create --email E --org SLUG [--name N]` prints the new key alone on "
        "stdout; `list --org SLUG [--json]` shows the organization's keys (never the secrets); "
        "`revoke PREFIX --org SLUG` stops a key for good. Exit 2 for bad usage or an unknown "
        "user, organization, membership or key."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,revoke}"
        )
        create = actions.add_parser("create", help="Create a key for a member.")
        create.add_argument("--email", required=True, help="The member's email address.")
        create.add_argument("--org", required=True, help="The organization's slug.")
        create.add_argument("--name", default="", help="A label, e.g. the integration's name.")

        listing = actions.add_parser("list", help="List an organization's keys.")
        listing.add_argument("--org", required=True, help="The organization's slug.")
        listing.add_argument("--json", action="store_true", dest="as_json")

        revoke = actions.add_parser("revoke", help="Revoke a key by its prefix.")
        revoke.add_argument("prefix", help="The key's prefix, e.g. plx_1a2b3c4d.")
        revoke.add_argument("--org", required=True, help="The organization's slug.")
        revoke.add_argument("--reason", default="", help="Why, for the audit trail.")

    def handle(self, *args, action: str, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.", returncode=2)
        if action == "create":
            self._create(organization, options["email"], options["name"])
        elif action == "list":
            self._list(organization, options["as_json"])
        else:
            self._revoke(organization, options["prefix"], options["reason"])

    def _create(self, organization, email: str, name: str):
        membership = member_by_email(organization=organization, email=email, active_only=False)
        if membership is None:
            raise CommandError(
                f"{email} is not a member of {organization.slug} (or has no account).",
                returncode=2,
            )
        try:
            key, raw = api_key_create(membership=membership, name=name, actor_label=CLI_ACTOR)
        except ApiKeyError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        self.stdout.write(raw)
        self.stderr.write(
            f"Created key plx_{key.prefix} for {membership.user.email} "
            f"({membership.get_role_display()} in {organization.slug}). "
            "It is shown only this once."
        )

    def _list(self, organization, as_json: bool):
        keys = list(api_keys_for(organization=organization))
        if as_json:
            rows = [
                {
                    "prefix": f"plx_{key.prefix}",
                    "name": key.name,
                    "user": key.user.email,
                    "created_at": _iso(key.created_at),
                    "last_used_at": _iso(key.last_used_at),
                    "revoked_at": _iso(key.revoked_at),
                }
                for key in keys
            ]
            self.stdout.write(json.dumps({"organization": organization.slug, "keys": rows}))
            return
        if not keys:
            self.stdout.write(f"No API keys in {organization.slug}.")
            return
        table = [("PREFIX", "NAME", "USER", "CREATED", "LAST USED", "STATUS")]
        for key in keys:
            status = f"revoked {_human(key.revoked_at)}" if key.revoked_at else "active"
            table.append(
                (
                    f"plx_{key.prefix}",
                    key.name or "-",
                    key.user.email,
                    _human(key.created_at),
                    _human(key.last_used_at),
                    status,
                )
            )
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            self.stdout.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )

    def _revoke(self, organization, prefix: str, reason: str):
        key = api_key_by_prefix(organization=organization, prefix=prefix)
        if key is None:
            raise CommandError(f"No API key {prefix!r} in {organization.slug}.", returncode=2)
        if key.revoked_at is not None:
            self.stdout.write(
                f"Key plx_{key.prefix} was already revoked on {_human(key.revoked_at)}."
            )
            return
        key = api_key_revoke(key=key, actor_label=CLI_ACTOR, reason=reason)
        self.stdout.write(f"Revoked key plx_{key.prefix} of {key.user.email}.")
