"""Daily exchange rates, the one thing reporting stores of its own.

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
