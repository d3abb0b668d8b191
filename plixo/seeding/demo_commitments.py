"""What payers and operators did about some open demo invoices: promises, payment plans and
disputes, written through the same services the payer portal and the operators use."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from plixo.commitments.services import (
    plan_create,
    plan_installments_even,
    plan_propose,
    promise_create,
)
from plixo.core.models import Organization, User
from plixo.core.money import quantize
from plixo.disputes.services import dispute_file
from plixo.ledger.models import Invoice


def demo_commitments(
    *, organization: Organization, today: dt.date, operator: User, contacts: dict[int, list]
) -> None:
    """Promises, plans and disputes on the oldest overdue invoices, so every page (the
    Commitment Radar among them) has some."""
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
    if len(overdue) < 9:
        return
    # On the Commitment Radar: a promise due today, and a plan agreed on the phone whose first
    # installment falls in three days.
    promise_create(
        invoice=overdue[7],
        amount=overdue[7].balance,
        promised_on=today,
        note="AP confirmed the payment run goes out today.",
        source="staff",
        actor=operator,
    )
    plan = plan_create(
        invoice=overdue[8],
        installments=plan_installments_even(
            total=overdue[8].balance,
            currency=overdue[8].currency,
            count=4,
            first_on=today + dt.timedelta(days=3),
            every_days=14,
        ),
        reason="Seasonal business; agreed fortnightly payments with their controller.",
        contact=contacts[overdue[8].customer_id][0],
        actor=operator,
    )
    if plan.status == "pending_approval":
        # Above the operator's limit (or in a currency without an exchange rate): the
        # Controller approves it from the Approvals inbox, as they would.
        from plixo.approvals.models import ApprovalRequest
        from plixo.approvals.services import approval_approve
        from plixo.core.models import Membership, Role

        controller = (
            Membership.objects.filter(
                organization=organization, role=Role.CONTROLLER, is_active=True
            )
            .select_related("user")
            .first()
        )
        if controller is not None:
            approval_approve(
                approval=ApprovalRequest.objects.get(
                    organization=organization, target_key=f"plan:{plan.public_id}"
                ),
                actor=controller.user,
                comment="Fortnightly terms fit their seasonal cash flow.",
            )
