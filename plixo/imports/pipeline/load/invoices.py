"""Invoices: raw row writes (the million-row case) with timeline events and money rows."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from plixo.core.money import quantize
from plixo.core.permissions import Cap
from plixo.imports.pipeline.load.base import Loader, Outcome, conflict
from plixo.imports.pipeline.load.customers import AMBIGUOUS, CustomerIndex
from plixo.imports.pipeline.load.table import ImportTable
from plixo.imports.pipeline.validate import RowError
from plixo.ledger.models import (
    Allocation,
    Contact,
    Customer,
    Invoice,
    InvoiceAdjustment,
    InvoiceStatus,
    LedgerError,
    Payment,
    PaymentSource,
    TimelineEvent,
)
from plixo.ledger.services.balances import Share, customer_balances_shift

# --- invoices -------------------------------------------------------------------------------

INVOICE_IMPORT_FIELDS = ("issue_date", "due_date", "currency", "amount", "po_number", "description")
INVOICE_COLUMNS = (
    "id", "organization", "customer", "number", "issue_date", "due_date", "currency", "amount",
    "balance", "status", "po_number", "description",
)  # fmt: skip
CUSTOMER_COLUMNS = ("id", "organization", "external_id", "name", "currency", "segment")
EVENT_COLUMNS = ("organization", "invoice", "kind", "actor", "actor_label", "at", "data")
PAYMENT_COLUMNS = ("id", "organization", "customer", "reference", "amount", "allocated_amount",
                   "currency", "received_at", "source", "memo", "created_by")  # fmt: skip
ALLOCATION_COLUMNS = ("organization", "payment", "invoice", "amount")
ADJUSTMENT_COLUMNS = ("organization", "invoice", "kind", "amount", "reason", "created_by")
CLOSED = (InvoiceStatus.PAID, InvoiceStatus.VOID, InvoiceStatus.WRITTEN_OFF)


def _status_for(*, current: str, balance: Decimal, amount: Decimal) -> str:
    if balance == 0:
        return InvoiceStatus.PAID
    if current == InvoiceStatus.DISPUTED:
        return InvoiceStatus.DISPUTED
    return InvoiceStatus.PARTIALLY_PAID if balance < amount else InvoiceStatus.OPEN


@dataclass
class _Plan:
    """What a row does to an invoice: field changes, money settled as paid, or a void."""

    changes: dict
    settle: Decimal
    void: bool
    balance: Decimal
    status: str


def _jsonable(value, currency: str) -> str:
    """Timeline data: amounts in the currency's minor units ("1050.00"), like the services."""
    if isinstance(value, Decimal):
        return str(quantize(value, currency))
    return str(value)


class InvoiceLoader(Loader):
    def __init__(self, batch):
        super().__init__(batch)
        self.customers = ImportTable(Customer, CUSTOMER_COLUMNS)
        self.invoices = ImportTable(Invoice, INVOICE_COLUMNS)
        self.events = ImportTable(TimelineEvent, EVENT_COLUMNS)
        self.payments = ImportTable(Payment, PAYMENT_COLUMNS)
        self.allocations = ImportTable(Allocation, ALLOCATION_COLUMNS)
        self.adjustments = ImportTable(InvoiceAdjustment, ADJUSTMENT_COLUMNS)
        self.batch_tag = batch.public_id.hex[:12]
        self.actor_id = batch.created_by_id
        self.customer_index = None  # set on the first chunk: rows say whether ids or names

    def plan_update(self, invoice: Invoice, row: dict) -> _Plan | None:
        number = invoice.number
        changes = {
            name: {
                "from": _jsonable(getattr(invoice, name), invoice.currency),
                "to": _jsonable(row[name], row["currency"]),
            }
            for name in INVOICE_IMPORT_FIELDS
            if getattr(invoice, name) != row[name]
        }
        if invoice.status in CLOSED:
            label = invoice.get_status_display().lower()
            if changes:
                raise conflict(
                    next(iter(changes)),
                    f"Invoice {number} is {label} in Plixo; its details can no longer change "
                    f"({', '.join(changes)} differ).",
                )
            if row["status"] != "open" and row["status"] != invoice.status:
                raise conflict(
                    "status", f"Invoice {number} is {label} in Plixo, not {row['status']}."
                )
            # An export that still shows it open predates the payment Plixo knows of.
            return None
        moved = invoice.amount - invoice.balance  # paid, credited or written off so far
        if "currency" in changes and moved:
            raise conflict(
                "currency",
                f"Invoice {number} has payments or credits in {invoice.currency}; its currency "
                "cannot change.",
            )
        if row["amount"] < moved:
            raise conflict(
                "amount",
                f"Invoice {number} already has {moved} {invoice.currency} paid or credited, more "
                f"than the new amount {row['amount']}.",
            )
        balance = row["amount"] - moved
        settle, void = Decimal(0), False
        if row["status"] == "void":
            if moved:
                raise conflict(
                    "status", f"Invoice {number} has payments or credits; it cannot be void."
                )
            void = True
        elif row["balance"] is not None:
            if row["balance"] > balance:
                raise conflict(
                    "balance",
                    f"The file's balance {row['balance']} is more than Plixo's balance {balance} "
                    f"for invoice {number}; refunds and reversals are entered in Plixo.",
                )
            settle = balance - row["balance"]
        if not changes and not settle and not void:
            return None
        if void:
            status, new_balance = InvoiceStatus.VOID, Decimal(0)
        else:
            new_balance = balance - settle
            status = _status_for(current=invoice.status, balance=new_balance, amount=row["amount"])
        if status != invoice.status:
            try:
                invoice.check_transition(status)
            except LedgerError as exc:
                raise conflict("status", str(exc)) from exc
        return _Plan(changes, settle, void, new_balance, status)

    def _check_allowed(self, *, void: bool, settles: bool) -> None:
        """An import does only what its uploader may do directly: voiding takes
        `invoices.void`, and a balance below the amount (a settlement payment) takes
        `payments.record`."""
        if void and not self.may(Cap.INVOICES_VOID):
            raise self.not_allowed("status", "void invoices")
        if settles and not self.may(Cap.PAYMENTS_RECORD):
            raise self.not_allowed("balance", "record payments")

    def load(self, rows, *, write):
        outcome = Outcome()
        if self.customer_index is None and rows:
            # Rows of a file without a customer id column carry no external id (see validate).
            by_name = not rows[0].row["customer_external_id"]
            self.customer_index = CustomerIndex(self.org_id, by_name=by_name)
        # customer key (external id, or name key) -> primary key; plain values, as a chunk may
        # name thousands of customers
        customers = self.customer_index.lookup({p.row["customer_key"] for p in rows})
        ambiguous = {key for key, pk in customers.items() if pk == AMBIGUOUS}
        if ambiguous:
            kept = []
            for pending in rows:
                key = pending.row["customer_key"]
                if key in ambiguous:
                    twins = ", ".join(self.customer_index.twins(key)[:5])
                    outcome.rejects.append(
                        (
                            pending,
                            conflict(
                                "customer_name",
                                f"More than one customer in Plixo is named "
                                f"{pending.row['customer_name']!r} (customer ids {twins}), and "
                                "the file has no customer id to tell them apart.",
                            ),
                        )
                    )
                else:
                    kept.append(pending)
            rows = kept
        # No ORDER BY: the model's ordering (due date) makes SQLite walk every invoice of the
        # organization in due-date order instead of probing the (organization, number) index.
        found = Invoice.objects.filter(
            organization_id=self.org_id, number__in=[p.row["number"] for p in rows]
        ).order_by()
        if write and connection.features.has_select_for_update:
            # A payment recorded meanwhile must not be overwritten by the balance read here:
            # lock the rows, in pk order as `payment_record` does, so the two never deadlock.
            found = found.select_for_update().order_by("pk")
        existing = {i.number: i for i in found}
        new, updates = [], []
        for pending in rows:
            row = pending.row
            invoice = existing.get(row["number"])
            if invoice is None:
                try:
                    self._check_allowed(
                        void=row["status"] == "void",
                        settles=row["status"] != "void"
                        and row["balance"] is not None
                        and row["balance"] < row["amount"],
                    )
                except RowError as error:
                    outcome.rejects.append((pending, error))
                    continue
                new.append(pending)
                continue
            customer = customers.get(row["customer_key"])
            try:
                if customer is None or customer != invoice.customer_id:
                    raise conflict(
                        "customer_external_id",
                        f"Invoice {invoice.number} belongs to another customer in Plixo.",
                    )
                plan = self.plan_update(invoice, row)
                if plan is not None:
                    self._check_allowed(void=plan.void, settles=plan.settle > 0)
            except RowError as error:
                outcome.rejects.append((pending, error))
                continue
            if plan is not None:
                updates.append((pending, invoice, plan))
        outcome.created, outcome.updated = len(new), len(updates)
        if write:
            rejected = outcome.rejected_lines
            accepted = [p for p in rows if p.line not in rejected]
            self._write_customers_and_contacts(accepted, customers)
            self._write_new(new, customers)
            self._write_updates(updates)
        return outcome

    def _write_customers_and_contacts(self, rows, customers):
        index = self.customer_index
        missing = {}
        for pending in rows:
            row = pending.row
            key = row["customer_key"]
            if key not in customers and key not in missing:
                external_id = row["customer_external_id"] or index.external_id_for(
                    row["customer_name"], key
                )
                index.added(key, 0, external_id)  # reserves the id; the pk follows below
                missing[key] = (external_id, row["customer_name"], row["currency"], row["segment"])
        if missing:
            # The first row naming a customer describes it; the chunk's transaction holds the
            # write lock (SQLite) or the sequence (PostgreSQL) the reserved keys come from.
            pks = self.customers.reserve_ids(len(missing))
            self.customers.insert(
                [
                    (pk, self.org_id, *described)
                    for pk, described in zip(pks, missing.values(), strict=True)
                ]
            )
            customers.update(zip(missing, pks, strict=True))
            for pk, (key, described) in zip(pks, missing.items(), strict=True):
                index.added(key, pk, described[0])
        wanted = {}
        for pending in rows:
            row = pending.row
            if row["contact_email"]:
                key = (customers[row["customer_key"]], row["contact_email"])
                wanted.setdefault(key, row["contact_name"])
        if not wanted:
            return
        ids = {customer_id for customer_id, _ in wanted}
        have = set(
            Contact.objects.filter(customer_id__in=ids)
            .order_by()
            .values_list("customer_id", "email")
        )
        with_contacts = {customer_id for customer_id, _ in have}
        new = []
        for (customer_id, email), name in wanted.items():
            if (customer_id, email) in have:
                continue
            new.append(
                Contact(
                    organization_id=self.org_id,
                    customer_id=customer_id,
                    email=email,
                    name=name,
                    is_primary=customer_id not in with_contacts,
                )
            )
            with_contacts.add(customer_id)
        Contact.objects.bulk_create(new)

    def _settlement(self, *, invoice_id, customer_id, number, amount, currency, day, payments):
        payments.append(
            (
                None,  # id, filled once reserved
                self.org_id,
                customer_id,
                f"import:{self.batch_tag}:{number}",
                amount,
                amount,
                currency,
                self.at_noon(day),
                PaymentSource.IMPORT,
                f"Paid before import ({self.batch.original_name})"[:500],
                self.actor_id,
            )
        )
        return invoice_id

    def _insert_settlements(self, payments, invoice_ids):
        if not payments:
            return
        pks = self.payments.reserve_ids(len(payments))
        rows = [(pk, *payment[1:]) for pk, payment in zip(pks, payments, strict=True)]
        self.payments.insert(rows)
        self.allocations.insert(
            [
                (self.org_id, pk, invoice_id, payment[4])
                for pk, payment, invoice_id in zip(pks, rows, invoice_ids, strict=True)
            ]
        )

    def _write_new(self, rows, customers):
        if not rows:
            return
        now = timezone.now()
        pks = self.invoices.reserve_ids(len(rows))
        invoice_rows, events, payments, paid_ids, adjustments = [], [], [], [], []
        # The event's data as JSON text: every value is a code, an ISO date, a decimal or a
        # UUID, none of which needs escaping, so the template gives exactly what json.dumps
        # would.
        head = '{"amount": "%s", "currency": "%s", "due_date": "%s", "status": "%s", '
        tail = f'"batch": "{self.batch.public_id}"}}'
        settled = '"batch": "' + str(self.batch.public_id) + '", "settled": "%s"}'
        moves = []
        for pk, pending in zip(pks, rows, strict=True):
            row = pending.row
            customer_id = customers[row["customer_key"]]
            amount = row["amount"]
            if row["status"] == "void":
                balance, status = Decimal(0), InvoiceStatus.VOID
                adjustments.append(
                    (
                        self.org_id,
                        pk,
                        InvoiceAdjustment.Kind.VOID,
                        amount,
                        "Void when imported",
                        self.actor_id,
                    )  # fmt: skip
                )
            else:
                balance = amount if row["balance"] is None else row["balance"]
                status = _status_for(current=InvoiceStatus.OPEN, balance=balance, amount=amount)
                if balance < amount:
                    paid_ids.append(
                        self._settlement(
                            invoice_id=pk,
                            customer_id=customer_id,
                            number=row["number"],
                            amount=amount - balance,
                            currency=row["currency"],
                            day=row["paid_date"] or row["due_date"],
                            payments=payments,
                        )
                    )
            moves.append((customer_id, None, Share(row["currency"], balance, status)))
            invoice_rows.append(
                (
                    pk,
                    self.org_id,
                    customer_id,
                    row["number"],
                    row["issue_date"],
                    row["due_date"],
                    row["currency"],
                    amount,
                    balance,
                    status,
                    row["po_number"],
                    row["description"],
                )  # fmt: skip
            )
            data = head % (amount, row["currency"], row["due_date"], status)
            if balance != amount and status != InvoiceStatus.VOID:
                data += settled % (amount - balance)
            else:
                data += tail
            events.append(
                (
                    self.org_id,
                    pk,
                    TimelineEvent.Kind.IMPORTED,
                    self.actor_id,
                    self.actor_label,
                    now,
                    data,
                )  # fmt: skip
            )
        self.invoices.insert(invoice_rows)
        customer_balances_shift(organization_id=self.org_id, moves=moves)
        self.events.insert(events)
        self.adjustments.insert(adjustments)
        self._insert_settlements(payments, paid_ids)

    def _write_updates(self, updates):
        if not updates:
            return
        now = timezone.now()
        changed, events, payments, paid_ids, adjustments = [], [], [], [], []
        batch_id = str(self.batch.public_id)
        moves = []
        for pending, invoice, plan in updates:
            row = pending.row
            before = Share.of(invoice)
            data = {"changes": dict(plan.changes), "batch": batch_id}
            if plan.status != invoice.status:
                data["changes"]["status"] = {"from": invoice.status, "to": str(plan.status)}
            if plan.balance != invoice.balance:
                data["changes"]["balance"] = {
                    "from": _jsonable(invoice.balance, invoice.currency),
                    "to": _jsonable(plan.balance, row["currency"]),
                }
            for name in INVOICE_IMPORT_FIELDS:
                setattr(invoice, name, row[name])
            if plan.void:
                # Only an invoice with nothing paid or credited is void, so the whole amount is
                # the adjustment.
                adjustments.append(
                    (
                        self.org_id,
                        invoice.pk,
                        InvoiceAdjustment.Kind.VOID,
                        invoice.amount,
                        "Void by import",
                        self.actor_id,
                    )  # fmt: skip
                )
            if plan.settle:
                data["settled"] = _jsonable(plan.settle, row["currency"])
                paid_ids.append(
                    self._settlement(
                        invoice_id=invoice.pk,
                        customer_id=invoice.customer_id,
                        number=invoice.number,
                        amount=plan.settle,
                        currency=invoice.currency,
                        day=row["paid_date"] or timezone.localdate(timezone=self.zone),
                        payments=payments,
                    )
                )
            invoice.balance, invoice.status, invoice.updated_at = plan.balance, plan.status, now
            moves.append((invoice.customer_id, before, Share.of(invoice)))
            changed.append(invoice)
            events.append(
                (
                    self.org_id,
                    invoice.pk,
                    TimelineEvent.Kind.UPDATED,
                    self.actor_id,
                    self.actor_label,
                    now,
                    data,
                )  # fmt: skip
            )
        Invoice.objects.bulk_update(
            changed, [*INVOICE_IMPORT_FIELDS, "balance", "status", "updated_at"]
        )
        customer_balances_shift(organization_id=self.org_id, moves=moves)
        self.events.insert(events)
        self.adjustments.insert(adjustments)
        self._insert_settlements(payments, paid_ids)
