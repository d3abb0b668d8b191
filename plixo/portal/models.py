"""Payer links, the portal sessions they open, and the portal funnel events.

A link's raw token is never stored: only its SHA-256 hex digest, which is also how a link is
found. A link is used once: the payer's click (a POST) consumes it with a conditional update and
starts one portal session bound to the link's invoice. Links and sessions lapse after
`settings.PORTAL_IDLE_DAYS` without activity (sliding).
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from plixo.core.models import Organization
from plixo.ledger.models import Contact, Invoice


class LinkState(models.TextChoices):
    ACTIVE = "active", "Active"
    CONSUMED = "consumed", "Already used"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Replaced by a newer link"
    UNKNOWN = "unknown", "Not recognised"


class LinkSource(models.TextChoices):
    STAFF = "staff", "A member of staff"
    EMAIL = "email", "An email to the payer"
    RENEWAL = "renewal", "The payer's renewal request"
    DEMO = "demo", "The demo set-up"


class PortalLink(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="portal_links")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="portal_links"
    )
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    source = models.CharField(
        max_length=10,
        choices=LinkSource.choices,
        blank=True,
        default="",
        db_default="",
        help_text="What issued the link; empty for links issued before it was recorded.",
    )
    consumed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106 - a pattern
                name="portal_link_hash_is_sha256",
            ),
        ]
        indexes = [models.Index(fields=["invoice", "-created_at"])]

    def __str__(self) -> str:
        return f"Portal link {self.public_id} for invoice {self.invoice_id}"


class PortalSession(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # One link opens at most one session: the database holds that line even if the
    # conditional update that guards consumption were ever bypassed.
    link = models.OneToOneField(PortalLink, on_delete=models.CASCADE, related_name="session")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="portal_sessions")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self) -> str:
        return f"Portal session {self.public_id}"


class PortalEventKind(models.TextChoices):
    LINK_OPENED = "link_opened", "Link opened"
    INVOICE_VIEWED = "invoice_viewed", "Invoice viewed"
    PAY_CLICKED = "pay_clicked", "Pay clicked"
    PAID = "paid", "Paid"
    PLAN_PROPOSED = "plan_proposed", "Plan proposed"
    PROMISE_MADE = "promise_made", "Promise made"
    DISPUTE_FILED = "dispute_filed", "Dispute filed"


class PortalEvent(models.Model):
    """One step of the payer funnel, per invoice (PORTAL-9). The funnel counts invoices that
    reached each step; `invoice_viewed` is recorded at most once per portal session per
    `services.VIEW_EVENT_EVERY` (30 minutes), not on every reload."""

    Kind = PortalEventKind

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="portal_events")
    session = models.ForeignKey(
        PortalSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=PortalEventKind.values), name="portal_event_kind_known"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "kind", "at"]),
            models.Index(fields=["invoice", "kind"]),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.invoice_id} at {self.at:%Y-%m-%d %H:%M}"
