"""Data-Ready: the ERP aging exports a Controller uploads, each run of the checks, and the
Controller overrides that let an organization go live while a check fails."""

import datetime as dt
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from plixo.core.models import Organization

EARLIEST_AS_OF = dt.date(2000, 1, 1)


def _money(**kwargs) -> models.DecimalField:
    return models.DecimalField(max_digits=19, decimal_places=4, **kwargs)


class AgingExport(models.Model):
    """Bucket totals of one aging summary, as the ERP printed them, in `currency`."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    as_of = models.DateField()
    currency = models.CharField(max_length=3)
    file_name = models.CharField(max_length=255)
    product = models.CharField(max_length=80, blank=True)
    customers = models.PositiveIntegerField(default=0)
    current = _money()
    days_1_30 = _money()
    days_31_60 = _money()
    days_61_90 = _money()
    days_90_plus = _money()
    total = _money()
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField()

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-uploaded_at"], name="aging_export_latest")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(as_of__gte=EARLIEST_AS_OF), name="aging_export_as_of_from_2000"
            ),
            models.CheckConstraint(
                condition=Q(
                    total=models.F("current")
                    + models.F("days_1_30")
                    + models.F("days_31_60")
                    + models.F("days_61_90")
                    + models.F("days_90_plus")
                ),
                name="aging_export_total_is_sum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} (as of {self.as_of})"

    @property
    def buckets(self) -> dict[str, Decimal]:
        return {
            "current": self.current,
            "1_30": self.days_1_30,
            "31_60": self.days_31_60,
            "61_90": self.days_61_90,
            "90_plus": self.days_90_plus,
        }


class ReadinessRun(models.Model):
    """One run of the Data-Ready checks and what each found (`results`, a list of dicts)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    ran_at = models.DateTimeField()
    ran_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ran_by_label = models.CharField(max_length=200, blank=True)  # "cli" when no person ran it
    results = models.JSONField(default=list)
    passed = models.BooleanField()
    aging_export = models.ForeignKey(
        AgingExport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-ran_at", "-id"]
        indexes = [models.Index(fields=["organization", "-ran_at"], name="readiness_run_latest")]

    def __str__(self) -> str:
        return f"Data-Ready {'passed' if self.passed else 'failed'} at {self.ran_at:%Y-%m-%d %H:%M}"


class ReadinessOverride(models.Model):
    """A Controller's decision to go live although the last run failed, with the reason. It
    covers the run it was given for only: a later run that fails needs a new decision."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    run = models.ForeignKey(ReadinessRun, on_delete=models.CASCADE, related_name="overrides")
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="readiness_override_has_reason")
        ]

    def __str__(self) -> str:
        return f"Override by {self.by} at {self.at:%Y-%m-%d %H:%M}"
