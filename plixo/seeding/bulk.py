"""Synthetic ledgers at benchmark scale: `plixo seed --org SLUG --invoices 1000000`.

Rows go in as raw batches (`plixo.core.bulk.BulkTable`: COPY on PostgreSQL, executemany on
SQLite), one transaction per batch, so memory stays flat and an interrupted run leaves only whole
batches.
The money rows are generated with the invoices, so every invariant the services keep holds
here too:

- `balance == amount − Σ allocations − Σ adjustments`; a payment's `allocated_amount` is the sum
  of its allocations (one payment per paid or partly paid invoice, allocated in full);
- open: balance == amount; partially paid: 0 < balance < amount, one payment; paid: balance 0,
  one payment; void and written off: balance 0 with a void or write-off adjustment;
- every invoice has an `imported` timeline event, plus one per payment, void or write-off.

Re-running adds more: customer ids, invoice numbers and payment references continue after the
highest ones an earlier run wrote (`SEED-C…`, `SEED-…`, `SEED-P…`). The same `--seed` on a fresh
organization on the same day produces the same ledger (amounts, dates, statuses, names).
"""

import datetime as dt
import math
import random
import time
import uuid
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.utils import timezone

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.core.bulk import BulkTable
from plixo.core.models import Membership, Organization, Role
from plixo.core.money import currency_digits
from plixo.core.planner import planner_statistics_refresh
from plixo.ledger.models import (
    Allocation,
    Contact,
    Customer,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentSource,
    TimelineEvent,
)
from plixo.ledger.selectors import org_today
from plixo.ledger.services.balances import Share, customer_balances_shift
from plixo.seeding import words

CUSTOMER_PREFIX = "SEED-C"
INVOICE_PREFIX = "SEED-"
PAYMENT_PREFIX = "SEED-P"
INVOICE_DIGITS = 9
CUSTOMER_DIGITS = 7
INVOICES_PER_CUSTOMER = 20
MAX_DEFAULT_CUSTOMERS = 50_000
ACTOR_LABEL = "Plixo seed"

# (currency, weight, amount factor against USD, [(country, time zone), …])
MARKETS = (
    ("USD", 60, 1, [("US", "America/New_York"), ("US", "America/Chicago"),
                    ("US", "America/Denver"), ("US", "America/Los_Angeles")]),
    ("EUR", 12, Decimal("0.92"), [("DE", "Europe/Berlin"), ("FR", "Europe/Paris"),
                                  ("NL", "Europe/Amsterdam"), ("ES", "Europe/Madrid"),
                                  ("IT", "Europe/Rome"), ("IE", "Europe/Dublin")]),
    ("GBP", 8, Decimal("0.79"), [("GB", "Europe/London")]),
    ("CAD", 8, Decimal("1.36"), [("CA", "America/Toronto"), ("CA", "America/Vancouver")]),
    ("AUD", 6, Decimal("1.52"), [("AU", "Australia/Sydney"), ("AU", "Australia/Melbourne"),
                                 ("AU", "Australia/Perth")]),
    ("JPY", 6, 150, [("JP", "Asia/Tokyo")]),
)  # fmt: skip
SEGMENTS = (("enterprise", 15, 9.2), ("mid-market", 35, 8.0), ("smb", 50, 6.6))  # log-median
PAYMENT_TERMS = (15, 30, 30, 30, 30, 45, 60)
# Mostly ACH, as in a US receivables ledger.
METHODS = (*[PaymentMethod.ACH] * 5, *[PaymentMethod.WIRE] * 2, PaymentMethod.CHECK,
           PaymentMethod.CARD)  # fmt: skip
HISTORY_DAYS = 400

# The columns the seeder writes, in the order of its row tuples; BulkTable fills the rest.
CUSTOMER_COLUMNS = ("id", "public_id", "organization", "external_id", "name", "segment", "owner",
                    "time_zone", "country", "currency", "risk_score", "collector")  # fmt: skip
CONTACT_COLUMNS = ("organization", "customer", "name", "email", "role", "is_primary",
                   "suppression_reason")  # fmt: skip
INVOICE_COLUMNS = ("id", "organization", "customer", "number", "issue_date", "due_date",
                   "currency", "amount", "balance", "status", "po_number")  # fmt: skip
PAYMENT_COLUMNS = ("id", "public_id", "organization", "customer", "reference", "amount",
                   "allocated_amount", "currency", "received_at", "method", "source")  # fmt: skip
ALLOCATION_COLUMNS = ("organization", "payment", "invoice", "amount")
ADJUSTMENT_COLUMNS = ("organization", "invoice", "kind", "amount", "reason")
EVENT_COLUMNS = ("organization", "invoice", "kind", "actor_label", "at", "data")
PROMISE_COLUMNS = ("public_id", "organization", "invoice", "amount", "currency", "promised_on",
                   "status", "actor_label", "resolved_at")  # fmt: skip
PLAN_COLUMNS = ("id", "public_id", "organization", "invoice", "total", "currency", "reason",
                "status", "actor_label", "decided_at")  # fmt: skip
PLAN_REASON = "Cash flow; agreed on the phone"
INSTALLMENT_COLUMNS = ("plan", "sequence", "due_on", "amount", "status")
# Of the overdue invoices still open: this share carry a promise, this share a payment plan.
PROMISE_SHARE = 0.03
PLAN_SHARE = 0.01
PLAN_INSTALLMENTS = 3
MISSED, PENDING = PlanInstallment.Status.MISSED, PlanInstallment.Status.PENDING


@dataclass
class SeedSummary:
    customers: int = 0
    contacts: int = 0
    invoices: int = 0
    payments: int = 0
    adjustments: int = 0
    events: int = 0
    promises: int = 0
    plans: int = 0
    first_number: str = ""
    last_number: str = ""
    seconds: float = 0.0
    by_status: dict | None = None


@dataclass(frozen=True)
class _Customer:
    pk: int
    currency: str
    factor: Decimal | int
    log_median: float
    risk: int


Progress = Callable[[str, int, int, float], None]


def _next_number(queryset, field: str, prefix: str) -> int:
    """1 + the highest numeric suffix under `prefix`; a range keeps it on the unique index."""
    highest = (
        queryset.filter(**{f"{field}__gte": f"{prefix}0", f"{field}__lt": f"{prefix}:"})
        .order_by(f"-{field}")
        .values_list(field, flat=True)
        .first()
    )
    if highest is None:
        return 1
    try:
        return int(highest[len(prefix) :]) + 1
    except ValueError as exc:
        raise ValueError(
            f"{highest!r} looks like a seeded id but is not one; rename it or use another org."
        ) from exc


def _batches(start: int, count: int, size: int):
    for first in range(start, start + count, size):
        yield range(first, min(first + size, start + count))


def _pick_weighted(rng: random.Random, options, weight_index: int = 1):
    total = sum(option[weight_index] for option in options)
    roll = rng.uniform(0, total)
    for option in options:
        roll -= option[weight_index]
        if roll <= 0:
            return option
    return options[-1]


def _money(rng: random.Random, customer: _Customer) -> Decimal:
    digits = currency_digits(customer.currency)
    usd = min(max(rng.lognormvariate(customer.log_median, 0.9), 40.0), 900_000.0)
    minor = int(Decimal(str(round(usd, 2))) * customer.factor * (10**digits))
    return Decimal(max(minor, 10**digits)).scaleb(-digits)


class _Seeder:
    def __init__(self, *, organization, rng, today, batch_size, all_open, progress):
        self.org = organization
        self.rng = rng
        self.today = today
        self.tz = ZoneInfo(organization.time_zone)
        self.batch_size = batch_size
        self.all_open = all_open
        self.progress = progress
        self.summary = SeedSummary(by_status={status: 0 for status in InvoiceStatus.values})
        self.started = time.monotonic()
        self.latest = timezone.now() - dt.timedelta(minutes=1)
        self.customer_table = BulkTable(Customer, CUSTOMER_COLUMNS)
        self.contact_table = BulkTable(Contact, CONTACT_COLUMNS)
        self.invoice_table = BulkTable(Invoice, INVOICE_COLUMNS)
        self.payment_table = BulkTable(Payment, PAYMENT_COLUMNS)
        self.allocation_table = BulkTable(Allocation, ALLOCATION_COLUMNS)
        self.adjustment_table = BulkTable(InvoiceAdjustment, ADJUSTMENT_COLUMNS)
        self.event_table = BulkTable(TimelineEvent, EVENT_COLUMNS)
        self.promise_table = BulkTable(Promise, PROMISE_COLUMNS)
        self.plan_table = BulkTable(PaymentPlan, PLAN_COLUMNS)
        self.installment_table = BulkTable(PlanInstallment, INSTALLMENT_COLUMNS)

    def _at(self, day: dt.date, hour: int | None = None) -> dt.datetime:
        hour = self.rng.randint(8, 17) if hour is None else hour
        moment = dt.datetime(
            day.year, day.month, day.day, hour, self.rng.randrange(60), tzinfo=self.tz
        )
        return min(moment, self.latest)  # nothing is dated in the future

    def _report(self, what: str, done: int, total: int) -> None:
        if self.progress:
            self.progress(what, done, total, time.monotonic() - self.started)

    # -- customers and contacts ------------------------------------------------------------

    def customers(self, first: int, count: int) -> list[_Customer]:
        owners = list(
            Membership.objects.filter(
                organization=self.org, role__in=[Role.SALES, Role.CSM], is_active=True
            ).values_list("user_id", flat=True)
        )
        # Each customer is worked by one of the A/R team (the operators, and the managers too).
        collectors = list(
            Membership.objects.filter(
                organization=self.org,
                role__in=[Role.AR_OPERATOR, Role.AR_MANAGER],
                is_active=True,
            )
            .order_by("pk")
            .values_list("user_id", flat=True)
        )
        org_id = self.org.pk
        created: list[_Customer] = []
        for numbers in _batches(first, count, self.batch_size):
            with transaction.atomic():
                ids = self.customer_table.reserve_ids(len(numbers))
                rows, contacts = [], []
                for pk, n in zip(ids, numbers, strict=True):
                    currency, _, factor, places = _pick_weighted(self.rng, MARKETS)
                    country, zone = self.rng.choice(places)
                    segment, _, log_median = _pick_weighted(self.rng, SEGMENTS)
                    risk = min(100, int(self.rng.betavariate(2, 5) * 100))
                    owner = self.rng.choice(owners) if owners and self.rng.random() < 0.2 else None
                    name = words.company_name(self.rng, country)
                    collector = collectors[n % len(collectors)] if collectors else None
                    rows.append(
                        (pk, uuid.uuid4(), org_id, f"{CUSTOMER_PREFIX}{n:0{CUSTOMER_DIGITS}d}",
                         name, segment, owner, zone, country, currency, risk, collector)
                    )  # fmt: skip
                    contacts.extend(self._contacts(pk, name, n))
                    created.append(_Customer(pk, currency, factor, log_median, risk))
                self.customer_table.insert(rows)
                self.contact_table.insert(contacts)
            self.summary.customers += len(rows)
            self.summary.contacts += len(contacts)
            self._report("customers", len(created), count)
        return created

    def _contacts(self, customer_id: int, company: str, n: int) -> list[tuple]:
        domain = words.email_domain(company, str(n))
        contacts = [
            (self.org.pk, customer_id, "Accounts Payable", f"ap@{domain}", "Accounts payable",
             True, "")
        ]  # fmt: skip
        for index in range(1, self.rng.choice((1, 1, 2, 2, 3))):
            name = words.person_name(self.rng)
            suppressed = "Hard bounce" if self.rng.random() < 0.02 else ""
            contacts.append(
                (self.org.pk, customer_id, name, f"{words.email_local(name)}.{index}@{domain}",
                 self.rng.choice(words.AP_ROLES), False, suppressed)
            )  # fmt: skip
        return contacts

    # -- invoices and their money rows ------------------------------------------------------

    def _status(self, days_overdue: int) -> str:
        if self.all_open:
            return InvoiceStatus.OPEN
        roll = self.rng.random()
        if roll < 0.01:
            return InvoiceStatus.VOID
        if days_overdue > 120 and roll < 0.04:
            return InvoiceStatus.WRITTEN_OFF
        paid = 0.1 if days_overdue <= 0 else min(0.92, 0.45 + days_overdue / 300)
        roll = self.rng.random()
        if roll < paid:
            return InvoiceStatus.PAID
        if roll < paid + 0.08:
            return InvoiceStatus.PARTIALLY_PAID
        return InvoiceStatus.OPEN

    def _paid_on(self, issue: dt.date, due: dt.date, risk: int) -> dt.date:
        late = self.rng.randint(-12, 5 + risk // 2)
        day = min(due + dt.timedelta(days=late), self.today)
        return max(day, min(issue + dt.timedelta(days=1), self.today))

    def invoices(self, first: int, count: int, customers: list[_Customer]) -> None:
        done, org_id = 0, self.org.pk
        for numbers in _batches(first, count, self.batch_size):
            with transaction.atomic():
                ids = self.invoice_table.reserve_ids(len(numbers))
                rows = _BatchRows()
                for pk, n in zip(ids, numbers, strict=True):
                    self._invoice(rows, pk, n, customers[self.rng.randrange(len(customers))])
                payment_ids = self.payment_table.reserve_ids(len(rows.payments))
                rows.number_payments(payment_ids)
                self.invoice_table.insert(rows.invoices)
                customer_balances_shift(
                    organization_id=org_id,
                    moves=[(row[2], None, Share(row[6], row[8], row[9])) for row in rows.invoices],
                )
                self.payment_table.insert(rows.payments)
                self.allocation_table.insert(rows.allocations)
                self.adjustment_table.insert(rows.adjustments)
                self.event_table.insert(rows.events)
                self.promise_table.insert(rows.promises)
                plan_ids = self.plan_table.reserve_ids(len(rows.plans))
                self.plan_table.insert(rows.number_plans(plan_ids))
                self.installment_table.insert(rows.installments)
            if not self.summary.first_number:
                self.summary.first_number = rows.invoices[0][3]
            self.summary.last_number = rows.invoices[-1][3]
            self.summary.invoices += len(rows.invoices)
            self.summary.payments += len(rows.payments)
            self.summary.adjustments += len(rows.adjustments)
            self.summary.events += len(rows.events)
            self.summary.promises += len(rows.promises)
            self.summary.plans += len(rows.plans)
            done += len(rows.invoices)
            self._report("invoices", done, count)

    def _invoice(self, rows: "_BatchRows", pk: int, n: int, customer: _Customer) -> None:
        org_id, rng = self.org.pk, self.rng
        issue = self.today - dt.timedelta(days=rng.randrange(HISTORY_DAYS))
        due = issue + dt.timedelta(days=rng.choice(PAYMENT_TERMS))
        amount = _money(rng, customer)
        currency = customer.currency
        status = self._status((self.today - due).days)
        balance = amount
        number = f"{INVOICE_PREFIX}{n:0{INVOICE_DIGITS}d}"
        rows.events.append(
            (org_id, pk, TimelineEvent.Kind.IMPORTED, ACTOR_LABEL, self._at(issue, hour=7),
             {"amount": str(amount), "currency": currency, "due_date": str(due),
              "source": "seed"})
        )  # fmt: skip
        if status == InvoiceStatus.PARTIALLY_PAID:
            fraction = Decimal(rng.choice((25, 40, 50, 60, 75))) / 100
            share = (amount * fraction).quantize(Decimal(1).scaleb(-currency_digits(currency)))
            if not 0 < share < amount:
                # Too small to split (e.g. ¥1): leave it open rather than break a rule.
                status, share = InvoiceStatus.OPEN, None
        else:
            share = amount if status == InvoiceStatus.PAID else None
        if share is not None:
            received = self._at(self._paid_on(issue, due, customer.risk))
            method = rng.choice(METHODS)
            public_id = uuid.uuid4()
            reference = f"{PAYMENT_PREFIX}{n:0{INVOICE_DIGITS}d}"
            balance = amount - share
            rows.payments.append(
                [None, public_id, org_id, customer.pk, reference, share, share, currency,
                 received, method, PaymentSource.IMPORT]
            )  # fmt: skip
            rows.allocations.append([org_id, None, pk, share])
            rows.events.append(
                (org_id, pk, TimelineEvent.Kind.PAYMENT_RECORDED, ACTOR_LABEL, received,
                 {"payment": str(public_id), "reference": reference, "amount": str(share),
                  "currency": currency, "method": method, "source": PaymentSource.IMPORT,
                  "balance": str(balance), "from": InvoiceStatus.OPEN, "to": status})
            )  # fmt: skip
        elif status in (InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF):
            void = status == InvoiceStatus.VOID
            reason = "Issued in error" if void else "Uncollectable: no response after 120 days"
            when = (
                issue + dt.timedelta(days=rng.randint(1, 5))
                if void
                else due + dt.timedelta(days=rng.randint(121, 150))
            )
            kind = InvoiceAdjustment.Kind.VOID if void else InvoiceAdjustment.Kind.WRITE_OFF
            rows.adjustments.append((org_id, pk, kind, amount, reason))
            data = {"reason": reason, "balance": str(amount), "from": InvoiceStatus.OPEN}
            if not void:
                data.update(amount=str(amount), balance="0", to=status)
            rows.events.append(
                (org_id, pk, TimelineEvent.Kind.VOIDED if void else TimelineEvent.Kind.WRITTEN_OFF,
                 ACTOR_LABEL, self._at(min(when, self.today)), data)
            )  # fmt: skip
            balance = Decimal(0)
        if balance > 0 and due < self.today:
            self._commitment(rows, pk, currency, balance)
        po_number = f"PO-{rng.randint(10000, 99999)}" if rng.random() < 0.6 else ""
        rows.invoices.append(
            (pk, org_id, customer.pk, number, issue, due, currency, amount, balance, status,
             po_number)
        )  # fmt: skip
        self.summary.by_status[status] += 1

    def _commitment(self, rows: "_BatchRows", pk: int, currency: str, balance: Decimal) -> None:
        """Some overdue invoices carry a promise (open, due soon or just passed, or missed) or a
        payment plan over their balance (accepted; installments already past are missed, and
        two missed default it), as a live organization's do, so the radar has work at scale."""
        rng, org_id, today = self.rng, self.org.pk, self.today
        roll = rng.random()
        if roll < PROMISE_SHARE:
            missed = rng.random() < 0.3
            offset = -rng.randint(5, 60) if missed else rng.randint(-3, 30)
            promised_on = today + dt.timedelta(days=offset)
            made = self._at(min(promised_on, today) - dt.timedelta(days=rng.randint(1, 10)))
            public_id = uuid.uuid4()
            rows.promises.append(
                (public_id, org_id, pk, balance, currency, promised_on,
                 Promise.Status.MISSED if missed else Promise.Status.OPEN, ACTOR_LABEL,
                 self._at(promised_on + dt.timedelta(days=1)) if missed else None)
            )  # fmt: skip
            rows.events.append(
                (org_id, pk, "promise_made", ACTOR_LABEL, made,
                 {"promise": str(public_id), "amount": str(balance), "currency": currency,
                  "promised_on": str(promised_on), "source": "staff"})
            )  # fmt: skip
        elif roll < PROMISE_SHARE + PLAN_SHARE:
            step = Decimal(1).scaleb(-currency_digits(currency))
            each = (balance / PLAN_INSTALLMENTS).quantize(step, rounding="ROUND_DOWN")
            if each <= 0:
                return
            amounts = [each] * (PLAN_INSTALLMENTS - 1) + [balance - each * (PLAN_INSTALLMENTS - 1)]
            first = today + dt.timedelta(days=rng.randint(-45, 10))
            dues = [first + dt.timedelta(days=30 * i) for i in range(PLAN_INSTALLMENTS)]
            missed = sum(1 for due in dues if due < today)
            status = PaymentPlan.Status.DEFAULTED if missed >= 2 else PaymentPlan.Status.APPROVED
            decided = self._at(min(first, today) - dt.timedelta(days=rng.randint(3, 10)))
            public_id = uuid.uuid4()
            rows.plans.append(
                [None, public_id, org_id, pk, balance, currency, PLAN_REASON, status, ACTOR_LABEL,
                 decided]
            )  # fmt: skip
            plan_row = rows.plans[-1]
            for sequence, (due, amount) in enumerate(zip(dues, amounts, strict=True), start=1):
                state = MISSED if due < today else PENDING
                rows.installments.append([plan_row, sequence, due, amount, state])
            rows.events.append(
                (org_id, pk, "plan_proposed", ACTOR_LABEL, decided,
                 {"plan": str(public_id), "total": str(balance), "currency": currency,
                  "installments": PLAN_INSTALLMENTS,
                  "first_on": str(dues[0]), "last_on": str(dues[-1]), "source": "staff",
                  "reason": PLAN_REASON})
            )  # fmt: skip


class _BatchRows:
    """One batch's rows; payments and allocations get their payment ids once reserved, plan
    installments their plan's id."""

    def __init__(self):
        self.invoices: list[tuple] = []
        self.payments: list[list] = []
        self.allocations: list[list] = []
        self.adjustments: list[tuple] = []
        self.events: list[tuple] = []
        self.promises: list[tuple] = []
        self.plans: list[list] = []
        self.installments: list[list] = []

    def number_plans(self, ids: list[int]) -> list[list]:
        for plan, pk in zip(self.plans, ids, strict=True):
            plan[0] = pk
        for installment in self.installments:
            installment[0] = installment[0][0]  # the plan row, now numbered
        return self.plans

    def number_payments(self, ids: list[int]) -> None:
        # Payments and allocations are appended in step, one allocation per payment.
        for payment, allocation, pk in zip(self.payments, self.allocations, ids, strict=True):
            payment[0] = pk
            allocation[1] = pk


def invoices_seed(
    *,
    organization: Organization,
    invoices: int,
    customers: int | None = None,
    seed: int = 0,
    all_open: bool = False,
    batch_size: int = 5000,
    progress: Progress | None = None,
) -> SeedSummary:
    """Add `invoices` synthetic invoices (with customers, contacts and money rows) to an org.

    `customers=None` creates one customer per 20 invoices (at most 50,000); `customers=0` spreads
    the invoices over the organization's existing customers instead.
    """
    if invoices < 0 or (customers is not None and customers < 0):
        raise ValueError("Counts cannot be negative.")
    if batch_size < 1:
        raise ValueError("The batch size must be at least 1.")
    if customers is None:
        customers = min(MAX_DEFAULT_CUSTOMERS, math.ceil(invoices / INVOICES_PER_CUSTOMER))
    first_customer = _next_number(
        Customer.objects.filter(organization=organization), "external_id", CUSTOMER_PREFIX
    )
    first_invoice = _next_number(
        Invoice.objects.filter(organization=organization), "number", INVOICE_PREFIX
    )
    rng = random.Random(f"{organization.slug}:{seed}:{first_customer}:{first_invoice}")
    seeder = _Seeder(
        organization=organization,
        rng=rng,
        today=org_today(organization),
        batch_size=batch_size,
        all_open=all_open,
        progress=progress,
    )
    with _bulk_load_settings():
        pool = seeder.customers(first_customer, customers) if customers else []
        if invoices and not pool:
            pool = _existing_customers(organization)
            if not pool:
                raise ValueError("The organization has no customers to spread the invoices over.")
        if invoices:
            seeder.invoices(first_invoice, invoices, pool)
    planner_statistics_refresh()
    seeder.summary.seconds = time.monotonic() - seeder.started
    return seeder.summary


@contextmanager
def _bulk_load_settings(cache_kib: int = 128 * 1024):
    """Connection settings for the duration of a load, restored afterwards.

    - SQLite's default 2 MB page cache spills dirty index pages (random UUID indexes touch
      pages everywhere) to the WAL over and over; a large cache cuts the bytes written.
    - Durability of each batch commit is relaxed (`synchronous`, `synchronous_commit`): a
      crash of the machine mid-load can lose the last batches, never corrupt the database,
      and a seed is re-run rather than recovered.
    """
    if connection.vendor == "sqlite":
        settings = {"cache_size": -int(cache_kib)}
        if not connection.in_atomic_block:  # SQLite refuses to change it inside a transaction
            settings["synchronous"] = 0
        with connection.cursor() as cursor:
            before = {}
            for name, value in settings.items():
                cursor.execute(f"PRAGMA {name}")
                before[name] = cursor.fetchone()[0]
                cursor.execute(f"PRAGMA {name} = {value}")
        try:
            yield
        finally:
            with connection.cursor() as cursor:
                for name, value in before.items():
                    cursor.execute(f"PRAGMA {name} = {int(value)}")
        return
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        before = cursor.fetchone()[0]
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT set_config('synchronous_commit', %s, false)", [before])


def _existing_customers(organization: Organization) -> list[_Customer]:
    medians = {segment: log_median for segment, _, log_median in SEGMENTS}
    factors = {currency: factor for currency, _, factor, _ in MARKETS}
    return [
        _Customer(pk, currency, factors.get(currency, 1), medians.get(segment, 7.5), risk)
        for pk, currency, segment, risk in Customer.objects.filter(
            organization=organization
        ).values_list("pk", "currency", "segment", "risk_score")
    ]
