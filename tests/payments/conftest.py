"""An open invoice with a primary contact, and helpers to pay it through the sandbox."""

import datetime as dt
import shutil
import subprocess
from decimal import Decimal

import pytest

from plixo.ledger import services as ledger
from plixo.ledger.selectors import org_today
from plixo.payments import services as payments
from plixo.portal.services import portal_link_consume, portal_link_issue


@pytest.fixture
def customer(personas):
    return ledger.customer_create(
        organization=personas.org, external_id="CUST-7", name="Harbor Freight Partners"
    )


@pytest.fixture
def contact(customer):
    return ledger.contact_create(
        customer=customer, email="ap@harbor.example", name="Dana Lee", is_primary=True
    )


@pytest.fixture
def invoice(personas, customer, contact):
    today = org_today(personas.org)  # the organization's date, as its documents count days
    return ledger.invoice_create(
        organization=personas.org,
        customer=customer,
        number="INV-1042",
        issue_date=today - dt.timedelta(days=40),
        due_date=today - dt.timedelta(days=10),
        currency="USD",
        amount=Decimal("1250.00"),
        po_number="PO-88",
        description="Freight consolidation, March",
    )


@pytest.fixture
def portal_session(invoice, contact):
    link, _ = portal_link_issue(invoice=invoice, contact=contact)
    return portal_link_consume(link=link)


def pay(invoice, amount=None, ref="sbx_pi_1", **kwargs):
    """Open a checkout for `amount` (default: the balance) and complete it."""
    amount = invoice.balance if amount is None else Decimal(amount)
    checkout = payments.checkout_create(invoice=invoice, amount=amount, **kwargs)
    payment = payments.checkout_complete(
        checkout=checkout, provider_ref=ref, amount=amount, currency=invoice.currency
    )
    return checkout, payment


def pdf_text(pdf: bytes, document=None) -> str:
    """The text of a PDF: pdftotext (poppler) when installed, else WeasyPrint's laid-out text
    boxes of `document`."""
    assert pdf.startswith(b"%PDF"), pdf[:20]
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        result = subprocess.run(  # noqa: S603 (a fixed tool reading our own PDF on stdin)
            [pdftotext, "-layout", "-", "-"], input=pdf, capture_output=True, check=True
        )
        return result.stdout.decode("utf-8")
    assert document is not None, "pdftotext is missing: pass the WeasyPrint document too"
    from weasyprint.formatting_structure.boxes import TextBox

    texts = []
    for page in document.pages:
        stack = [page._page_box]
        while stack:
            box = stack.pop()
            if isinstance(box, TextBox):
                texts.append(box.text)
            stack.extend(reversed(getattr(box, "children", [])))
    return " ".join(texts)
