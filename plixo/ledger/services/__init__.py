"""Every write to the ledger. One function per use case, keyword-only, one transaction.

Each change to an invoice's story writes a timeline event in the same transaction. Balances
move only with a money row (allocation or adjustment) beside them, and statuses only along
`INVOICE_TRANSITIONS`. The modules of this package are re-exported here, so callers import
from `plixo.ledger.services`.
"""

from plixo.ledger.models import LedgerError
from plixo.ledger.services.accounts import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    contact_create,
    contact_suppress,
    contact_update,
    contacts_reactivate_due,
    customer_create,
    customer_update,
)
from plixo.ledger.services.disputes import invoice_dispute_close, invoice_dispute_open
from plixo.ledger.services.invoices import (
    INVOICE_EDITABLE,
    invoice_create,
    invoice_update,
    invoice_void,
    invoice_write_off,
)
from plixo.ledger.services.payments import (
    AllocationRequest,
    invoice_balance_from_rows,
    payment_record,
    refund_record,
)
from plixo.ledger.services.reversals import payment_reverse
from plixo.ledger.services.timeline import timeline_record

__all__ = [
    "CONTACT_FIELDS",
    "CUSTOMER_FIELDS",
    "INVOICE_EDITABLE",
    "AllocationRequest",
    "LedgerError",
    "contact_create",
    "contact_suppress",
    "contact_update",
    "contacts_reactivate_due",
    "customer_create",
    "customer_update",
    "invoice_balance_from_rows",
    "invoice_create",
    "invoice_dispute_close",
    "invoice_dispute_open",
    "invoice_update",
    "invoice_void",
    "invoice_write_off",
    "payment_record",
    "payment_reverse",
    "refund_record",
    "timeline_record",
]
