"""Disputes a payer or the team raised on an invoice, and the evidence filed with them.

Attachment files live in private storage (`MEDIA_ROOT`, which no URL serves) under a random
name; the payer's file name is kept, sanitised, only to label the download. The one way to read
a file back is `disputes.views.attachment_download`, which checks the reader's access first.
"""

import datetime as dt
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from plixo.core.models import Organization, Role, validate_time_zone
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


OPEN_DISPUTE_STATUSES = ("open", "under_review")


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
    routed_to = models.CharField(
        max_length=20,
        choices=Role.choices,
        blank=True,
        help_text="The team (a role) the dispute was routed to; empty: the A/R team at large.",
    )
    # Null exactly while the dispute is open or under review: the queue's "open" filter and its
    # indexes rest on it.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)
    resolution_amount = money_field(null=True, blank=True)
    # A credit or write-off above the resolver's limit waits for this approval; approving it
    # carries the resolution out.
    pending_approval = models.ForeignKey(
        "approvals.ApprovalRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
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
            models.CheckConstraint(
                condition=Q(status__in=OPEN_DISPUTE_STATUSES, resolved_at__isnull=True)
                | (~Q(status__in=OPEN_DISPUTE_STATUSES) & Q(resolved_at__isnull=False)),
                name="dispute_resolved_at_iff_closed",
            ),
            models.CheckConstraint(
                condition=Q(resolution_amount__isnull=True) | Q(resolution_amount__gt=0),
                name="dispute_resolution_amount_positive",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "created_at"]),
            models.Index(fields=["organization", "assignee", "status", "sla_due_at"]),
            # The queue: open disputes (resolved_at IS NULL) by SLA or by age, for everyone,
            # for one team and for one assignee; the trailing id serves the keyset tie-break.
            models.Index(
                fields=["organization", "resolved_at", "sla_due_at", "id"], name="dispute_open_sla"
            ),
            models.Index(
                fields=["organization", "resolved_at", "created_at", "id"],
                name="dispute_open_created",
            ),
            models.Index(
                fields=["organization", "routed_to", "resolved_at", "sla_due_at", "id"],
                name="dispute_team_sla",
            ),
            models.Index(
                fields=["organization", "assignee", "resolved_at", "sla_due_at", "id"],
                name="dispute_assignee_sla",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute ({self.get_reason_code_display()}) on invoice {self.invoice_id}"

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "disputed")

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.OPEN, self.Status.UNDER_REVIEW)

    @property
    def awaiting_approval(self) -> bool:
        """A credit or write-off of this dispute waits in the Approvals inbox (a request that
        was rejected or withdrawn no longer holds it)."""
        return (
            self.pending_approval_id is not None
            and self.is_open
            and self.pending_approval.status == "pending"
        )

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


# --- SLA and routing settings ----------------------------------------------------------------

DEFAULT_TARGET_HOURS = 24
DEFAULT_DUE_SOON_HOURS = 4
MAX_TARGET_HOURS = 2000
# Monday to Friday, 09:00–17:00 (weekday 0 is Monday), until the organization sets its own.
DEFAULT_BUSINESS_HOURS = {str(day): (["09:00", "17:00"] if day < 5 else None) for day in range(7)}


def default_business_hours() -> dict:
    return dict(DEFAULT_BUSINESS_HOURS)


class DisputeSettings(models.Model):
    """An organization's dispute SLA: target business hours per reason (with a default), its
    working hours per weekday, the time zone they are read in, and when a dispute counts as
    due soon. Holidays are `DisputeHoliday` rows; routing rules `DisputeRoutingRule` rows."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="dispute_settings"
    )
    default_target_hours = models.PositiveIntegerField(default=DEFAULT_TARGET_HOURS)
    # reason code → business hours; a reason missing here takes the default.
    reason_targets = models.JSONField(default=dict, blank=True)
    # "0".."6" (Monday first) → ["HH:MM", "HH:MM"] or null for a day off.
    business_hours = models.JSONField(default=default_business_hours)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        validators=[validate_time_zone],
        help_text="Empty: the organization's time zone.",
    )
    due_soon_hours = models.PositiveIntegerField(default=DEFAULT_DUE_SOON_HOURS)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "dispute settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    default_target_hours__gte=1, default_target_hours__lte=MAX_TARGET_HOURS
                ),
                name="dispute_settings_target_bounded",
            ),
            models.CheckConstraint(
                condition=Q(due_soon_hours__gte=1, due_soon_hours__lte=MAX_TARGET_HOURS),
                name="dispute_settings_due_soon_bounded",
            ),
        ]

    def __str__(self) -> str:
        return f"Dispute settings of {self.organization_id}"

    def target_hours(self, reason_code: str) -> int:
        value = (self.reason_targets or {}).get(reason_code)
        return int(value) if value else self.default_target_hours

    def window_times(self) -> dict[int, tuple[dt.time, dt.time] | None]:
        windows = {}
        for day in range(7):
            pair = (self.business_hours or {}).get(str(day))
            windows[day] = (
                (dt.time.fromisoformat(pair[0]), dt.time.fromisoformat(pair[1])) if pair else None
            )
        return windows


class DisputeHoliday(models.Model):
    """A day the organization does not work: no SLA hour runs on it."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    name = models.CharField(max_length=100)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "day"], name="dispute_holiday_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.name}"


ROUTABLE_TEAMS = (Role.LEGAL, Role.SALES, Role.AR_OPERATOR, Role.AR_MANAGER)


class DisputeRoutingRule(models.Model):
    """Route a new dispute to a team (and optionally a member): by its reason, by an amount at
    or above a threshold in one currency, or both. Rules are tried in `position` order and the
    first that matches wins."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()
    reason_code = models.CharField(max_length=20, choices=ReasonCode.choices, blank=True)
    amount_at_least = money_field(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    route_to = models.CharField(max_length=20, choices=Role.choices)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason_code="") | Q(amount_at_least__isnull=False),
                name="dispute_rule_has_condition",
            ),
            models.CheckConstraint(
                condition=Q(amount_at_least__isnull=True)
                | (Q(amount_at_least__gt=0) & ~Q(currency="")),
                name="dispute_rule_threshold_with_currency",
            ),
            models.CheckConstraint(
                condition=Q(route_to__in=[team.value for team in ROUTABLE_TEAMS]),
                name="dispute_rule_team_known",
            ),
        ]
        indexes = [models.Index(fields=["organization", "position"])]

    def __str__(self) -> str:
        return f"Rule {self.position} → {self.route_to}"

    def matches(self, *, reason_code: str, amount, currency: str) -> bool:
        if self.reason_code and self.reason_code != reason_code:
            return False
        if self.amount_at_least is not None:
            return currency == self.currency and amount >= self.amount_at_least
        return True
