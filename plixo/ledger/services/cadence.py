"""The ledger tells the cadence engine what happened to an invoice, inside the transaction
that changed it (a payment, a void, a write-off, a dispute, a promise, a plan, an edit). The
engine cancels unsent drafts and pauses, stops or resumes chasing; see
`plixo.comms.services.enrollment`."""

from contextlib import contextmanager
from contextvars import ContextVar

from plixo.core.models import User
from plixo.ledger.models import Invoice

_suspended: ContextVar[bool] = ContextVar("cadence_hooks_suspended", default=False)


@contextmanager
def cadence_hooks_suspended():
    """Replaying history that predates the cadence (the demo's story, back-dated): the
    changes are not news to the cadence, which the next tick judges as they stand."""
    token = _suspended.set(True)
    try:
        yield
    finally:
        _suspended.reset(token)


def cadence_notify(*, invoice: Invoice, change: str, actor: User | None = None, ref: str = ""):
    if _suspended.get():
        return None
    # Imported here: comms builds on the ledger, not the other way round.
    from plixo.comms.services import cadence_invoice_changed
    from plixo.workspace.services import queue_entry_write

    queue_entry_write(invoice=invoice)  # the invoice's rank in My Queue: one statement

    return cadence_invoice_changed(invoice=invoice, change=change, actor=actor, ref=ref)
