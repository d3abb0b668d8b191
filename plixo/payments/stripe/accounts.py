"""Connecting an organization to its own Stripe account, and re-encrypting stored keys."""

import re

from django.db import transaction
from django.utils import timezone

from plixo.core import crypto
from plixo.core.models import Organization, User
from plixo.ledger.models import LedgerError
from plixo.payments.models import StripeAccount

SECRET_KEY_RE = re.compile(r"^(sk|rk)_(test|live)_[A-Za-z0-9]{8,250}$")
WEBHOOK_SECRET_RE = re.compile(r"^whsec_[A-Za-z0-9+/=]{8,250}$")


def _checked(secret_key: str, webhook_secret: str) -> tuple[str, str]:
    secret_key = (secret_key or "").strip()
    webhook_secret = (webhook_secret or "").strip()
    if not SECRET_KEY_RE.match(secret_key):
        raise LedgerError(
            "The secret key must be a Stripe secret or restricted key "
            "(sk_test_…, sk_live_…, rk_test_… or rk_live_…)."
        )
    if not WEBHOOK_SECRET_RE.match(webhook_secret):
        raise LedgerError(
            "The webhook signing secret must be the whsec_… value of the webhook endpoint "
            "(Stripe dashboard → Developers → Webhooks → Signing secret)."
        )
    return secret_key, webhook_secret


@transaction.atomic
def stripe_connect(
    *,
    organization: Organization,
    secret_key: str,
    webhook_secret: str,
    actor: User | None = None,
) -> StripeAccount:
    """Store (or replace) the organization's Stripe keys, encrypted. From now on its payers pay
    through Stripe."""
    secret_key, webhook_secret = _checked(secret_key, webhook_secret)
    account, _ = StripeAccount.objects.select_for_update().get_or_create(
        organization=organization,
        defaults={"connected_at": timezone.now()},
    )
    account.secret_key_encrypted = crypto.encrypt(secret_key)
    account.webhook_secret_encrypted = crypto.encrypt(webhook_secret)
    account.secret_key_hint = crypto.hint(secret_key)
    account.webhook_secret_hint = crypto.hint(webhook_secret)
    account.livemode = "_live_" in secret_key
    account.disconnected_at = None
    account.updated_by = actor
    account.api_failures = 0
    account.api_last_error = ""
    account.save()
    return account


@transaction.atomic
def stripe_disconnect(*, organization: Organization, actor: User | None = None) -> bool:
    """Stop taking payments through Stripe: the portal goes back to the sandbox. The keys are
    kept (encrypted) so that webhooks for money already on its way are still verified and
    applied; events and payments already recorded stay. False: it was not connected."""
    updated = StripeAccount.objects.filter(
        organization=organization, disconnected_at__isnull=True
    ).update(disconnected_at=timezone.now(), updated_by=actor)
    return bool(updated)


def stripe_keys_reencrypt() -> int:
    """Re-encrypt every stored key under the first configured encryption key (after a new key
    was put first in PLIXO_ENCRYPTION_KEYS). Returns how many accounts were rewritten."""
    count = 0
    for pk in StripeAccount.objects.values_list("pk", flat=True):
        with transaction.atomic():
            account = StripeAccount.objects.select_for_update().get(pk=pk)
            account.secret_key_encrypted = crypto.reencrypt(account.secret_key_encrypted)
            account.webhook_secret_encrypted = crypto.reencrypt(account.webhook_secret_encrypted)
            account.save(update_fields=["secret_key_encrypted", "webhook_secret_encrypted"])
            count += 1
    return count
