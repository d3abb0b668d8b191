"""Invoice and receipt PDFs: real PDFs whose text shows the business facts, formatted in the
organization's locale, with nothing fetched from outside."""

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from plixo.ledger import services as ledger
from plixo.payments import documents
from plixo.payments.documents import pdf_filename
from tests.payments.conftest import pay, pdf_text


def render(document) -> str:
    return pdf_text(document.write_pdf(), document)


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_invoice_pdf_shows_the_invoice(invoice):
    text = squash(render(documents.invoice_document(invoice)))
    for expected in (
        "Acme Widgets",
        "INVOICE",
        "INV-1042",
        "Harbor Freight Partners",
        "Dana Lee",
        "ap@harbor.example",
        "PO-88",
        "Freight consolidation, March",
        "$1,250.00",
        "Balance due",
        "OPEN",
        "10 days overdue",
        invoice.due_date.strftime("%b %-d, %Y"),
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"


def test_invoice_pdf_lists_payments_and_stamps_a_paid_invoice(invoice):
    pay(invoice, amount="250.00", ref="sbx_pi_first")
    pay(invoice, amount="1000.00", ref="sbx_pi_second")
    invoice.refresh_from_db()
    text = squash(render(documents.invoice_document(invoice)))
    assert "sbx_pi_first" in text and "sbx_pi_second" in text
    assert "$250.00" in text and "$1,000.00" in text
    assert "Balance due $0.00" in text
    assert "PAID" in text


def test_amounts_and_dates_follow_the_organization_locale(personas):
    org = personas.org
    org.locale = "de_DE"
    org.save()
    customer = ledger.customer_create(organization=org, external_id="DE-1", name="Müller GmbH")
    invoice = ledger.invoice_create(
        organization=org,
        customer=customer,
        number="RE-2024-7",
        issue_date=dt.date(2024, 3, 1),
        due_date=dt.date(2024, 3, 31),
        currency="EUR",
        amount=Decimal("1234.50"),
    )
    text = squash(render(documents.invoice_document(invoice)))
    assert "1.234,50 €" in text
    assert "31.03.2024" in text
    assert "Müller GmbH" in text


def test_receipt_pdf_shows_the_payment(invoice, portal_session):
    _, payment = pay(
        invoice, amount="200.00", ref="sbx_pi_r1", portal_session_ref=str(portal_session.public_id)
    )
    text = squash(render(documents.receipt_document(payment.receipt)))
    for expected in (
        "RECEIPT",
        "R-000001",
        "Acme Widgets",
        "Harbor Freight Partners",
        "Paid by Dana Lee",
        "sbx_pi_r1",
        "$200.00",
        "INV-1042",
        "$1,250.00",
        "Balance remaining $1,050.00",
        "PARTIALLY PAID",
        "No real money moved",
        "Card",
    ):
        assert expected in text, f"{expected!r} missing from:\n{text}"


def test_receipt_pdf_of_a_full_payment_says_paid_in_full(invoice):
    _, payment = pay(invoice)
    text = squash(render(documents.receipt_document(payment.receipt)))
    assert "PAID IN FULL" in text.upper()
    assert "Balance remaining $0.00" in text


def test_text_from_the_ledger_is_escaped(invoice):
    ledger.invoice_update(
        invoice=invoice,
        description='<img src="http://169.254.169.254/latest"> <b>bold</b> & co',
    )
    invoice.refresh_from_db()
    text = squash(render(documents.invoice_document(invoice)))
    assert '<img src="http://169.254.169.254/latest">' in text
    assert "<b>bold</b> & co" in text


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest", "https://example.com/a.css", "file:///etc/passwd"]
)
def test_documents_fetch_nothing_from_outside(url):
    with pytest.raises(ValueError, match="disallowed protocol"):
        documents.document_url_fetcher().fetch(url)


def test_bytes_helpers_return_pdfs(invoice):
    _, payment = pay(invoice)
    assert documents.invoice_pdf(invoice).startswith(b"%PDF")
    assert documents.receipt_pdf(payment.receipt).startswith(b"%PDF")


def test_download_names_are_safe():
    assert pdf_filename("invoice", "INV-1042") == "invoice-INV-1042.pdf"
    assert pdf_filename("invoice", '../a"b\r\n/c') == "invoice-a-b---c.pdf"
    assert pdf_filename("receipt", "///") == "receipt-document.pdf"


def test_a_bad_locale_falls_back_to_english(invoice):
    org = invoice.organization
    org.locale = "xx_NOPE"
    org.save()
    invoice.refresh_from_db()
    assert "$1,250.00" in squash(render(documents.invoice_document(invoice)))
    assert timezone.now()  # the document rendered without raising


def test_a_non_ascii_invoice_number_is_downloaded_under_its_own_name(personas, invoice):
    # RFC 6266: the UTF-8 name goes in `filename*`, never raw bytes in a quoted `filename`.
    ledger_invoice = type(invoice).objects.get(pk=invoice.pk)
    ledger_invoice.number = "RÉF-Ä1042"
    ledger_invoice.save(update_fields=["number"])
    client = personas.client_for("controller")

    response = client.get(f"/invoices/{invoice.public_id}/pdf/")

    assert response.status_code == 200
    header = response["Content-Disposition"]
    assert header == "attachment; filename*=utf-8''invoice-R%C3%89F-%C3%841042.pdf"
    header.encode("latin-1")  # a header Django and proxies can send as is


def test_the_payers_pdf_keeps_internal_reasons_internal_and_asks_nothing_of_a_void_invoice(
    invoice,
):
    ledger.invoice_write_off(
        invoice=invoice, actor=None, amount=Decimal("50.00"), reason="Customer is a pain"
    )
    text = render(documents.invoice_document(invoice))
    assert "Write-off" in text and "Customer is a pain" not in text
    assert "with your payment" in text

    other = ledger.invoice_create(
        organization=invoice.organization,
        customer=invoice.customer,
        number="INV-VOID",
        issue_date=invoice.issue_date,
        due_date=invoice.due_date,
        currency="USD",
        amount=Decimal("10.00"),
    )
    ledger.invoice_void(invoice=other, actor=None, reason="Issued twice")
    other.refresh_from_db()
    text = render(documents.invoice_document(other))
    assert "with your payment" not in text and "Issued twice" not in text


def _text_boxes(document) -> list[str]:
    """Each laid-out line fragment of a WeasyPrint document, in order."""
    from weasyprint.formatting_structure.boxes import TextBox

    found, stack = [], [page._page_box for page in reversed(document.pages)]
    while stack:
        box = stack.pop()
        if isinstance(box, TextBox):
            found.append(box.text)
        stack.extend(reversed(getattr(box, "children", [])))
    return found


def test_receipt_labels_stay_on_one_line_beside_a_long_reference(invoice):
    _, payment = pay(invoice, amount="200.00", ref="sbx_pi_3PqLk2Lz9aQwErTy0uIoPaSd")
    payment.reference = "WIRE-2026-11-30-HARBOR-FREIGHT-PARTNERS-REMITTANCE-0004471"
    payment.save(update_fields=["reference"])
    boxes = _text_boxes(documents.receipt_document(payment.receipt))
    for label in ("Receipt number", "Payment date", "Reference"):
        assert label in boxes, f"{label!r} wrapped: {boxes}"
