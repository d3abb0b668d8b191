"""Cadences, segment rules, per-invoice cadence state, messages (drafts and the outbox), the
organization's sending settings, sending domains and email provider events.

A cadence is an ordered list of steps at day offsets from the due date. Every open invoice has
one `CadenceEnrollment`: which cadence chases it, the next step, and `next_action_at`, the
indexed time the scheduler's tick looks at ("what is due now"), so a tick never scans invoices.

A `Message` is one email to a payer through its whole life: a draft the tick wrote (or an
operator), approved, queued in the outbox (held with a reason until its send window opens),
claimed by one worker, sent once. `idempotency_key` is unique: the same step can never become
two emails.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from plixo.core.models import Organization
from plixo.ledger.models import Contact, Invoice, LedgerError, money_field

# How far before or after the due date a step may fall.
STEP_OFFSET_MIN = -90
STEP_OFFSET_MAX = 365
SUBJECT_MAX = 200
BODY_MAX = 10_000


class CommsError(LedgerError):
    """A cadence or message write that breaks a rule; the message is meant for the user."""


class Tone(models.TextChoices):
    FRIENDLY = "friendly", "Friendly"
    FIRM = "firm", "Firm"
    FINAL = "final", "Final notice"


class Cadence(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="cadences"
    )
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=500, blank=True)
    requires_approval = models.BooleanField(
        default=True,
        help_text="Drafts wait for an operator's approval; off, they are sent automatically.",
    )
    is_default = models.BooleanField(
        default=False, help_text="Chases every invoice that no segment rule assigns."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="cadence_name_unique_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization"],
                condition=Q(is_default=True),
                name="cadence_one_default_per_org",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CadenceStep(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="steps")
    offset_days = models.SmallIntegerField(
        validators=[MinValueValidator(STEP_OFFSET_MIN), MaxValueValidator(STEP_OFFSET_MAX)],
        help_text="Days from the due date: −3 is three days before, 7 a week after.",
    )
    tone = models.CharField(max_length=10, choices=Tone.choices, default=Tone.FRIENDLY)
    subject = models.CharField(max_length=SUBJECT_MAX)
    body = models.TextField(max_length=BODY_MAX)
    # A retired step keeps its row (sent messages point at it) but is no longer scheduled.
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["offset_days", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cadence", "offset_days"],
                condition=Q(is_active=True),
                name="cadence_step_offset_unique",
            ),
            models.CheckConstraint(
                condition=Q(offset_days__gte=STEP_OFFSET_MIN, offset_days__lte=STEP_OFFSET_MAX),
                name="cadence_step_offset_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cadence}: day {self.offset_days:+d}"

    @property
    def offset_label(self) -> str:
        if self.offset_days == 0:
            return "On the due date"
        days = abs(self.offset_days)
        unit = "day" if days == 1 else "days"
        return f"{days} {unit} {'before' if self.offset_days < 0 else 'after'} due"


class SegmentRule(models.Model):
    """Assigns matching invoices to a cadence. Rules are tried by `priority` (lowest first);
    the first that matches wins, and an invoice no rule matches gets the default cadence.
    An empty condition matches everything. Amount bounds are in `currency` and only match
    invoices in that currency: amounts in different currencies are never compared."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="segment_rules"
    )
    cadence = models.ForeignKey(Cadence, on_delete=models.CASCADE, related_name="rules")
    name = models.CharField(max_length=120)
    priority = models.PositiveSmallIntegerField(default=100)
    segment = models.CharField(max_length=60, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    min_amount = money_field(null=True, blank=True)
    max_amount = money_field(null=True, blank=True)
    min_days_overdue = models.IntegerField(null=True, blank=True)
    max_days_overdue = models.IntegerField(null=True, blank=True)
    min_risk = models.PositiveSmallIntegerField(null=True, blank=True)
    max_risk = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_amount__isnull=True, max_amount__isnull=True) | ~Q(currency=""),
                name="segment_rule_amount_needs_currency",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CadenceEnrollment(models.Model):
    """Where one invoice stands in its cadence. `next_action_at` is when the tick must look at
    it again (a step falls due, a promise date passes); NULL when nothing is scheduled."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        FINISHED = "finished", "Finished"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.OneToOneField(Invoice, on_delete=models.CASCADE, related_name="enrollment")
    cadence = models.ForeignKey(
        Cadence, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    reason = models.CharField(max_length=200, blank=True)
    # Steps at or before this offset have been handled (drafted or skipped).
    last_offset = models.SmallIntegerField(null=True, blank=True)
    # A tailored follow-up owed on re-entry ("promise_missed:<id>", "plan_missed:<id>",
    # "dispute_resolved:<id>"), drafted before the next regular step.
    followup = models.CharField(max_length=60, blank=True)
    next_action_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_action_at"],
                condition=Q(next_action_at__isnull=False),
                name="enrollment_due_idx",
            ),
            models.Index(
                fields=["organization", "state", "cadence"], name="enrollment_org_state_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} in {self.cadence_id} ({self.state})"


class Message(models.Model):
    class Kind(models.TextChoices):
        STEP = "step", "Cadence step"
        FOLLOWUP = "followup", "Follow-up"
        MANUAL = "manual", "One-off"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        UNKNOWN = "unknown", "Delivery unknown"
        CANCELLED = "cancelled", "Cancelled"

    # Allowed moves. Approving a draft queues it in the outbox (QUEUED with a time: a hold
    # moves the time and says why); SENDING → QUEUED is a claim given back (no send was
    # attempted) or recovered after a worker died before sending; SENDING → UNKNOWN is a worker
    # that died while handing the email to the provider, which a person settles.
    TRANSITIONS = {
        Status.DRAFT: frozenset({Status.QUEUED, Status.CANCELLED}),
        Status.QUEUED: frozenset({Status.SENDING, Status.CANCELLED, Status.DRAFT}),
        Status.SENDING: frozenset(
            {Status.SENT, Status.FAILED, Status.QUEUED, Status.UNKNOWN, Status.CANCELLED}
        ),
        Status.FAILED: frozenset({Status.QUEUED, Status.CANCELLED}),
        Status.UNKNOWN: frozenset({Status.SENT, Status.QUEUED, Status.CANCELLED}),
        Status.SENT: frozenset(),
        Status.CANCELLED: frozenset(),
    }
    UNSENT = frozenset({Status.DRAFT, Status.QUEUED, Status.FAILED})
    BADGES = {
        "draft": "warning",
        "queued": "open",
        "sending": "open",
        "sent": "ok",
        "failed": "error",
        "unknown": "error",
        "cancelled": "void",
    }

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="messages"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="messages")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    cadence = models.ForeignKey(
        Cadence, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    step = models.ForeignKey(
        CadenceStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.STEP)
    # What this email is for, unique per invoice: "step:<step id>:<due date>",
    # "followup:promise_missed:7",
    # "manual:<uuid>". The database refuses a second draft of the same step.
    purpose = models.CharField(max_length=80)
    idempotency_key = models.CharField(max_length=120, unique=True)
    tone = models.CharField(max_length=10, choices=Tone.choices, default=Tone.FRIENDLY)
    # Templates with merge fields, rendered when previewed and again, with a fresh pay link,
    # when sent: amounts and names are those of the moment of sending.
    subject = models.CharField(max_length=SUBJECT_MAX)
    body = models.TextField(max_length=BODY_MAX)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    status_reason = models.CharField(max_length=300, blank=True)
    requires_approval = models.BooleanField(default=True)
    # Queued messages go out at or after this time (a hold moves it to the window's opening).
    send_after = models.DateTimeField(null=True, blank=True)
    hold_reason = models.CharField(max_length=300, blank=True)
    # Who the email went to (the test address in test mode) and who it was meant for.
    to_email = models.EmailField(blank=True)
    intended_email = models.EmailField(blank=True)
    is_test = models.BooleanField(default=False)
    rendered_subject = models.CharField(max_length=400, blank=True)
    rendered_body = models.TextField(blank=True)
    sending_domain = models.CharField(max_length=253, blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=120, blank=True)
    send_started_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    portal_link = models.ForeignKey(
        "portal.PortalLink", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The collector of the invoice's customer, copied onto drafts so that a collector's drafts
    # awaiting approval are read off one index (My Queue) instead of every draft of the
    # organization joined to its customer. Kept in step when a customer's collector changes.
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["invoice", "purpose"], name="message_one_per_invoice_purpose"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=[
                        "draft",
                        "queued",
                        "sending",
                        "sent",
                        "failed",
                        "unknown",
                        "cancelled",
                    ]
                ),
                name="message_status_known",
            ),
        ]
        indexes = [
            # Lists page newest first by (created_at, id) and (sent_at, id): the id in the index
            # lets the database read a page off it instead of sorting every match.
            models.Index(
                fields=["organization", "status", "created_at", "id"], name="msg_org_status"
            ),
            models.Index(fields=["organization", "created_at", "id"], name="msg_org_created"),
            # A collector's drafts awaiting approval, oldest first (My Queue).
            models.Index(
                fields=["organization", "collector", "created_at", "id"],
                name="msg_draft_collector",
                condition=Q(status="draft"),
            ),
            # Held emails (queued with a reason to wait): counted and listed on every drafts
            # page. Few or none among many queued ones, so only they are indexed; without it
            # SQLite reads every message of the organization to find there are none.
            models.Index(
                fields=["organization", "created_at", "id"],
                name="msg_org_held",
                condition=Q(status="queued") & ~Q(hold_reason=""),
            ),
            # The outbox tabs that join two statuses (queued & sending, failed & unknown): an
            # index on one status range cannot give their newest first, so each has its own.
            models.Index(
                fields=["organization", "created_at", "id"],
                name="msg_org_outbox_queued",
                condition=Q(status__in=["queued", "sending"]),
            ),
            models.Index(
                fields=["organization", "created_at", "id"],
                name="msg_org_outbox_failed",
                condition=Q(status__in=["failed", "unknown"]),
            ),
            models.Index(fields=["status", "send_after"], name="msg_outbox_due"),
            models.Index(fields=["organization", "sent_at", "id"], name="msg_org_sent"),
            models.Index(fields=["approved_by", "sent_at"], name="msg_operator_sent"),
            # Today's caps count claims since local midnight, per organization and per operator.
            models.Index(fields=["organization", "claimed_at"], name="msg_org_claimed"),
            models.Index(fields=["approved_by", "claimed_at"], name="msg_operator_claimed"),
            models.Index(fields=["provider_message_id"], name="msg_provider_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.invoice_id} ({self.status})"

    @property
    def badge(self) -> str:
        return self.BADGES.get(self.status, "open")

    @property
    def is_unsent(self) -> bool:
        return self.status in self.UNSENT

    def check_transition(self, wanted: str) -> None:
        if wanted != self.status and wanted not in self.TRANSITIONS[self.status]:
            raise CommsError(
                f"A message that is {self.get_status_display().lower()} cannot become "
                f"{self.Status(wanted).label.lower()}."
            )


def message_attachment_path(instance: "MessageAttachment", filename: str) -> str:
    """A random name under the organization's folder: the uploaded name never reaches the disk."""
    extension = filename.rsplit(".", 1)[-1] if "." in filename else "bin"
    return f"messages/{instance.organization.public_id}/{uuid.uuid4().hex}.{extension}"


class MessageAttachment(models.Model):
    """A document a person attached to a one-off email (a revised invoice PDF), kept privately
    and sent with the email instead of the invoice PDF Plixo would render."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=message_attachment_path, max_length=255)
    original_name = models.CharField(max_length=160)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(size__gt=0), name="message_attachment_not_empty"),
        ]

    def __str__(self) -> str:
        return self.original_name


class SendingSettings(models.Model):
    """How and when an organization's email goes out. Quiet hours live on the organization
    (`quiet_hours_start`/`_end`), test or live mode too (`is_live`)."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="sending_settings"
    )
    from_name = models.CharField(max_length=120, blank=True)
    from_email = models.EmailField(
        blank=True, help_text="Empty: the installation's DEFAULT_FROM_EMAIL."
    )
    reply_to = models.EmailField(blank=True)
    test_address = models.EmailField(
        blank=True, help_text="In test mode every email goes here instead of to the payer."
    )
    send_on_weekends = models.BooleanField(default=False)
    skip_holidays = models.BooleanField(
        default=True, help_text="No email on public holidays of the payer's country."
    )
    daily_cap = models.PositiveIntegerField(default=500)
    operator_daily_cap = models.PositiveIntegerField(default=200)
    warmup_enabled = models.BooleanField(default=True)
    warmup_first_day_cap = models.PositiveIntegerField(default=50)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "sending settings"
        constraints = [
            models.CheckConstraint(condition=Q(daily_cap__gte=1), name="sending_daily_cap_min"),
            models.CheckConstraint(
                condition=Q(operator_daily_cap__gte=1), name="sending_operator_cap_min"
            ),
            models.CheckConstraint(
                condition=Q(warmup_first_day_cap__gte=1), name="sending_warmup_cap_min"
            ),
        ]

    def __str__(self) -> str:
        return f"Sending settings of {self.organization}"


class OperatorSendWindow(models.Model):
    """An operator's own send window (COMMS-4): emails that operator approves go out within it,
    still on the payer's clock, instead of the organization's default window."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="operator_send_windows"
    )
    membership = models.OneToOneField(
        "core.Membership", on_delete=models.CASCADE, related_name="send_window"
    )
    start = models.TimeField()
    end = models.TimeField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(start=models.F("end")), name="operator_window_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.membership}: {self.start:%H:%M}–{self.end:%H:%M}"


class SendingDomain(models.Model):
    """A domain an organization sends from: when its warmup began, and its last DNS check."""

    class Check(models.TextChoices):
        UNKNOWN = "unknown", "Not checked"
        PASS = "pass", "Found"
        FAIL = "fail", "Missing"
        UNRESOLVED = "unresolved", "Could not resolve"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="sending_domains"
    )
    domain = models.CharField(max_length=253)
    warmup_started_on = models.DateField(null=True, blank=True)
    spf = models.CharField(max_length=12, choices=Check.choices, default=Check.UNKNOWN)
    dkim = models.CharField(max_length=12, choices=Check.choices, default=Check.UNKNOWN)
    dmarc = models.CharField(max_length=12, choices=Check.choices, default=Check.UNKNOWN)
    check_details = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "domain"], name="sending_domain_unique_per_org"
            ),
        ]

    def __str__(self) -> str:
        return self.domain


class EmailEvent(models.Model):
    """A tracking event from the email provider (bounce, complaint, delivery …), normalised by
    anymail, stored once per provider event id."""

    class Kind(models.TextChoices):
        DELIVERED = "delivered", "Delivered"
        BOUNCED = "bounced", "Hard bounce"
        SOFT_BOUNCE = "soft_bounce", "Soft bounce"
        DEFERRED = "deferred", "Deferred"
        COMPLAINED = "complained", "Complaint"
        REJECTED = "rejected", "Rejected"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        OPENED = "opened", "Opened"
        CLICKED = "clicked", "Clicked"
        OTHER = "other", "Other"

    SUPPRESSING = frozenset({Kind.BOUNCED, Kind.COMPLAINED, Kind.REJECTED, Kind.UNSUBSCRIBED})

    provider = models.CharField(max_length=30)
    event_id = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    recipient = models.EmailField(blank=True)
    provider_message_id = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    sending_domain = models.CharField(max_length=253, blank=True)
    description = models.CharField(max_length=500, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    payload = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "event_id"], name="email_event_unique_per_provider"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "sending_domain", "kind"], name="email_event_rate"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider} {self.kind} for {self.recipient}"


class TickState(models.Model):
    """One row: the last invoice id the tick has enrolled, so new invoices (from any path:
    web, API, imports, seeding) are found by a primary-key range, never by a scan."""

    enrolled_through = models.BigIntegerField(default=0)
    # Id ranges the watermark passed over without finding invoices: [first, last, seen at].
    # On PostgreSQL an invoice can commit after one with a higher id (ids are taken when the
    # row is inserted, not when its transaction commits); such late invoices land in a gap
    # and are enrolled when the gap is looked at again. Gaps are dropped after a day.
    gaps = models.JSONField(default=list, blank=True)
    # When the tick last swept unsent emails of invoices closed without a hook (hourly).
    swept_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Enrolled through invoice {self.enrolled_through}"
