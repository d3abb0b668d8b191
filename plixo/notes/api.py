"""`/api/v1/notes`: internal notes on invoices and disputes, with @mentions."""

from ninja import Router

router = Router(tags=["notes"])
