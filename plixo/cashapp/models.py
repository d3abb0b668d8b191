"""Bank statements, the receipts read from them, the matcher's suggestions and the
applications an operator (or the auto-apply rule) made.

A receipt is money the bank says arrived. It is applied to invoices only through ledger
payments (`plixo.ledger.services.payment_record`), one per application, so balances,
promises, plans, cadences and timelines move as for any payment. `applied_amount` is a cache
of the receipt's live applications, written under the receipt's row lock, and the database
holds it within the receipt's amount.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q

from plixo.core.ids import uuid7
from plixo.core.models import Organization
from plixo.ledger.models import Customer, Invoice, Payment, money_field


class CashError(ValueError):
    """A cash-application step that would break a rule; the message is meant for the user."""


class StatementFormat(models.TextChoices):
    BAI2 = "bai2", "BAI2"
    CAMT = "camt", "ISO 20022 camt.053 / camt.054"
    OFX = "ofx", "OFX"
    CSV = "csv", "Bank CSV"


class CashSettings(models.Model):
    """An organization's cash-application rules. Missing row = the defaults below."""

    DEFAULT_THRESHOLD = 95

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="cash_settings"
    )
    auto_apply = models.BooleanField(
        default=True, help_text="Apply suggestions at or above the threshold without review."
    )
    auto_apply_threshold = models.PositiveSmallIntegerField(
        default=DEFAULT_THRESHOLD,
        validators=[MinValueValidator(50), MaxValueValidator(100)],
        help_text="Confidence (0–100) at or above which a suggestion is applied by itself.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "cash settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(auto_apply_threshold__gte=50) & Q(auto_apply_threshold__lte=100),
                name="cash_threshold_in_range",
            )
        ]

    def __str__(self) -> str:
        return f"Cash settings of {self.organization_id}"


class Statement(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="bank_statements"
    )
    format = models.CharField(max_length=8, choices=StatementFormat.choices)
    original_name = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(max_length=64)
    account = models.CharField(max_length=100, blank=True)
    lines = models.PositiveIntegerField(default=0)
    receipts = models.PositiveIntegerField(default=0)
    debits = models.PositiveIntegerField(default=0, help_text="Outgoing lines, not receipts.")
    duplicates = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    auto_applied = models.PositiveIntegerField(default=0)
    suggested = models.PositiveIntegerField(default=0)
    unmatched = models.PositiveIntegerField(default=0)
    payouts = models.PositiveIntegerField(
        default=0, help_text="Lines reconciled with a Stripe payout, not matched to invoices."
    )
    # [{"line": 12, "message": "..."}], at most MAX_REJECTS_KEPT entries.
    rejects = models.JSONField(default=list, blank=True)
    notes = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"], name="cash_statement_org")]

    def __str__(self) -> str:
        return self.original_name or str(self.public_id)

    def summary(self) -> dict:
        return {
            "statement_id": str(self.public_id),
            "format": self.format,
            "lines": self.lines,
            "receipts": self.receipts,
            "debits": self.debits,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "auto_applied": self.auto_applied,
            "suggested": self.suggested,
            "unmatched": self.unmatched,
            "payouts": self.payouts,
            "rejects": self.rejects,
            "notes": self.notes,
        }


class ReceiptStatus(models.TextChoices):
    UNMATCHED = "unmatched", "No match"
    SUGGESTED = "suggested", "Suggested"
    PARTIALLY_APPLIED = "partially_applied", "Partly applied"
    APPLIED = "applied", "Applied"
    REJECTED = "rejected", "Not a customer payment"
    PAYOUT = "payout", "Stripe payout"


# Receipts with cash still to apply: the unapplied queue.
UNAPPLIED_STATUSES = frozenset(
    {ReceiptStatus.UNMATCHED, ReceiptStatus.SUGGESTED, ReceiptStatus.PARTIALLY_APPLIED}
)


class Receipt(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="bank_receipts"
    )
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="receipt_rows")
    # "id:<account>:<bank transaction id>" or "hash:<sha256 of the line's fields>": the same
    # bank line imported twice finds its row and adds nothing.
    dedupe_key = models.CharField(max_length=200)
    line_number = models.PositiveIntegerField()
    bank_transaction_id = models.CharField(max_length=120, blank=True)
    account = models.CharField(max_length=100, blank=True)
    booked_on = models.DateField()
    amount = money_field()
    currency = models.CharField(max_length=3)
    payer_name = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=200, blank=True)
    remittance = models.TextField(blank=True)
    status = models.CharField(
        max_length=20, choices=ReceiptStatus.choices, default=ReceiptStatus.UNMATCHED
    )
    applied_amount = money_field(default=Decimal("0"))
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stripe_payout = models.OneToOneField(
        "payments.StripePayout",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="receipt",
        help_text="The Stripe payout this bank line is: its payments are recorded already.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-booked_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "dedupe_key"], name="cash_receipt_unique_per_org"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_receipt_amount_positive"),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0) & Q(applied_amount__lte=F("amount")),
                name="cash_receipt_never_over_applied",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReceiptStatus.values), name="cash_receipt_status_known"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "status", "-booked_on", "-id"], name="cash_receipt_status"
            ),
            models.Index(fields=["statement", "line_number"], name="cash_receipt_statement"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} on {self.booked_on}"

    @property
    def unapplied_amount(self) -> Decimal:
        return self.amount - self.applied_amount

    @property
    def payout_note(self) -> str:
        from plixo.cashapp.payouts import explanation

        return explanation(self)

    def status_after_money(self, *, has_suggestion: bool) -> str:
        if self.applied_amount >= self.amount:
            return ReceiptStatus.APPLIED
        if self.applied_amount > 0:
            return ReceiptStatus.PARTIALLY_APPLIED
        return ReceiptStatus.SUGGESTED if has_suggestion else ReceiptStatus.UNMATCHED


class Suggestion(models.Model):
    """What the matcher proposes for a receipt: invoices and amounts, a confidence (0–100) and
    the reasons in plain words."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    receipt = models.ForeignKey(Receipt, on_delete=models.CASCADE, related_name="suggestions")
    confidence = models.PositiveSmallIntegerField(validators=[MaxValueValidator(100)])
    explanation = models.TextField()
    rule = models.CharField(max_length=40, help_text="Which matching rule produced it.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-confidence", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(confidence__lte=100), name="cash_suggestion_confidence_range"
            )
        ]
        indexes = [models.Index(fields=["receipt", "status"], name="cash_suggestion_receipt")]

    def __str__(self) -> str:
        return f"{self.confidence}% for receipt {self.receipt_id}"


class SuggestionLine(models.Model):
    suggestion = models.ForeignKey(Suggestion, on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="+")
    amount = money_field()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_suggestion_line_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id}"


class Application(models.Model):
    """Part of a receipt applied to invoices, through one ledger payment. Undoing it reverses
    that payment and keeps this row (with `undone_at`) as the record of what happened."""

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    receipt = models.ForeignKey(Receipt, on_delete=models.PROTECT, related_name="applications")
    payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment_reference = models.CharField(max_length=120)
    amount = money_field()
    currency = models.CharField(max_length=3)
    automatic = models.BooleanField(default=False)
    confidence = models.PositiveSmallIntegerField(null=True, blank=True)
    explanation = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_application_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} from receipt {self.receipt_id}"

    @property
    def is_live(self) -> bool:
        return self.undone_at is None


class ApplicationLine(models.Model):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="lines")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="+")
    amount = money_field()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="cash_application_line_positive")
        ]

    def __str__(self) -> str:
        return f"{self.amount} to {self.invoice_id}"


class PayerAlias(models.Model):
    """A payer name as the bank writes it, confirmed by an operator to be this customer."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name_key = models.CharField(max_length=200, help_text="The payer name, normalized.")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    confirmations = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name_key", "customer"], name="cash_payer_alias_unique"
            )
        ]
        indexes = [models.Index(fields=["organization", "name_key"], name="cash_alias_name")]

    def __str__(self) -> str:
        return f"{self.name_key} → {self.customer_id}"
