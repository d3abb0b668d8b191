import uuid

from django.conf import settings
from django.db import models

from plixo.core.models import Organization


class ApiKey(models.Model):
    """A per-user API key. Only the SHA-256 of the secret is kept; the key acts with its
    user's role in its organization, and stops working when the membership does."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, help_text="Shown to help people tell keys apart.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The prefix names a key in `plixo apikey revoke PREFIX`, so it must be unambiguous.
            models.UniqueConstraint(fields=["prefix"], name="apikey_prefix_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"
