"""Batched upserts by natural key, one loader per kind.

A loader gets a chunk of validated rows and answers which conflict with Plixo's data, how many
records it would create and how many it would change. With `write=True` it also writes them;
the caller holds the chunk's transaction, so a chunk is written whole or not at all.

Per chunk a loader reads the existing records for all the chunk's keys with one `IN` query
each, compares values (a row equal to what Plixo holds is neither created nor updated, so the
same file imported twice changes nothing) and writes with bulk statements. Invoices use the raw
row writer (`BulkTable`: COPY on PostgreSQL) because they are the million-row case; every
invoice created or changed gets its timeline event in the same transaction. Payments go
through `ledger.services.payment_record`, one by one, so balances, statuses and timelines move
exactly as they do for a payment entered by hand.
"""

from plixo.imports.pipeline.load.base import Loader, Outcome, Pending, conflict
from plixo.imports.pipeline.load.invoices import InvoiceLoader
from plixo.imports.pipeline.load.rates import ExchangeRateLoader
from plixo.imports.pipeline.load.records import (
    AgingLoader,
    ContactLoader,
    CustomerLoader,
    PaymentLoader,
)

__all__ = [
    "LOADERS",
    "AgingLoader",
    "ContactLoader",
    "CustomerLoader",
    "InvoiceLoader",
    "Loader",
    "Outcome",
    "PaymentLoader",
    "Pending",
    "conflict",
]

LOADERS = {
    "customers": CustomerLoader,
    "contacts": ContactLoader,
    "invoices": InvoiceLoader,
    "payments": PaymentLoader,
    "aging": AgingLoader,
    "exchange_rates": ExchangeRateLoader,
}
