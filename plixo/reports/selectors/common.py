"""What the report selectors share: the member's scope, exact money sums in SQL, the aging
buckets as a SQL expression, and dates in the organization's time zone."""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import BigIntegerField, Case, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Cast, Round

from plixo.core.models import Membership, Organization
from plixo.core.permissions import sees_only_own_accounts
from plixo.ledger.models import units_to_money
from plixo.ledger.selectors import AGING_BUCKETS

# The buckets in the order of `ledger.selectors.AGING_BUCKETS`, as the index the SQL returns.
BUCKET_KEYS = tuple(bucket.key for bucket in AGING_BUCKETS)
BUCKET_LABELS = {bucket.key: bucket.label for bucket in AGING_BUCKETS}


def scope_q(membership: Membership, prefix: str = "") -> Q:
    """Rows of the member's organization, and for Sales and CSMs only those of the customers
    they own. `prefix` leads from the queried model to a model with `organization` and
    `customer` fields: "" for invoices and payments, "invoice__" for allocations."""
    q = Q(**{f"{prefix}organization_id": membership.organization_id})
    if sees_only_own_accounts(membership.role):
        q &= Q(**{f"{prefix}customer__owner_id": membership.user_id})
    return q


def money_sum(field: str) -> Sum:
    """An exact sum of a money column. PostgreSQL adds numerics exactly; SQLite would add the
    decimals as floats, so there each amount is first made a whole number of ten-thousandths
    (the scale of every money column). Read the result with `money_value`."""
    if connection.vendor == "postgresql":
        return Sum(field)
    return Sum(Cast(Round(F(field) * Value(10_000)), BigIntegerField()))


def money_value(value) -> Decimal:
    if value is None:
        return Decimal(0)
    if connection.vendor == "postgresql":
        return Decimal(value)
    return units_to_money(int(value))


def bucket_case(as_of: dt.date, prefix: str = "") -> Case:
    """The aging bucket of an invoice as of `as_of` from its due date: 0 current (not yet
    overdue), 1 for 1–30 days overdue, 2 for 31–60, 3 for 61–90, 4 for more than 90."""
    due = f"{prefix}due_date__gte"
    whens = [When(**{due: as_of}, then=Value(0))]
    for index, bucket in enumerate(AGING_BUCKETS[1:-1], start=1):
        whens.append(When(**{due: as_of - dt.timedelta(days=bucket.max_days)}, then=Value(index)))
    return Case(*whens, default=Value(len(AGING_BUCKETS) - 1), output_field=IntegerField())


def zone(organization: Organization) -> ZoneInfo:
    return ZoneInfo(organization.time_zone)


def day_start(organization: Organization, day: dt.date) -> dt.datetime:
    """The first moment of `day` in the organization's time zone."""
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone(organization))


def prefixed(filters: dict | None, prefix: str) -> dict:
    return {f"{prefix}{key}": value for key, value in (filters or {}).items()}
