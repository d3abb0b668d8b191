"""Disputes a payer or the team raised on an invoice, and the evidence filed with them.

Attachment files live in private storage (`MEDIA_ROOT`, which no URL serves) under a random
name; the payer's file name is kept, sanitised, only to label the download. The one way to read
a file back is `disputes.views.attachment_download`, which checks the reader's access first.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from plixo.core.models import Organization
from plixo.ledger.models import Contact, Invoice, LedgerError, money_field


class DisputeSource(models.TextChoices):
    PORTAL = "portal", "Payer portal"
    STAFF = "staff", "Staff"
    API = "api", "API"
    STRIPE = "stripe", "Stripe chargeback"


class ReasonCode(models.TextChoices):
    PRICING = "pricing", "Pricing is wrong"
    QUANTITY = "quantity", "Quantity is wrong"
    QUALITY = "quality", "Quality problem"
    NOT_RECEIVED = "not_received", "Goods or services not received"
    DUPLICATE = "duplicate", "Duplicate invoice"
    ALREADY_PAID = "already_paid", "Already paid"
    OTHER = "other", "Other"


class Dispute(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        UNDER_REVIEW = "under_review", "Under review"
        RESOLVED_CREDIT = "resolved_credit", "Resolved with a credit"
        RESOLVED_WRITE_OFF = "resolved_write_off", "Resolved with a write-off"
        REJECTED = "rejected", "Rejected"

    TRANSITIONS = {
        Status.OPEN: frozenset(
            {
                Status.UNDER_REVIEW,
                Status.RESOLVED_CREDIT,
                Status.RESOLVED_WRITE_OFF,
                Status.REJECTED,
            }
        ),
        Status.UNDER_REVIEW: frozenset(
            {Status.RESOLVED_CREDIT, Status.RESOLVED_WRITE_OFF, Status.REJECTED}
        ),
        Status.RESOLVED_CREDIT: frozenset(),
        Status.RESOLVED_WRITE_OFF: frozenset(),
        Status.REJECTED: frozenset(),
    }
    BADGES = {
        "open": "disputed",
        "under_review": "warning",
        "resolved_credit": "ok",
        "resolved_write_off": "ok",
        "rejected": "void",
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="disputes")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="disputes"
    )
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices)
    amount = money_field()
    currency = models.CharField(max_length=3)
    description = models.TextField()
    source = models.CharField(
        max_length=10, choices=DisputeSource.choices, default=DisputeSource.STAFF
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The member working this dispute.",
    )
    sla_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the dispute must be answered (its SLA deadline)."
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="dispute_amount_positive"),
            models.CheckConstraint(
                condition=Q(reason_code__in=ReasonCode.values), name="dispute_reason_known"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "open",
                        "under_review",
                        "resolved_credit",
                        "resolved_write_off",
                        "rejected",
                    ]
                ),
                name="dispute_status_known",
            ),
            models.CheckConstraint(
                condition=Q(source__in=DisputeSource.values), name="dispute_source_known"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"]),
            models.Index(fields=["organization", "assignee", "status", "sla_due_at"]),
        ]

    def __str__(self) -> str:
        return f"Dispute ({self.get_reason_code_display()}) on invoice {self.invoice_id}"

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "disputed")

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.UNDER_REVIEW)

    def check_transition(self, wanted: str) -> None:
        if wanted != self.status and wanted not in self.TRANSITIONS[self.status]:
            raise LedgerError(
                f"A dispute that is {self.get_status_display().lower()} cannot become "
                f"{self.Status(wanted).label.lower()}."
            )


def attachment_path(instance: "DisputeAttachment", filename: str) -> str:
    """A random name under the organization's folder: the payer's name never reaches the disk."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"disputes/{instance.organization.public_id}/{uuid.uuid4().hex}.{extension}"


class DisputeAttachment(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    dispute = models.ForeignKey(Dispute, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=255)
    original_name = models.CharField(max_length=160)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="attachment_not_empty"),
        ]

    def __str__(self) -> str:
        return self.original_name
