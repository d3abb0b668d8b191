"""Writes for API keys. Every key created or revoked leaves an audit event.

A raw key looks like `plx_<prefix>_<secret>`: the prefix (8 hex characters) is stored in clear
so people can tell keys apart and revoke one by name; the secret is 256 random bits. Only the
SHA-256 of the whole raw key is stored, and the raw key is shown once, at creation.
"""

import datetime as dt
import hashlib
import secrets

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from plixo.api.models import ApiKey
from plixo.core.models import AuditEvent, Membership, User

KEY_SCHEME = "plx"
PREFIX_BYTES = 4  # 8 hex characters
SECRET_BYTES = 32  # 256 bits from `secrets`, far above the 128 the security promise asks for
# Refreshing `last_used_at` on every request would turn every read into a write.
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


class ApiKeyError(ValueError):
    """An API key operation that cannot be done; the message is meant for the user."""


def api_key_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _audit_actor(actor: User | None, actor_label: str | None) -> dict:
    if actor is not None:
        return {"actor": actor, "actor_label": actor_label or str(actor)}
    return {"actor": None, "actor_label": actor_label or "system"}


def api_key_create(
    *,
    membership: Membership,
    name: str = "",
    actor: User | None = None,
    actor_label: str | None = None,
) -> tuple[ApiKey, str]:
    """Create a key that acts as `membership` (its user, role and organization).

    Returns the stored key and the raw key; the raw key is not kept anywhere.
    """
    if not membership.is_active:
        raise ApiKeyError("That membership is inactive; it cannot have API keys.")
    name = name.strip()
    if len(name) > ApiKey._meta.get_field("name").max_length:
        raise ApiKeyError("A key name is at most 100 characters.")
    # A prefix collision (one in four billion per pair) is retried with a fresh prefix; the
    # unique constraint, not the retry, is what guarantees two keys never share one.
    for _ in range(5):
        prefix = secrets.token_hex(PREFIX_BYTES)
        raw = f"{KEY_SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(
                    user=membership.user,
                    organization=membership.organization,
                    name=name,
                    prefix=prefix,
                    key_hash=api_key_hash(raw),
                )
                AuditEvent.objects.create(
                    organization=membership.organization,
                    subject=membership.user,
                    action=AuditEvent.Action.API_KEY_CREATED,
                    before={},
                    after={"prefix": prefix, "name": name, "role": membership.role},
                    **_audit_actor(actor, actor_label),
                )
        except IntegrityError:
            continue
        return key, raw
    raise ApiKeyError("Could not create a unique key; try again.")


@transaction.atomic
def api_key_revoke(
    *,
    key: ApiKey,
    actor: User | None = None,
    actor_label: str | None = None,
    reason: str = "",
) -> ApiKey:
    """Revoke a key for good. Revoking an already revoked key changes nothing."""
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    if key.revoked_at is not None:
        return key
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    AuditEvent.objects.create(
        organization_id=key.organization_id,
        subject_id=key.user_id,
        action=AuditEvent.Action.API_KEY_REVOKED,
        before={"prefix": key.prefix, "name": key.name},
        after={"revoked_at": key.revoked_at.isoformat()},
        reason=reason.strip(),
        **_audit_actor(actor, actor_label),
    )
    return key


def api_key_touch(*, key: ApiKey, now: dt.datetime | None = None) -> bool:
    """Record that the key was used, at most once per `LAST_USED_RESOLUTION`.

    The conditional update keeps concurrent requests from all writing; returns whether this
    call wrote.
    """
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return False
    stale_before = now - LAST_USED_RESOLUTION
    updated = (
        ApiKey.objects.filter(pk=key.pk)
        .filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=stale_before))
        .update(last_used_at=now)
    )
    if updated:
        key.last_used_at = now
    return bool(updated)
