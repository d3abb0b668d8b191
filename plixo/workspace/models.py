"""The operator's workspace: the persisted rank of each open invoice in its collector's queue,
escalations to the A/R Manager, the organization's escalation rule and each member's daily
queue snapshot (the burn-down).

`QueueEntry.rank` is chosen so that it never has to change as days pass: an item's urgency
grows by the same amount every day for every invoice (days overdue), so the order of
`rank = weights(risk, amount, segment) − due date × day weight` is the order of the full score
on any day. Only a change to the invoice or its customer (balance, risk, collector, cadence)
moves it: the ledger's hook (`workspace.services.queue_entry_write`) rewrites an invoice's
rank in the transaction that changes it, and the `workspace.queue_refresh` job catches up what
the hook does not see (`queue_entries_catch_up`).
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from plixo.core.models import Membership, Organization
from plixo.ledger.models import Invoice, LedgerError

ESCALATE_AFTER_DEFAULT = 3
ESCALATE_AFTER_MAX = 20


class WorkspaceError(LedgerError):
    """A workspace write that breaks a rule; the message is meant for the user."""


class QueueEntry(models.Model):
    """One open invoice's place in its collector's queue."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="queue_entry")
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The customer's collector when the rank was written (re-checked on read).",
    )
    rank = models.BigIntegerField(help_text="Higher first; see the module docstring.")
    segment = models.CharField(max_length=120, blank=True)
    # After an operator worked the invoice (a note, an email): not shown again before this day.
    snoozed_until = models.DateField(null=True, blank=True)
    refreshed_at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(
                F("organization"),
                F("collector"),
                F("rank").desc(),
                F("invoice"),
                name="queue_entry_rank",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} rank {self.rank}"


class Escalation(models.Model):
    """Chronic non-response on an invoice, handed to the A/R Manager. The rule proposes one
    (status `proposed`, for the collector to confirm or dismiss); a person raises it (`open`);
    the manager acknowledges and resolves it."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        OPEN = "open", "Open"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"

    class Source(models.TextChoices):
        MANUAL = "manual", "Raised by hand"
        RULE = "rule", "Proposed by the non-response rule"
        API = "api", "API"

    TRANSITIONS = {
        Status.PROPOSED: frozenset({Status.OPEN, Status.DISMISSED}),
        Status.OPEN: frozenset({Status.ACKNOWLEDGED, Status.RESOLVED}),
        Status.ACKNOWLEDGED: frozenset({Status.RESOLVED}),
        Status.RESOLVED: frozenset(),
        Status.DISMISSED: frozenset(),
    }
    LIVE = (Status.PROPOSED, Status.OPEN, Status.ACKNOWLEDGED)
    BADGES = {
        "proposed": "warning",
        "open": "error",
        "acknowledged": "open",
        "resolved": "ok",
        "dismissed": "void",
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="escalations")
    from_member = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_member = models.ForeignKey(
        Membership, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(max_length=1000)
    unanswered_steps = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice"],
                condition=Q(status__in=["proposed", "open", "acknowledged"]),
                name="escalation_one_live_per_invoice",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["proposed", "open", "acknowledged", "resolved", "dismissed"]
                ),
                name="escalation_status_known",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "to_member", "status", "created_at"],
                name="escalation_received",
            ),
            models.Index(
                fields=["organization", "from_member", "status", "created_at"],
                name="escalation_raised",
            ),
        ]

    def __str__(self) -> str:
        return f"Escalation of {self.invoice_id} ({self.status})"

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "open")

    def check_transition(self, wanted: str) -> None:
        if wanted != self.status and wanted not in self.TRANSITIONS[self.status]:
            raise WorkspaceError(
                f"An escalation that is {self.get_status_display().lower()} cannot become "
                f"{self.Status(wanted).label.lower()}."
            )


class WorkspaceSettings(models.Model):
    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="workspace_settings"
    )
    escalate_after_steps = models.PositiveSmallIntegerField(
        default=ESCALATE_AFTER_DEFAULT,
        validators=[MinValueValidator(1), MaxValueValidator(ESCALATE_AFTER_MAX)],
        help_text="Propose an escalation after this many cadence emails went unanswered.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(escalate_after_steps__gte=1)
                & Q(escalate_after_steps__lte=ESCALATE_AFTER_MAX),
                name="workspace_escalate_after_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"Workspace settings of {self.organization_id}"


class QueueDay(models.Model):
    """One member's Today's Focus on one day: what was planned when the day's first snapshot
    was taken (the carryover), how many of those were cleared since, and what is left."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    membership = models.ForeignKey(Membership, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    planned_keys = models.JSONField(default=list, blank=True)
    planned = models.PositiveIntegerField(default=0)
    cleared = models.PositiveIntegerField(default=0)
    added = models.PositiveIntegerField(default=0)
    remaining = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["membership", "day"], name="queue_day_one_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.membership_id} {self.day}: {self.cleared}/{self.planned}"


class QueueRefreshState(models.Model):
    """How far the periodic catch-up of an organization's ranks got: the highest invoice id
    seen, when it last ran, and when it last rewrote every rank."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="+")
    last_invoice_id = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField()
    full_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Queue ranks of {self.organization_id} caught up at {self.last_run_at}"
