"""`/api/v1/queue` and `/api/v1/notes`."""

from ninja import Router

queue = Router(tags=["queue"])
notes = Router(tags=["notes"])
