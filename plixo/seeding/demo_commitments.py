"""What payers and operators did about some open demo invoices: promises, payment plans and
disputes, written through the same services the payer portal and the operators use."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from plixo.commitments.services import plan_installments_even, plan_propose, promise_create
from plixo.core.models import Organization, User
from plixo.core.money import quantize
from plixo.disputes.services import dispute_file
from plixo.ledger.models import Invoice


def demo_commitments(
    *, organization: Organization, today: dt.date, operator: User, contacts: dict[int, list]
) -> None:
    """Promises, plans and disputes on the oldest overdue invoices, so every page has some."""
    overdue = list(
        Invoice.objects.filter(
            organization=organization, status="open", due_date__lt=today
        ).order_by("due_date", "number")
    )
    if len(overdue) < 7:
        return
    for invoice, days in zip(overdue[0:3], (2, 6, 12), strict=True):
        promise_create(
            invoice=invoice,
            amount=invoice.balance,
            promised_on=today + dt.timedelta(days=days),
            note="Promised on the phone by AP; payment run scheduled.",
            source="staff",
            actor=operator,
        )
    for invoice in overdue[3:5]:
        plan_propose(
            invoice=invoice,
            installments=plan_installments_even(
                total=invoice.balance,
                currency=invoice.currency,
                count=3,
                first_on=today + dt.timedelta(days=7),
            ),
            reason="Cash flow is tight until our customers pay us next quarter.",
            contact=contacts[invoice.customer_id][0],
            source="portal",
            actor_label="Accounts payable (payer, portal)",
        )
    evidence = SimpleUploadedFile(
        "delivery-note.pdf",
        b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
        content_type="application/pdf",
    )
    for invoice, reason, files in (
        (overdue[5], "quantity", [evidence]),
        (overdue[6], "pricing", []),
    ):
        dispute_file(
            invoice=invoice,
            reason_code=reason,
            amount=quantize(invoice.balance / 4, invoice.currency),
            description="Delivery short by two pallets; see the signed delivery note."
            if files
            else "Invoiced at list price; our contract rate is 8% lower.",
            attachments=files,
            contact=contacts[invoice.customer_id][0],
            source="portal" if files else "staff",
            actor=None if files else operator,
            actor_label="Accounts payable (payer, portal)" if files else None,
        )
