"""The ledger tells the cadence engine what happened to an invoice, inside the transaction
that changed it (a payment, a void, a write-off, a dispute, an edit). The engine cancels
unsent drafts and pauses, stops or resumes chasing; see `plixo.comms.services.enrollment`."""

from plixo.core.models import User
from plixo.ledger.models import Invoice


def cadence_notify(*, invoice: Invoice, change: str, actor: User | None = None, ref: str = ""):
    # Imported here: comms builds on the ledger, not the other way round.
    from plixo.comms.services import cadence_invoice_changed

    return cadence_invoice_changed(invoice=invoice, change=change, actor=actor, ref=ref)
