"""Internal notes on invoices and disputes, and the @mentions in them.

A note belongs to one invoice, and optionally to one of that invoice's disputes. A reply points
at the note it answers; replies are one level deep (a reply to a reply joins the same thread).
Each member a note mentions gets one `Mention` row: it is the in-app notification (unread until
the member reads or answers it) and it records the email sent about it.

Notes are internal: nothing here is ever shown to payers.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from plixo.core.models import Organization
from plixo.ledger.models import Invoice

BODY_MAX_LENGTH = 2000


class Note(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="notes")
    dispute = models.ForeignKey(
        "disputes.Dispute",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notes",
        help_text="Set when the note is about one of the invoice's disputes.",
    )
    parent = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="replies",
        help_text="The note this one answers (always a thread's first note).",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_label = models.CharField(max_length=200, blank=True)
    body = models.TextField()
    payment_reference = models.CharField(
        max_length=120,
        blank=True,
        help_text="One of the invoice's payments this note is about (a refund issued in Stripe).",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=~Q(body=""), name="note_body_not_empty"),
        ]
        indexes = [
            models.Index(fields=["invoice", "created_at"]),
            models.Index(fields=["dispute", "created_at"]),
            models.Index(fields=["organization", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"Note by {self.author_label or 'system'} on invoice {self.invoice_id}"


class Mention(models.Model):
    """A member named with @handle in a note. Unread until the member marks it read or
    answers it (a reply in the note's thread); `emailed_at` says the email went out."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    note = models.ForeignKey(Note, on_delete=models.CASCADE, related_name="mentions")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="note_mentions"
    )
    handle = models.CharField(max_length=64, help_text="The handle as it was written, without @.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answer = models.ForeignKey(
        Note,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The member's reply that answered this mention.",
    )
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["note", "user"], name="mention_one_per_note_and_user"),
            models.CheckConstraint(
                condition=Q(answered_at__isnull=True) | Q(read_at__isnull=False),
                name="mention_answered_is_read",
            ),
        ]
        indexes = [
            # The member's queue and unread badge: their unread mentions, newest first.
            models.Index(
                fields=["organization", "user", "read_at", "-created_at"],
                name="mention_member_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"@{self.handle} in note {self.note_id}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def is_answered(self) -> bool:
        return self.answered_at is not None
