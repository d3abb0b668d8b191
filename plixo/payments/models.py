"""Checkout sessions (a payer paying through a provider) and the receipts they produce.

A checkout is opened for an amount of one invoice, sent to a provider (the sandbox now, Stripe
later) and completed or failed by that provider's answer. Completion records a ledger payment
exactly once: the checkout row is locked while its status is checked and moved. Receipts are
numbered per organization from a counter row locked in the same transaction, so numbers have
no gaps and no duplicates.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from plixo.core.models import Organization
from plixo.core.money import validate_currency_code
from plixo.ledger.models import Contact, Invoice, Payment, money_field


class CheckoutStatus(models.TextChoices):
    OPEN = "open", "Open"
    # The payer finished at the provider but the money is still on its way (ACH debits take
    # days); the provider tells us later whether it arrived.
    PROCESSING = "processing", "Processing"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"
    CANCELLED = "cancelled", "Cancelled"


class CheckoutProvider(models.TextChoices):
    SANDBOX = "sandbox", "Sandbox (test)"
    STRIPE = "stripe", "Stripe"


# A failed attempt can be retried on the same checkout, as on a provider's hosted page.
PAYABLE_CHECKOUT_STATUSES = frozenset({CheckoutStatus.OPEN, CheckoutStatus.FAILED})


class CheckoutSession(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="checkout_sessions"
    )
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="checkouts")
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Who is paying, when known (the portal link's contact); receipts go there.",
    )
    provider = models.CharField(max_length=20, choices=CheckoutProvider.choices)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    status = models.CharField(
        max_length=20, choices=CheckoutStatus.choices, default=CheckoutStatus.OPEN
    )
    provider_ref = models.CharField(
        max_length=255, blank=True, help_text="The provider's id for this payment."
    )
    # Sent with every create call to the provider, so a retried call never charges twice.
    idempotency_key = models.CharField(max_length=64, unique=True)
    portal_session_ref = models.CharField(
        max_length=64, blank=True, help_text="Public id of the portal session that opened it."
    )
    success_url = models.CharField(max_length=500, blank=True)
    cancel_url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    failure_code = models.CharField(max_length=60, blank=True)
    attempts = models.PositiveIntegerField(default=0, help_text="Declined attempts so far.")
    provider_event_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the provider created the newest event that moved this checkout; an "
        "older event delivered later does not move it back.",
    )
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="checkouts"
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="checkout_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=CheckoutStatus.values), name="checkout_status_known"
            ),
            models.CheckConstraint(
                condition=~Q(status=CheckoutStatus.COMPLETED) | Q(payment__isnull=False),
                name="checkout_completed_has_payment",
            ),
            # Two checkouts can never record the same provider payment.
            models.UniqueConstraint(
                fields=["provider", "provider_ref"],
                condition=~Q(provider_ref=""),
                name="checkout_provider_ref_unique",
            ),
        ]
        indexes = [models.Index(fields=["invoice", "status"])]

    def __str__(self) -> str:
        return f"Checkout {self.public_id} for {self.invoice_id} ({self.status})"

    @property
    def is_payable(self) -> bool:
        return self.status in PAYABLE_CHECKOUT_STATUSES


class ReceiptCounter(models.Model):
    """The last receipt number issued in an organization; locked to take the next one."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"Receipts of {self.organization_id}: last {self.last_number}"


class Receipt(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="receipts"
    )
    sequence = models.PositiveIntegerField()
    number = models.CharField(max_length=30)
    payment = models.OneToOneField(Payment, on_delete=models.PROTECT, related_name="receipt")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="receipts")
    checkout = models.OneToOneField(
        CheckoutSession, null=True, blank=True, on_delete=models.PROTECT, related_name="receipt"
    )
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    invoice_balance_after = money_field(help_text="The invoice's balance once it was paid.")
    issued_at = models.DateTimeField()
    # Set when the email is claimed for sending and kept once it went out; empty means pending
    # (for example while maintenance holds all email).
    emailed_at = models.DateTimeField(null=True, blank=True)
    emailed_to = models.EmailField(blank=True)
    email_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="receipt_number_unique_per_org"
            ),
            models.UniqueConstraint(
                fields=["organization", "sequence"], name="receipt_sequence_unique_per_org"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="receipt_amount_positive"),
        ]
        indexes = [models.Index(fields=["emailed_at", "issued_at"])]

    def __str__(self) -> str:
        return self.number


class StripeAccount(models.Model):
    """An organization's own Stripe account: its secret key and webhook signing secret,
    encrypted at rest (`plixo.core.crypto`), and how calls to Stripe have been going."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, primary_key=True, related_name="stripe_account"
    )
    secret_key_encrypted = models.TextField()
    webhook_secret_encrypted = models.TextField()
    secret_key_hint = models.CharField(max_length=40)
    webhook_secret_hint = models.CharField(max_length=40)
    livemode = models.BooleanField(default=False)
    connected_at = models.DateTimeField()
    # Disconnected: payers use the sandbox again, but the keys stay so that Stripe's webhooks
    # for money already on its way (ACH debits, refunds, chargebacks) are still verified.
    disconnected_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # OPS-4: consecutive failed calls (rate limited, 5xx, unreachable); reset by a good one.
    api_failures = models.PositiveIntegerField(default=0)
    api_last_error = models.CharField(max_length=300, blank=True)
    api_last_error_at = models.DateTimeField(null=True, blank=True)
    api_last_ok_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Stripe account of {self.organization_id} ({self.secret_key_hint})"

    @property
    def is_connected(self) -> bool:
        return self.disconnected_at is None

    @property
    def secret_key(self) -> str:
        from plixo.core.crypto import decrypt

        return decrypt(self.secret_key_encrypted)

    @property
    def webhook_secret(self) -> str:
        from plixo.core.crypto import decrypt

        return decrypt(self.webhook_secret_encrypted)


class StripeEventStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSED = "processed", "Processed"
    IGNORED = "ignored", "Acknowledged (nothing to do)"
    # Needs an object not seen yet (a refund before its payment): processed again when it lands.
    WAITING = "waiting", "Waiting for its payment"
    REVIEW = "review", "Needs review"
    REVIEWED = "reviewed", "Reviewed"
    FAILED = "failed", "Failed"


class StripeEvent(models.Model):
    """One Stripe event, once, however often it was delivered (`event_id` is unique)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="stripe_events"
    )
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    livemode = models.BooleanField(default=False)
    payload = models.JSONField()
    stripe_created = models.DateTimeField(help_text="When Stripe created the event.")
    received_at = models.DateTimeField(help_text="First verified delivery.")
    processed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=StripeEventStatus.choices, default=StripeEventStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    deliveries = models.PositiveIntegerField(default=1)
    error = models.TextField(blank=True)
    # The Stripe object a waiting event waits for (a payment intent id), and the invoice the
    # event concerns once known.
    waits_for = models.CharField(max_length=255, blank=True)
    invoice = models.ForeignKey(
        Invoice, null=True, blank=True, on_delete=models.SET_NULL, related_name="stripe_events"
    )
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    review_note = models.TextField(blank=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "event_id"], name="stripe_event_unique_per_org"
            ),
            models.CheckConstraint(
                condition=Q(status__in=StripeEventStatus.values), name="stripe_event_status_known"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "received_at"]),
            models.Index(fields=["organization", "waits_for"]),
            models.Index(fields=["organization", "-received_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} {self.type} ({self.status})"


class WebhookDelivery(models.Model):
    """Every POST to an organization's Stripe webhook URL, stored raw before anything else is
    done with it; `verified` says whether its signature held."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="stripe_deliveries"
    )
    received_at = models.DateTimeField()
    body = models.BinaryField()
    signature = models.CharField(max_length=1000, blank=True)
    verified = models.BooleanField(null=True)
    rejection = models.CharField(max_length=300, blank=True)
    event = models.ForeignKey(
        StripeEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organization", "received_at"])]

    def __str__(self) -> str:
        return f"Delivery {self.pk} to {self.organization_id} at {self.received_at:%H:%M:%S}"


class StripePayout(models.Model):
    """A transfer from the organization's Stripe balance to its bank, as Stripe reports it
    (`payout.*` events). The bank statement line it becomes is reconciled against it in cash
    application: the Stripe payments it carries were recorded from Stripe already, so the line
    is never matched to invoices a second time."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        IN_TRANSIT = "in_transit", "In transit"
        PAID = "paid", "Paid"
        FAILED = "failed", "Failed"
        CANCELED = "canceled", "Canceled"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payout_id = models.CharField(max_length=255)
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    arrival_date = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices)
    description = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-arrival_date", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "payout_id"], name="stripe_payout_unique_per_org"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "in_transit", "paid", "failed", "canceled"]),
                name="stripe_payout_status_known",
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "currency", "amount", "arrival_date"],
                name="stripe_payout_lookup",
            )
        ]

    def __str__(self) -> str:
        return f"Stripe payout {self.payout_id}"
