"""Invoice and receipt PDFs, rendered by WeasyPrint from the HTML templates
`payments/invoice_document.html` and `payments/receipt_document.html`.

Amounts and dates are formatted here, in the organization's locale, so a document reads the
same whoever downloads it. WeasyPrint fetches nothing from the network: every style is inline
and the URL fetcher refuses all but `data:` URIs, so customer-supplied text can never make the
server request a URL.
"""

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from babel.core import UnknownLocaleError
from babel.dates import format_date, format_datetime
from django.template.loader import render_to_string

from plixo.core.errors import ServiceUnavailable
from plixo.core.models import Organization
from plixo.core.money import MoneyError, format_money
from plixo.ledger.models import Contact, Invoice, InvoiceStatus, PaymentMethod, PaymentSource
from plixo.ledger.selectors import org_today
from plixo.payments.models import Receipt

FALLBACK_LOCALE = "en_US"


class DocumentFormat:
    """Money and dates in one organization's locale and time zone."""

    def __init__(self, organization: Organization):
        self.locale = organization.locale or FALLBACK_LOCALE
        self.zone = ZoneInfo(organization.time_zone or "UTC")
        try:
            format_money(Decimal("1"), "USD", self.locale)
        except (UnknownLocaleError, ValueError):
            self.locale = FALLBACK_LOCALE

    def money(self, amount, currency: str) -> str:
        try:
            return format_money(amount, currency, self.locale)
        except (MoneyError, ValueError):
            return f"{amount} {currency}"

    def date(self, value: dt.date | dt.datetime | None) -> str:
        if value is None:
            return ""
        if isinstance(value, dt.datetime):
            value = value.astimezone(self.zone).date()
        return format_date(value, format="medium", locale=self.locale)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return ""
        return format_datetime(
            value.astimezone(self.zone), format="medium", tzinfo=self.zone, locale=self.locale
        )


class PdfUnavailable(ServiceUnavailable):
    """WeasyPrint cannot load its system libraries here."""


def document_url_fetcher():
    """A WeasyPrint fetcher that loads `data:` URIs only: no network, no local files."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=2)


def _document(template: str, context: dict):
    """The laid-out WeasyPrint document (its pages can be inspected before writing the PDF)."""
    try:
        from weasyprint import HTML  # imported here: loading Pango takes a moment
    except OSError as exc:  # WeasyPrint needs the system's Pango library
        raise PdfUnavailable(
            "PDF documents need the Pango library on this server "
            "(Debian: apt-get install libpango-1.0-0 libpangoft2-1.0-0)."
        ) from exc

    html = render_to_string(template, context)
    return HTML(string=html, url_fetcher=document_url_fetcher(), base_url="/").render()


def _bill_to(invoice: Invoice) -> Contact | None:
    return (
        Contact.objects.filter(customer_id=invoice.customer_id)
        .order_by("-is_primary", "pk")
        .first()
    )


STATUS_STAMPS = {
    InvoiceStatus.PAID: "Paid",
    InvoiceStatus.VOID: "Void",
    InvoiceStatus.WRITTEN_OFF: "Written off",
}


def invoice_context(invoice: Invoice) -> dict:
    organization = invoice.organization
    fmt = DocumentFormat(organization)
    currency = invoice.currency
    payments = [
        {
            "date": fmt.date(allocation.payment.received_at),
            "reference": allocation.payment.reference,
            "method": PaymentMethod(allocation.payment.method).label
            if allocation.payment.method in PaymentMethod.values
            else allocation.payment.method,
            "amount": fmt.money(allocation.amount, currency),
        }
        for allocation in invoice.allocations.select_related("payment").order_by(
            "payment__received_at", "pk"
        )
    ]
    # Money given back (refunds, chargebacks) as negative lines, so the figures add up:
    # amount − payments received − adjustments = balance.
    refunded = Decimal("0")
    for part in invoice.refund_allocations.select_related("refund").order_by(
        "refund__refunded_at", "pk"
    ):
        refunded += part.amount
        chargeback = part.refund.reference.startswith(("dp_", "du_"))
        payments.append(
            {
                "date": fmt.date(part.refund.refunded_at),
                "reference": part.refund.reference,
                "method": "Chargeback" if chargeback else "Refund",
                "amount": "−" + fmt.money(part.amount, currency),
            }
        )
    adjustments = [
        {
            "date": fmt.date(adjustment.created_at),
            "label": adjustment.get_kind_display(),
            "amount": fmt.money(adjustment.amount, currency),
        }
        for adjustment in invoice.adjustments.order_by("created_at", "pk")
    ]
    today = org_today(organization)
    overdue_days = (today - invoice.due_date).days if invoice.is_open else 0
    return {
        "organization": organization,
        "invoice": invoice,
        "customer": invoice.customer,
        "bill_to": _bill_to(invoice),
        "status_label": invoice.get_status_display(),
        "stamp": STATUS_STAMPS.get(invoice.status, ""),
        "issue_date": fmt.date(invoice.issue_date),
        "due_date": fmt.date(invoice.due_date),
        "printed_on": fmt.date(today),
        "overdue_days": max(overdue_days, 0),
        "amount": fmt.money(invoice.amount, currency),
        "paid": fmt.money(
            sum((a.amount for a in invoice.allocations.all()), Decimal("0")) - refunded, currency
        ),
        "balance": fmt.money(invoice.balance, currency),
        "payments": payments,
        "adjustments": adjustments,
    }


def receipt_context(receipt: Receipt) -> dict:
    invoice = receipt.invoice
    payment = receipt.payment
    organization = invoice.organization
    fmt = DocumentFormat(organization)
    currency = receipt.currency
    applied = sum((a.amount for a in payment.allocations.filter(invoice=invoice)), Decimal("0"))
    paid_by = None
    if receipt.checkout_id and receipt.checkout.contact_id:
        paid_by = receipt.checkout.contact
    return {
        "organization": organization,
        "receipt": receipt,
        "invoice": invoice,
        "customer": invoice.customer,
        "payment": payment,
        "paid_by": paid_by,
        "issued_at": fmt.datetime(receipt.issued_at),
        "received_on": fmt.date(payment.received_at),
        "invoice_issue_date": fmt.date(invoice.issue_date),
        "invoice_due_date": fmt.date(invoice.due_date),
        "method": PaymentMethod(payment.method).label
        if payment.method in PaymentMethod.values
        else payment.method,
        "source": PaymentSource(payment.source).label
        if payment.source in PaymentSource.values
        else payment.source,
        "is_test": payment.source == PaymentSource.SANDBOX,
        "amount": fmt.money(receipt.amount, currency),
        "applied": fmt.money(applied, currency),
        "unapplied": fmt.money(receipt.amount - applied, currency)
        if receipt.amount > applied
        else "",
        "invoice_amount": fmt.money(invoice.amount, currency),
        "balance_after": fmt.money(receipt.invoice_balance_after, currency),
        "paid_in_full": receipt.invoice_balance_after == 0,
    }


def invoice_document(invoice: Invoice):
    return _document("payments/invoice_document.html", invoice_context(invoice))


def receipt_document(receipt: Receipt):
    return _document("payments/receipt_document.html", receipt_context(receipt))


def invoice_pdf(invoice: Invoice) -> bytes:
    return invoice_document(invoice).write_pdf()


def receipt_pdf(receipt: Receipt) -> bytes:
    return receipt_document(receipt).write_pdf()


def pdf_filename(prefix: str, number: str) -> str:
    """A safe download name such as `invoice-INV-1042.pdf` from any invoice number."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in number).strip(".-")
    return f"{prefix}-{safe or 'document'}.pdf"
