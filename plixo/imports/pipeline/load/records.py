"""Customers, contacts, payments and the ERP aging export."""

from django.db import transaction
from django.utils import timezone

from plixo.core.permissions import Cap
from plixo.imports.models import AgingRow
from plixo.imports.pipeline.load.base import Loader, Outcome, conflict
from plixo.imports.pipeline.validate import AGING_BUCKETS, RowError, aging_key
from plixo.ledger.models import (
    Contact,
    Customer,
    Invoice,
    InvoiceStatus,
    LedgerError,
    Payment,
    PaymentSource,
)
from plixo.ledger.services import AllocationRequest, payment_record

# --- customers ------------------------------------------------------------------------------

CUSTOMER_IMPORT_FIELDS = ("name", "segment", "country", "currency", "time_zone")


class CustomerLoader(Loader):
    def load(self, rows, *, write):
        outcome = Outcome()
        ids = [p.row["external_id"] for p in rows]
        existing = {
            c.external_id: c
            for c in Customer.objects.filter(
                organization_id=self.org_id, external_id__in=ids
            ).order_by()
        }
        new, changed = [], []
        now = timezone.now()
        for pending in rows:
            row = pending.row
            customer = existing.get(row["external_id"])
            if customer is None:
                values = {k: row[k] for k in CUSTOMER_IMPORT_FIELDS if k in row}
                # Like every other way of creating a customer: the organization's defaults.
                values.setdefault("currency", self.organization.base_currency)
                values.setdefault("time_zone", self.organization.time_zone)
                new.append(
                    Customer(organization_id=self.org_id, external_id=row["external_id"], **values)
                )
                continue
            diff = [
                k for k in CUSTOMER_IMPORT_FIELDS if k in row and getattr(customer, k) != row[k]
            ]
            if diff:
                for name in diff:
                    setattr(customer, name, row[name])
                customer.updated_at = now
                changed.append(customer)
        outcome.created, outcome.updated = len(new), len(changed)
        if write:
            Customer.objects.bulk_create(new)
            if changed:
                Customer.objects.bulk_update(changed, [*CUSTOMER_IMPORT_FIELDS, "updated_at"])
        return outcome


# --- contacts -------------------------------------------------------------------------------


class ContactLoader(Loader):
    def load(self, rows, *, write):
        outcome = Outcome()
        customers = {
            c.external_id: c.pk
            for c in Customer.objects.filter(
                organization_id=self.org_id,
                external_id__in={p.row["customer_external_id"] for p in rows},
            )
            .only("pk", "external_id")
            .order_by()
        }
        known = []
        for pending in rows:
            external_id = pending.row["customer_external_id"]
            if external_id not in customers:
                outcome.rejects.append(
                    (
                        pending,
                        RowError(
                            "customer_external_id",
                            "unknown_customer",
                            f"No customer with external id {external_id!r}; import customers "
                            "first.",
                        ),
                    )
                )
            else:
                known.append(pending)
        customer_ids = set(customers.values())
        existing = {
            (c.customer_id, c.email): c
            for c in Contact.objects.filter(
                customer_id__in=customer_ids, email__in={p.row["email"] for p in known}
            ).order_by()
        }
        has_primary = set(
            Contact.objects.filter(customer_id__in=customer_ids, is_primary=True).values_list(
                "customer_id", flat=True
            )
        )
        explicit = {customers[p.row["customer_external_id"]] for p in known if p.row["is_primary"]}
        new, changed, demote = [], [], []
        now = timezone.now()
        for pending in known:
            row = pending.row
            customer_id = customers[row["customer_external_id"]]
            contact = existing.get((customer_id, row["email"]))
            if contact is None:
                primary = row["is_primary"]
                if primary is None:
                    primary = customer_id not in has_primary and customer_id not in explicit
                if primary:
                    has_primary.add(customer_id)
                    demote.append((customer_id, row["email"]))
                new.append(
                    Contact(
                        organization_id=self.org_id,
                        customer_id=customer_id,
                        email=row["email"],
                        name=row.get("name", ""),
                        role=row.get("role", ""),
                        is_primary=primary,
                    )
                )
                continue
            diff = [k for k in ("name", "role") if k in row and getattr(contact, k) != row[k]]
            if row["is_primary"] is not None and contact.is_primary != row["is_primary"]:
                diff.append("is_primary")
                if row["is_primary"]:
                    demote.append((customer_id, row["email"]))
            if diff:
                for name in diff:
                    setattr(contact, name, row[name])
                contact.updated_at = now
                changed.append(contact)
        outcome.created, outcome.updated = len(new), len(changed)
        if write:
            # One primary contact per customer: clear the old one before the new one is set.
            for customer_id, email in demote:
                Contact.objects.filter(customer_id=customer_id, is_primary=True).exclude(
                    email=email
                ).update(is_primary=False, updated_at=now)
            # A contact edited in this chunk that was the old primary must not write its
            # loaded is_primary=True back over the demotion.
            promoted = dict(demote)
            for contact in changed:
                if (
                    contact.customer_id in promoted
                    and contact.email != promoted[contact.customer_id]
                ):
                    contact.is_primary = False
            if changed:
                Contact.objects.bulk_update(changed, ["name", "role", "is_primary", "updated_at"])
            Contact.objects.bulk_create(new)
        return outcome


# --- payments -------------------------------------------------------------------------------


class PaymentLoader(Loader):
    """One `payment_record` per row (the ledger's own checks, locks and timeline events)."""

    def load(self, rows, *, write):
        outcome = Outcome()
        if not self.may(Cap.PAYMENTS_RECORD):
            # The upload is refused for such a role; a role changed since is caught here.
            outcome.rejects = [(p, self.not_allowed("reference", "record payments")) for p in rows]
            return outcome
        org = self.org_id
        existing = {
            p.reference: p
            for p in Payment.objects.filter(
                organization_id=org, reference__in=[p.row["reference"] for p in rows]
            )
            .order_by()
            .prefetch_related("allocations__invoice")
        }
        invoices = {
            i.number: i
            for i in Invoice.objects.filter(
                organization_id=org,
                number__in={p.row["invoice_number"] for p in rows if p.row["invoice_number"]},
            ).order_by()
        }
        customers = {
            c.external_id: c
            for c in Customer.objects.filter(
                organization_id=org,
                external_id__in={
                    p.row["customer_external_id"] for p in rows if p.row["customer_external_id"]
                },
            ).order_by()
        }
        for pending in rows:
            try:
                created = self._one(pending.row, existing, invoices, customers, write=write)
            except RowError as error:
                outcome.rejects.append((pending, error))
                continue
            outcome.created += created
        return outcome

    def _one(self, row, existing, invoices, customers, *, write) -> int:
        invoice = customer = None
        if row["invoice_number"]:
            invoice = invoices.get(row["invoice_number"])
            if invoice is None:
                raise RowError(
                    "invoice_number", "unknown_invoice", f"No invoice {row['invoice_number']!r}."
                )
        if row["customer_external_id"]:
            customer = customers.get(row["customer_external_id"])
            if customer is None:
                raise RowError(
                    "customer_external_id",
                    "unknown_customer",
                    f"No customer with external id {row['customer_external_id']!r}.",
                )
        payment = existing.get(row["reference"])
        if payment is not None:
            allocated_to = {a.invoice.number for a in payment.allocations.all()}
            same = (
                payment.amount == row["amount"]
                and payment.currency == row["currency"]
                and (invoice is None or invoice.number in allocated_to)
            )
            if not same:
                raise conflict(
                    "reference",
                    f"Payment {row['reference']} is already recorded as {payment.amount} "
                    f"{payment.currency}"
                    + (f" to {', '.join(sorted(allocated_to))}" if allocated_to else "")
                    + "; payments are not changed by import.",
                )
            return 0
        if customer and invoice and invoice.customer_id != customer.pk:
            raise conflict(
                "customer_external_id",
                f"Invoice {invoice.number} belongs to another customer.",
            )
        allocations = []
        if invoice is not None:
            if invoice.currency != row["currency"]:
                raise conflict(
                    "currency",
                    f"Invoice {invoice.number} is in {invoice.currency}; this payment is in "
                    f"{row['currency']}.",
                )
            if not invoice.is_open or invoice.balance <= 0:
                raise conflict(
                    "invoice_number",
                    f"Invoice {invoice.number} is {invoice.get_status_display().lower()} and "
                    "takes no more payments.",
                )
            allocations.append(
                AllocationRequest(invoice=invoice, amount=min(row["amount"], invoice.balance))
            )
        if write:
            try:
                with transaction.atomic():
                    payment_record(
                        organization=self.organization,
                        reference=row["reference"],
                        amount=row["amount"],
                        currency=row["currency"],
                        received_at=self.at_noon(row["received_date"]),
                        method=row["method"],
                        source=PaymentSource.IMPORT,
                        customer=customer,
                        allocations=allocations,
                        memo=row["memo"],
                        actor=self.actor,
                        actor_label=self.actor_label,
                    )
            except LedgerError as exc:
                raise conflict("amount", str(exc)) from exc
        if invoice is not None:
            # Later rows of the chunk see the balance this payment leaves.
            invoice.balance -= allocations[0].amount
            if invoice.balance == 0:
                invoice.status = InvoiceStatus.PAID
        return 1


# --- aging ----------------------------------------------------------------------------------

AGING_FIELDS = ("customer_external_id", "customer_name", "currency", *AGING_BUCKETS, "total")


class AgingLoader(Loader):
    def __init__(self, batch):
        super().__init__(batch)
        self.seen = 0

    def load(self, rows, *, write):
        outcome = Outcome()
        keep = [
            p for p in rows if p.row["customer_name"].strip().lower() not in ("total", "totals")
        ]
        keys = {aging_key(p.row): p for p in keep}
        existing = {
            r.customer_key: r
            for r in AgingRow.objects.filter(
                organization_id=self.org_id, customer_key__in=keys
            ).order_by()
        }
        new, changed = [], []
        for key, pending in keys.items():
            row = pending.row
            current = existing.get(key)
            if current is None:
                new.append(
                    AgingRow(
                        organization_id=self.org_id,
                        batch=self.batch,
                        customer_key=key,
                        **{k: row[k] for k in AGING_FIELDS},
                    )
                )
            elif any(getattr(current, k) != row[k] for k in AGING_FIELDS):
                for k in AGING_FIELDS:
                    setattr(current, k, row[k])
                current.batch = self.batch
                changed.append(current)
        outcome.created, outcome.updated = len(new), len(changed)
        if write:
            AgingRow.objects.bulk_create(new)
            if changed:
                AgingRow.objects.bulk_update(changed, [*AGING_FIELDS, "batch"])
            # Unchanged rows are part of this export too; `finish` drops the rows it lacks.
            AgingRow.objects.filter(organization_id=self.org_id, customer_key__in=keys).exclude(
                batch=self.batch
            ).update(batch=self.batch)
        return outcome

    def finish(self, *, write, clean):
        # The export replaces the previous one: customers it no longer lists are gone from the
        # ERP's aging. With rejected rows the export is incomplete, so nothing is dropped.
        if write and clean:
            AgingRow.objects.filter(organization_id=self.org_id).exclude(batch=self.batch).delete()
