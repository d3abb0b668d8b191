"""Import batches (one per uploaded file), the ERP aging export, and the keys a running import
has already loaded (for duplicate detection without holding the whole file in memory)."""

import uuid

from django.conf import settings
from django.db import models

from plixo.core.models import Organization
from plixo.core.money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class ImportKind(models.TextChoices):
    CUSTOMERS = "customers", "Customers"
    CONTACTS = "contacts", "Contacts"
    INVOICES = "invoices", "Invoices"
    PAYMENTS = "payments", "Payments"
    AGING = "aging", "ERP aging export"
    EXCHANGE_RATES = "exchange_rates", "Exchange rates"


class ImportStatus(models.TextChoices):
    VALIDATING = "validating", "Validating"
    LOADED = "loaded", "Loaded"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed"


class DateFormat(models.TextChoices):
    """Dates in ISO 8601 (2024-03-31) are always understood; this adds one regional format, or
    lets the import find it in the file (`auto`)."""

    AUTO = "auto", "Detect from the file"
    ISO = "iso", "ISO 8601 only (2024-03-31)"
    MDY = "mdy", "MM/DD/YYYY (03/31/2024)"
    DMY = "dmy", "DD/MM/YYYY (31/03/2024)"
    DMY_DOT = "dmy_dot", "DD.MM.YYYY (31.03.2024)"


class NumberFormat(models.TextChoices):
    """Which separators the file's amounts use: a decimal point or a decimal comma, each with
    its thousands separators. `auto` lets the import find it in the file."""

    AUTO = "auto", "Detect from the file"
    POINT = "point", "1,234.56 or 1 234.56"
    COMMA = "comma", "1.234,56 or 1 234,56"


def import_upload_path(batch: "ImportBatch", filename: str) -> str:
    # The stored name never uses the uploaded name: it is shown from `original_name` instead.
    return f"imports/{batch.organization_id}/{batch.public_id}/upload.csv"


class ImportBatch(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="import_batches"
    )
    kind = models.CharField(max_length=20, choices=ImportKind.choices)
    file = models.FileField(upload_to=import_upload_path, max_length=300)
    original_name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Last sign of life of the process running it (stamped every few seconds).",
    )
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.VALIDATING
    )
    all_or_nothing = models.BooleanField(default=False)
    date_format = models.CharField(
        max_length=10, choices=DateFormat.choices, default=DateFormat.ISO
    )
    number_format = models.CharField(
        max_length=10, choices=NumberFormat.choices, default=NumberFormat.POINT
    )
    summary = models.JSONField(default=dict, blank=True)
    reject_log = models.FileField(max_length=300, blank=True)
    rows_done = models.PositiveIntegerField(
        default=0, help_text="Rows read so far; written with each committed chunk."
    )
    rows_loaded = models.PositiveIntegerField(
        default=0,
        help_text="Rows of the committed chunks that were loaded (created, updated or found "
        "already as they are); what stays loaded if the import stops.",
    )
    rows_total = models.PositiveIntegerField(
        default=0, help_text="An estimate from the file size until the load finishes."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["organization", "-created_at"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ImportStatus.values), name="import_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ImportKind.values), name="import_kind_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} import {self.original_name}"

    @property
    def is_finished(self) -> bool:
        return self.status != ImportStatus.VALIDATING

    @property
    def is_running(self) -> bool:
        return self.status == ImportStatus.VALIDATING and self.started_at is not None

    @property
    def awaits_confirmation(self) -> bool:
        return self.status == ImportStatus.VALIDATING and self.started_at is None

    @property
    def progress_percent(self) -> int:
        if self.is_finished:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(100 * self.rows_done / self.rows_total))


class ImportedKey(models.Model):
    """A natural key an import has loaded, so that a later row with the same key is a
    duplicate. Kept in the database rather than in memory so that memory stays flat as files
    grow; removed when the import finishes."""

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=400)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "key"], name="imported_key_unique_per_batch")
        ]

    def __str__(self) -> str:
        return self.key


def _money(**kwargs):
    return models.DecimalField(
        max_digits=MONEY_MAX_DIGITS, decimal_places=MONEY_DECIMAL_PLACES, **kwargs
    )


class AgingRow(models.Model):
    """One customer's line of the organization's latest ERP aging export, kept for the
    Data-Ready aging parity check. The export as a whole is the set of rows of an
    organization; each row remembers the import that last wrote it."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="aging_rows"
    )
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="aging_rows")
    customer_key = models.CharField(
        max_length=255, help_text="External id when the export has one, else the name."
    )
    customer_external_id = models.CharField(max_length=100, blank=True)
    customer_name = models.CharField(max_length=255)
    currency = models.CharField(max_length=3)
    current = _money(default=0)
    days_1_30 = _money(default=0)
    days_31_60 = _money(default=0)
    days_61_90 = _money(default=0)
    days_over_90 = _money(default=0)
    total = _money()

    class Meta:
        ordering = ["customer_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_key"], name="aging_row_unique_per_customer"
            )
        ]

    def __str__(self) -> str:
        return f"{self.customer_name}: {self.total} {self.currency}"
