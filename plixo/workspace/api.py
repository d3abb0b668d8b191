"""`/api/v1/queue`: the caller's queue in rank order."""

from ninja import Router

queue = Router(tags=["queue"])
