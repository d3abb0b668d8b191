"""Promises to pay and payment plans: what a payer committed to, and when.

Each record belongs to one invoice and keeps who made it (a staff user, or a payer through the
portal, named in `actor_label`). Statuses move only along the tables below; the services in
`commitments.services` create the records and write the invoice timeline beside them.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from plixo.core.models import Organization
from plixo.ledger.models import Contact, Invoice, LedgerError, money_field


class CommitmentSource(models.TextChoices):
    PORTAL = "portal", "Payer portal"
    STAFF = "staff", "Staff"
    API = "api", "API"


class InvalidCommitmentTransition(LedgerError):
    def __init__(self, what: str, current: str, wanted: str):
        self.current, self.wanted = current, wanted
        super().__init__(
            f"A {what} that is {current.replace('_', ' ')} cannot become "
            f"{wanted.replace('_', ' ')}."
        )


class Promise(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        MISSED = "missed", "Missed"
        SUPERSEDED = "superseded", "Superseded"
        CANCELLED = "cancelled", "Cancelled"

    # A missed promise can still be kept by a late payment. An open promise is superseded by a
    # newer promise or by an accepted plan that covers it. Kept, superseded and cancelled are
    # final.
    TRANSITIONS = {
        Status.OPEN: frozenset({Status.KEPT, Status.MISSED, Status.SUPERSEDED, Status.CANCELLED}),
        Status.MISSED: frozenset({Status.KEPT, Status.CANCELLED}),
        Status.KEPT: frozenset(),
        Status.SUPERSEDED: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    BADGES = {
        "open": "open",
        "kept": "ok",
        "missed": "error",
        "superseded": "void",
        "cancelled": "void",
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="promises")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="promises"
    )
    amount = money_field()
    currency = models.CharField(max_length=3)
    promised_on = models.DateField()
    note = models.TextField(blank=True)
    source = models.CharField(
        max_length=10, choices=CommitmentSource.choices, default=CommitmentSource.STAFF
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    # When the promise left "open" (kept, missed, superseded or cancelled): adherence and the
    # radar read it.
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["open", "kept", "missed", "superseded", "cancelled"]),
                name="promise_status_known",
            ),
            models.CheckConstraint(
                condition=Q(source__in=CommitmentSource.values), name="promise_source_known"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "promised_on"]),
            models.Index(fields=["invoice", "status"], name="promise_invoice_status"),
            # The promises list, newest first (web and API), read off the index.
            models.Index(fields=["organization", "created_at", "id"], name="promise_org_created"),
        ]

    def __str__(self) -> str:
        return f"Promise of {self.amount} {self.currency} on {self.promised_on}"

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "open")

    def check_transition(self, wanted: str) -> None:
        if wanted != self.status and wanted not in self.TRANSITIONS[self.status]:
            raise InvalidCommitmentTransition("promise", self.status, wanted)


class PaymentPlan(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        PENDING_APPROVAL = "pending_approval", "Pending approval"
        APPROVED = "approved", "Approved"
        ACTIVE = "active", "Active"
        COMPLETED = "completed", "Completed"
        DEFAULTED = "defaulted", "Defaulted"
        REJECTED = "rejected", "Rejected"
        CANCELLED = "cancelled", "Cancelled"

    TRANSITIONS = {
        Status.PROPOSED: frozenset(
            {Status.PENDING_APPROVAL, Status.APPROVED, Status.REJECTED, Status.CANCELLED}
        ),
        Status.PENDING_APPROVAL: frozenset({Status.APPROVED, Status.REJECTED, Status.CANCELLED}),
        # An accepted plan whose first installment is missed defaults without ever being active.
        Status.APPROVED: frozenset({Status.ACTIVE, Status.DEFAULTED, Status.CANCELLED}),
        Status.ACTIVE: frozenset({Status.COMPLETED, Status.DEFAULTED, Status.CANCELLED}),
        # A defaulted plan the payer catches up on is active again, or completed by the payment
        # that pays it off.
        Status.DEFAULTED: frozenset({Status.ACTIVE, Status.COMPLETED, Status.CANCELLED}),
        Status.COMPLETED: frozenset(),
        Status.REJECTED: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    BADGES = {
        "proposed": "warning",
        "pending_approval": "warning",
        "approved": "open",
        "active": "open",
        "completed": "ok",
        "defaulted": "error",
        "rejected": "void",
        "cancelled": "void",
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="payment_plans")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment_plans"
    )
    total = money_field()
    currency = models.CharField(max_length=3)
    reason = models.TextField()
    source = models.CharField(
        max_length=10, choices=CommitmentSource.choices, default=CommitmentSource.STAFF
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PROPOSED)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    # A staff counter-offer names the payer's proposal it answers.
    counter_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="counters"
    )
    # Who accepted, declined or cancelled it, when, and what they said.
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decision_note = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(total__gt=0), name="plan_total_positive"),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "proposed",
                        "pending_approval",
                        "approved",
                        "active",
                        "completed",
                        "defaulted",
                        "rejected",
                        "cancelled",
                    ]
                ),
                name="plan_status_known",
            ),
            models.CheckConstraint(
                condition=Q(source__in=CommitmentSource.values), name="plan_source_known"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status"]),
            models.Index(fields=["invoice", "status"], name="plan_invoice_status"),
            models.Index(fields=["organization", "created_at", "id"], name="plan_org_created"),
        ]

    def __str__(self) -> str:
        return f"Plan of {self.total} {self.currency} for invoice {self.invoice_id}"

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "open")

    def check_transition(self, wanted: str) -> None:
        if wanted != self.status and wanted not in self.TRANSITIONS[self.status]:
            raise InvalidCommitmentTransition("plan", self.status, wanted)

    def installments_total(self) -> Decimal:
        return self.installments.aggregate(total=models.Sum("amount"))["total"] or Decimal("0")

    def clean(self) -> None:
        # A row constraint cannot see the installment rows, so the sum is checked here and by
        # `plan_propose`, the only writer of installments.
        if self.pk and self.installments_total() != self.total:
            raise ValidationError(
                f"The installments add up to {self.installments_total()}, "
                f"not the plan total {self.total}."
            )


class PlanInstallment(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PAID = "paid", "Paid"
        MISSED = "missed", "Missed"

    plan = models.ForeignKey(PaymentPlan, on_delete=models.CASCADE, related_name="installments")
    sequence = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    amount = money_field()
    paid_amount = money_field(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # The organization's date on which it was paid in full: on time or late, for adherence.
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["plan", "sequence"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "sequence"], name="installment_sequence_unique"
            ),
            models.UniqueConstraint(fields=["plan", "due_on"], name="installment_date_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="installment_amount_positive"),
            models.CheckConstraint(
                condition=Q(paid_amount__gte=0) & Q(paid_amount__lte=F("amount")),
                name="installment_paid_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "paid", "missed"]),
                name="installment_status_known",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.amount} due {self.due_on}"
