"""Customers, contacts, invoices, payments, allocations and the invoice timeline.

An invoice's balance is derived from money rows: `amount − Σ allocations − Σ adjustments`.
The `balance` column is a cache of that sum, written only by `ledger.services` under a row lock
in the same transaction as the rows it sums, and held to `0 ≤ balance ≤ amount` by the database.
"""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.db.models import F, Q

from plixo.core.ids import uuid7
from plixo.core.models import Organization, validate_time_zone
from plixo.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS, validate_currency_code


def money_field(**kwargs) -> models.DecimalField:
    return models.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


class Customer(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="customers"
    )
    external_id = models.CharField(max_length=100, help_text="The customer's id in your ERP.")
    name = models.CharField(max_length=255)
    segment = models.CharField(max_length=60, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_customers",
        help_text="Account owner (Sales or CSM) who follows this customer.",
    )
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="collected_customers",
        help_text="The A/R operator who works this customer's invoices (their queue).",
    )
    time_zone = models.CharField(max_length=64, default="UTC", validators=[validate_time_zone])
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166 alpha-2")
    currency = models.CharField(max_length=3, default="USD", validators=[validate_currency_code])
    risk_score = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text="0 (safe) to 100 (risky)",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "external_id"], name="customer_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(risk_score__lte=100), name="customer_risk_score_at_most_100"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "name"]),
            models.Index(fields=["organization", "collector"]),
        ]

    def __str__(self) -> str:
        return self.name


class CustomerBalance(models.Model):
    """What a customer owes in one currency: its open invoices (open, partially paid, disputed)
    counted and summed. A cache of the invoices, moved by `ledger.services` in the same
    transaction as every change to an invoice's balance or status (and rebuilt set-based after
    bulk loads), so lists read it instead of summing invoices per request."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="balance_rows")
    currency = models.CharField(max_length=3)
    open_count = models.PositiveIntegerField(default=0)
    # In ten-thousandths of the currency's unit (the scale of every money column): whole
    # numbers add exactly on every database, where SQLite would add decimals as floats.
    open_units = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "currency"], name="customer_balance_one_per_currency"
            ),
            models.CheckConstraint(
                condition=Q(open_units__gte=0), name="customer_balance_never_negative"
            ),
        ]
        indexes = [
            models.Index(
                fields=["organization", "currency", "-open_units", "customer"],
                name="customer_balance_by_amount",
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency} {self.open_balance}"

    @property
    def open_balance(self) -> Decimal:
        return units_to_money(self.open_units)


def money_to_units(amount: Decimal) -> int:
    return int(Decimal(amount).scaleb(MONEY_DECIMAL_PLACES))


def units_to_money(units: int) -> Decimal:
    return Decimal(units).scaleb(-MONEY_DECIMAL_PLACES)


class Contact(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="contacts"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="contacts")
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField()
    role = models.CharField(max_length=60, blank=True, help_text="e.g. Accounts payable")
    is_primary = models.BooleanField(default=False)
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_default="",
        validators=[validate_time_zone],
        help_text="The contact's own time zone for quiet hours; empty: the customer's.",
    )
    suppressed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="No automated email until then; empty with a reason means indefinitely.",
    )
    suppression_reason = models.CharField(max_length=200, blank=True)
    suppression_kind = models.CharField(
        max_length=20,
        blank=True,
        default="",
        db_default="",
        choices=[
            ("vacation", "Vacation"),
            ("relationship", "Relationship-sensitive"),
            ("bounced", "Bounced"),
            ("complained", "Complained"),
            ("other", "Other"),
        ],
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_primary", "name", "email"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "email"], name="contact_email_unique_per_customer"
            ),
            models.UniqueConstraint(
                fields=["customer"],
                condition=Q(is_primary=True),
                name="contact_one_primary_per_customer",
            ),
        ]
        # The API lists an organization's contacts in the order they were added, a page at a
        # time from a cursor.
        indexes = [models.Index(fields=["organization", "id"], name="contact_org_id")]

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.name else self.email

    @property
    def is_suppressed(self) -> bool:
        from django.utils import timezone

        return self.suppressed_at(timezone.now())

    def suppressed_at(self, moment) -> bool:
        """Suppressed at `moment`: until its reactivation time, or for good with a reason."""
        if self.suppressed_until is not None:
            return self.suppressed_until > moment
        return bool(self.suppression_reason)


class InvoiceStatus(models.TextChoices):
    OPEN = "open", "Open"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    DISPUTED = "disputed", "Disputed"
    VOID = "void", "Void"
    WRITTEN_OFF = "written_off", "Written off"


# The one table of allowed status moves. A refund can reopen a paid invoice; void and
# written-off invoices are closed for good.
INVOICE_TRANSITIONS: dict[str, frozenset[str]] = {
    InvoiceStatus.OPEN: frozenset(
        {
            InvoiceStatus.PARTIALLY_PAID,
            InvoiceStatus.PAID,
            InvoiceStatus.DISPUTED,
            InvoiceStatus.VOID,
            InvoiceStatus.WRITTEN_OFF,
        }
    ),
    InvoiceStatus.PARTIALLY_PAID: frozenset(
        {
            InvoiceStatus.OPEN,
            InvoiceStatus.PAID,
            InvoiceStatus.DISPUTED,
            InvoiceStatus.WRITTEN_OFF,
        }
    ),
    InvoiceStatus.PAID: frozenset({InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID}),
    InvoiceStatus.DISPUTED: frozenset(
        {
            InvoiceStatus.OPEN,
            InvoiceStatus.PARTIALLY_PAID,
            InvoiceStatus.PAID,
            InvoiceStatus.VOID,
            InvoiceStatus.WRITTEN_OFF,
        }
    ),
    InvoiceStatus.VOID: frozenset(),
    InvoiceStatus.WRITTEN_OFF: frozenset(),
}

OPEN_STATUSES = frozenset(
    {InvoiceStatus.OPEN, InvoiceStatus.PARTIALLY_PAID, InvoiceStatus.DISPUTED}
)


class LedgerError(ValueError):
    """A ledger write that would break a rule; the message is meant for the user."""


class InvalidTransition(LedgerError):
    def __init__(self, current: str, wanted: str):
        self.current, self.wanted = current, wanted
        super().__init__(
            f"An invoice that is {InvoiceStatus(current).label.lower()} cannot become "
            f"{InvoiceStatus(wanted).label.lower()}."
        )


class Invoice(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    # No index of its own: every index below starts with the organization.
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="invoices", db_index=False
    )
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="invoices")
    number = models.CharField(max_length=100)
    issue_date = models.DateField()
    due_date = models.DateField()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    amount = money_field()
    balance = money_field()
    status = models.CharField(
        max_length=20, choices=InvoiceStatus.choices, default=InvoiceStatus.OPEN
    )
    po_number = models.CharField("PO number", max_length=100, blank=True)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_date", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number"], name="invoice_number_unique_per_org"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="invoice_amount_positive"),
            models.CheckConstraint(
                condition=Q(balance__gte=0), name="invoice_balance_never_negative"
            ),
            models.CheckConstraint(
                condition=Q(balance__lte=F("amount")), name="invoice_balance_at_most_amount"
            ),
            models.CheckConstraint(
                condition=Q(due_date__gte=F("issue_date")), name="invoice_due_on_or_after_issue"
            ),
            models.CheckConstraint(
                condition=Q(status__in=InvoiceStatus.values), name="invoice_status_known"
            ),
        ]
        # One per order the lists offer (`ledger.selectors.INVOICE_SORTS`), each ending with the
        # number so a page cursor is a seek; the number order is the unique constraint's.
        indexes = [
            models.Index(
                fields=["organization", "status", "due_date", "number"], name="invoice_status_due"
            ),
            models.Index(
                fields=["organization", "customer", "due_date", "number"],
                name="invoice_customer_due",
            ),
            models.Index(fields=["organization", "due_date", "number"], name="invoice_due"),
            # The status counts and lists within one currency.
            models.Index(
                fields=["organization", "currency", "status", "due_date", "number"],
                name="invoice_currency_status_due",
            ),
            models.Index(fields=["organization", "issue_date", "number"], name="invoice_issued"),
            models.Index(
                fields=["organization", "currency", "amount", "number"], name="invoice_amount"
            ),
            models.Index(
                fields=["organization", "currency", "balance", "number"], name="invoice_balance"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def check_transition(self, wanted: str) -> None:
        if wanted != self.status and wanted not in INVOICE_TRANSITIONS[self.status]:
            raise InvalidTransition(self.status, wanted)


class InvoiceAdjustment(models.Model):
    """A non-cash reduction of an invoice's balance: a write-off, a credit, or a void."""

    class Kind(models.TextChoices):
        WRITE_OFF = "write_off", "Write-off"
        CREDIT = "credit", "Credit"
        VOID = "void", "Void"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="adjustments")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = money_field()
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="adjustment_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} of {self.amount} on {self.invoice_id}"


class PaymentMethod(models.TextChoices):
    ACH = "ach", "ACH"
    CARD = "card", "Card"
    WIRE = "wire", "Wire"
    CHECK = "check", "Check"
    CASH = "cash", "Cash"
    OTHER = "other", "Other"


class PaymentSource(models.TextChoices):
    MANUAL = "manual", "Entered by hand"
    IMPORT = "import", "CSV import"
    API = "api", "API"
    STRIPE = "stripe", "Stripe"
    SANDBOX = "sandbox", "Sandbox checkout"
    BANK = "bank", "Bank statement"


class Payment(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="payments"
    )
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.PROTECT, related_name="payments"
    )
    reference = models.CharField(max_length=120)
    amount = money_field()
    allocated_amount = money_field(default=0)
    refunded_amount = money_field(
        default=0, help_text="Given back to the payer (refunds issued at the provider)."
    )
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    received_at = models.DateTimeField()
    method = models.CharField(
        max_length=10, choices=PaymentMethod.choices, default=PaymentMethod.OTHER
    )
    source = models.CharField(
        max_length=10, choices=PaymentSource.choices, default=PaymentSource.MANUAL
    )
    memo = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="payment_reference_unique_per_org"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(allocated_amount__gte=0), name="payment_allocated_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(allocated_amount__lte=F("amount")),
                name="payment_allocations_never_exceed_payment",
            ),
            # allocated + refunded <= amount is held by `refund_record` under the payment's row
            # lock (column arithmetic in a CHECK is float arithmetic on SQLite).
            models.CheckConstraint(
                condition=Q(refunded_amount__gte=0) & Q(refunded_amount__lte=F("amount")),
                name="payment_refunds_within_amount",
            ),
        ]
        indexes = [
            # The payments list's order (newest first, the id breaking ties between payments
            # received at the same moment), read off the index a page at a time.
            models.Index(
                F("organization"),
                F("received_at").desc(),
                F("id").desc(),
                name="payment_org_received",
            ),
            # "With unapplied cash only", newest first; `UNAPPLIED` is the same condition.
            models.Index(
                F("organization"),
                F("received_at").desc(),
                F("id").desc(),
                condition=Q(allocated_amount__lt=F("amount") - F("refunded_amount")),
                name="payment_unapplied",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def unapplied_amount(self):
        return self.amount - self.allocated_amount - self.refunded_amount


class Allocation(models.Model):
    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="allocations")
    amount = money_field()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.payment} to {self.invoice}"


class Refund(models.Model):
    """Money given back on a payment. What the payment had not applied goes back first; the
    rest comes off the invoices it paid (`RefundAllocation`, newest allocation first): each
    such invoice's balance grows by as much and the payment's `allocated_amount` shrinks, so
    balance = amount − Σ allocations + Σ refund allocations − Σ adjustments always holds."""

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="refunds")
    amount = money_field()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    reference = models.CharField(max_length=120, help_text="The provider's refund id.")
    reason = models.CharField(max_length=300, blank=True)
    source = models.CharField(
        max_length=10, choices=PaymentSource.choices, default=PaymentSource.MANUAL
    )
    refunded_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["refunded_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "reference"], name="refund_reference_unique_per_org"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="refund_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"Refund {self.reference} of {self.amount} on {self.payment_id}"


class RefundAllocation(models.Model):
    """The part of a refund taken back from one invoice the payment had paid."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    refund = models.ForeignKey(Refund, on_delete=models.PROTECT, related_name="allocations")
    invoice = models.ForeignKey(
        Invoice, on_delete=models.PROTECT, related_name="refund_allocations"
    )
    amount = money_field()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0), name="refund_allocation_amount_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} of {self.refund} back on {self.invoice_id}"


class TimelineEvent(models.Model):
    """One line of an invoice's story, written by the service that changed it."""

    class Kind(models.TextChoices):
        CREATED = "created", "Invoice created"
        IMPORTED = "imported", "Imported"
        UPDATED = "updated", "Details updated"
        PAYMENT_RECORDED = "payment_recorded", "Payment recorded"
        REFUND_RECORDED = "refund_recorded", "Refund recorded"
        STATUS_CHANGED = "status_changed", "Status changed"
        VOIDED = "voided", "Voided"
        WRITTEN_OFF = "written_off", "Written off"
        EMAIL_SENT = "email_sent", "Email sent"
        NOTE = "note", "Note"

    public_id = models.UUIDField(default=uuid7, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="timeline")
    kind = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["invoice", "-at"])]

    def __str__(self) -> str:
        return f"{self.kind} on {self.invoice_id} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def kind_label(self) -> str:
        try:
            return self.Kind(self.kind).label
        except ValueError:
            return self.kind.replace("_", " ").capitalize()
