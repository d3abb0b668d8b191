"""`/api/v1/disputes`: list, create, assign, resolve."""

from ninja import Router

router = Router(tags=["disputes"])
