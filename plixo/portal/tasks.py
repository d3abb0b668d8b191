"""Background work of the portal: renewal emails."""

from django_tasks import task

from plixo.ledger.models import Contact, Invoice
from plixo.portal.services import portal_link_email


@task()
def portal_link_email_send(*, invoice_ref: str, contact_ref: str) -> bool:
    """Issue and email a fresh link. Only ids travel through the queue: the raw token is made
    here, so the task table never holds one."""
    invoice = (
        Invoice.objects.select_related("organization", "customer")
        .filter(public_id=invoice_ref)
        .first()
    )
    contact = Contact.objects.filter(public_id=contact_ref).first()
    if invoice is None or contact is None or contact.customer_id != invoice.customer_id:
        return False
    return portal_link_email(invoice=invoice, contact=contact)
