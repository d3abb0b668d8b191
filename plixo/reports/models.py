"""What reporting stores of its own: daily exchange rates, and the daily A/R snapshot.

A rate says what one unit of `currency` was worth in `base_currency` on `on`: 1 EUR = 1.0825
USD is (on, "EUR", "USD", 1.0825). Reports convert an amount dated D with the latest rate on or
before D for the organization's base currency at the time of reading; a currency with no such
rate is reported as missing, never converted at 1. The base currency is stored with each rate so
that a change of the organization's base currency leaves the old rates unused rather than wrong.
"""

import uuid

from django.db import models
from django.db.models import Q

from plixo.core.models import Organization
from plixo.core.money import validate_currency_code
from plixo.ledger.models import money_field

RATE_MAX_DIGITS = 24
RATE_DECIMAL_PLACES = 10


class ExchangeRateSource(models.TextChoices):
    IMPORT = "import", "CSV import"
    API = "api", "API"
    MANUAL = "manual", "Entered by hand"


class ExchangeRate(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="exchange_rates"
    )
    on = models.DateField(help_text="The day the rate is for.")
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    base_currency = models.CharField(max_length=3, validators=[validate_currency_code])
    rate = models.DecimalField(
        max_digits=RATE_MAX_DIGITS,
        decimal_places=RATE_DECIMAL_PLACES,
        help_text="Units of the base currency for one unit of the currency.",
    )
    source = models.CharField(
        max_length=10, choices=ExchangeRateSource.choices, default=ExchangeRateSource.IMPORT
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["currency", "-on"]
        constraints = [
            # Also the index of "the latest rate on or before D": a backward seek on it.
            models.UniqueConstraint(
                fields=["organization", "base_currency", "currency", "on"],
                name="exchange_rate_one_per_day",
            ),
            models.CheckConstraint(condition=Q(rate__gt=0), name="exchange_rate_positive"),
            models.CheckConstraint(
                condition=~Q(currency=models.F("base_currency")),
                name="exchange_rate_not_to_itself",
            ),
        ]

    def __str__(self) -> str:
        return f"1 {self.currency} = {self.rate} {self.base_currency} on {self.on}"


class ReceivablesSnapshot(models.Model):
    """The state of an organization's daily A/R snapshot (`ReceivablesDay` rows): which days it
    covers and when it was last rebuilt in full and last refreshed. One per organization."""

    organization = models.OneToOneField(
        Organization, on_delete=models.CASCADE, related_name="receivables_snapshot"
    )
    first_day = models.DateField(help_text="The first day an invoice was issued; zero before.")
    last_day = models.DateField(help_text="The last day the rows cover.")
    rebuilt_at = models.DateTimeField(help_text="When every day was last computed.")
    refreshed_at = models.DateTimeField(help_text="When the last refresh ran.")
    refreshed_from = models.DateField(help_text="The first day the last refresh rewrote.")

    def __str__(self) -> str:
        return f"A/R snapshot of {self.organization_id}: {self.first_day} to {self.last_day}"


class ReceivablesDay(models.Model):
    """A/R at the end of one day in one invoice currency, as computed at `computed_at`: the open
    balance, its current part (invoices not yet past due: due date on or after the day) and the
    credit sales of the day (invoices issued that day, void ones left out). A day and currency
    with nothing in any column has no row."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    currency = models.CharField(max_length=3, validators=[validate_currency_code])
    open_balance = money_field()
    current_balance = money_field()
    credit_sales = money_field()
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["day", "currency"]
        constraints = [
            # Also the index of every read: the days of one organization.
            models.UniqueConstraint(
                fields=["organization", "day", "currency"], name="receivables_day_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"A/R {self.open_balance} {self.currency} at the end of {self.day}"
