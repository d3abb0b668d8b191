"""Payer portal links through the API: issue a fresh link for an invoice."""

from uuid import UUID

from ninja import Router, Schema, Status

from plixo.api.auth import api_requires
from plixo.api.common import responses
from plixo.core.permissions import Cap
from plixo.ledger import selectors
from plixo.portal.services import portal_link_issue

router = Router(tags=["portal"])


class PortalLinkOut(Schema):
    url: str


@router.post(
    "/{invoice_id}/portal-link",
    response=responses({201: PortalLinkOut}, 400, 404),
    summary="Issue a payer link for an invoice",
)
@api_requires(Cap.PORTAL_LINKS)
def portal_link_create(request, invoice_id: UUID):
    """A new single-use payer link (`/p/<token>`) as an absolute URL. Every earlier link of the
    invoice stops working at once. The URL is in this response only: Plixo stores a hash of
    the token, so it cannot show the link again; issue a new one instead."""
    invoice = selectors.invoice_for(membership=request.membership, public_id=invoice_id)
    _, path = portal_link_issue(invoice=invoice, actor=request.user)
    return Status(201, {"url": request.build_absolute_uri(path)})
