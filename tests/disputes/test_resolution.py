"""Assigning, routing, reviewing and resolving a dispute: credit (a credit note, or an approval
above the resolver's limit), write-off, or rejection, after which the invoice goes back to its
cadence. Every step is on the invoice's timeline."""

from decimal import Decimal

import pytest

from plixo.approvals.models import ApprovalRequest
from plixo.approvals.services import approval_approve, approval_cancel, approval_reject
from plixo.comms.models import CadenceEnrollment, Message
from plixo.comms.services import cadence_tick, sending_settings_for
from plixo.disputes.models import Dispute
from plixo.disputes.services import (
    DisputeForbidden,
    dispute_assign,
    dispute_file,
    dispute_mark_under_review,
    dispute_resolve,
    dispute_route,
)
from plixo.ledger.models import InvoiceAdjustment, InvoiceStatus, LedgerError, TimelineEvent
from plixo.ledger.services.credits import invoice_credit

pytestmark = pytest.mark.django_db


@pytest.fixture
def sending(personas):
    settings = sending_settings_for(personas.org)
    settings.test_address = "ar-test@acme.example"
    settings.save()
    return settings


@pytest.fixture
def drafted(open_invoice, contact, sending):
    """The invoice in its cadence, with its +3 reminder drafted."""
    cadence_tick()
    assert Message.objects.get(invoice=open_invoice).status == Message.Status.DRAFT
    return open_invoice


@pytest.fixture
def dispute(open_invoice, personas):
    return dispute_file(
        invoice=open_invoice,
        reason_code="pricing",
        amount="250.00",
        description="Billed at list price; contract says 20% off.",
        actor=personas.operator.user,
    )


def kinds(invoice) -> list[str]:
    return list(
        TimelineEvent.objects.filter(invoice=invoice)
        .order_by("at", "pk")
        .values_list("kind", flat=True)
    )


def limit(membership, amount: str):
    membership.approval_limit = Decimal(amount)
    membership.save(update_fields=["approval_limit"])


def test_assign_route_and_review_each_write_the_timeline(dispute, personas):
    operator, legal = personas.operator.user, personas.members["legal"].user
    dispute_assign(dispute=dispute, assignee=legal, actor=operator)
    dispute_route(dispute=dispute, team="legal", actor=operator)
    dispute_mark_under_review(dispute=dispute, actor=legal)
    dispute.refresh_from_db()
    assert (dispute.assignee, dispute.routed_to, dispute.status) == (legal, "legal", "under_review")
    events = TimelineEvent.objects.filter(
        invoice=dispute.invoice, data__dispute=str(dispute.public_id)
    )
    by_kind = {event.kind: event for event in events}
    assert by_kind["dispute_assigned"].data["assignee"] == str(legal)
    assert by_kind["dispute_assigned"].actor == operator
    assert by_kind["dispute_routed"].data["team"] == "Legal"
    assert "dispute_under_review" in by_kind


def test_only_members_who_see_the_account_can_be_assigned(dispute, personas):
    sales = personas.members["sales"].user  # owns no account here
    with pytest.raises(LedgerError, match="does not own this account"):
        dispute_assign(dispute=dispute, assignee=sales, actor=personas.operator.user)
    csm = personas.members["csm"].user  # owns the customer
    dispute_assign(dispute=dispute, assignee=csm, actor=personas.operator.user)
    with pytest.raises(LedgerError, match="active member"):
        dispute_assign(
            dispute=dispute, assignee=personas.outsider.user, actor=personas.operator.user
        )


def test_roles_without_the_capability_cannot_act(dispute, personas):
    for role in ("sales", "csm", "billing_admin"):
        with pytest.raises(DisputeForbidden):
            dispute_mark_under_review(dispute=dispute, actor=personas.members[role].user)
    # An operator may resolve, but not by writing off (no invoices.write_off).
    with pytest.raises(DisputeForbidden):
        dispute_resolve(
            dispute=dispute, outcome="write_off", note="Goodwill", actor=personas.operator.user
        )
    assert Dispute.objects.get(pk=dispute.pk).is_open


def test_reject_puts_the_invoice_back_in_its_cadence(drafted, personas):
    operator = personas.operator.user
    dispute = dispute_file(
        invoice=drafted,
        reason_code="already_paid",
        amount="1250.00",
        description="We paid by wire last week.",
        actor=operator,
    )
    enrollment = CadenceEnrollment.objects.get(invoice=drafted)
    assert enrollment.state == CadenceEnrollment.State.PAUSED
    result = dispute_resolve(
        dispute=dispute,
        outcome="reject",
        note="No wire received; sent the bank statement.",
        actor=operator,
    )
    assert result.resolved and result.approval is None
    dispute.refresh_from_db()
    assert dispute.status == "rejected"
    assert dispute.resolved_by == operator and dispute.resolved_at is not None
    drafted.refresh_from_db()
    assert drafted.status == InvoiceStatus.OPEN
    enrollment.refresh_from_db()
    assert enrollment.state == CadenceEnrollment.State.ACTIVE
    followup = Message.objects.get(invoice=drafted, status=Message.Status.DRAFT)
    assert followup.purpose.startswith("followup:dispute_resolved:")
    order = kinds(drafted)
    assert order.index("dispute_resolved") < order.index("cadence_resumed")
    resolved = TimelineEvent.objects.get(invoice=drafted, kind="dispute_resolved")
    assert resolved.data["outcome"] == "Rejected"
    assert "bank statement" in resolved.data["note"]


def test_a_second_open_dispute_keeps_the_invoice_disputed(open_invoice, dispute, personas):
    other = dispute_file(
        invoice=open_invoice,
        reason_code="quantity",
        amount="100.00",
        description="Two boxes short.",
        actor=personas.operator.user,
    )
    dispute_resolve(
        dispute=dispute, outcome="reject", note="Price is right.", actor=personas.controller.user
    )
    open_invoice.refresh_from_db()
    assert open_invoice.status == InvoiceStatus.DISPUTED
    dispute_resolve(
        dispute=other, outcome="reject", note="Delivered in full.", actor=personas.controller.user
    )
    open_invoice.refresh_from_db()
    assert open_invoice.status == InvoiceStatus.OPEN


def test_credit_within_the_limit_writes_a_credit_note(dispute, personas):
    operator = personas.operator
    limit(operator, "1000.00")
    result = dispute_resolve(
        dispute=dispute, outcome="credit", note="Contract price applies.", actor=operator.user
    )
    assert result.resolved and result.approval is None
    credit = InvoiceAdjustment.objects.get(invoice=dispute.invoice)
    assert (credit.kind, credit.amount) == ("credit", Decimal("250.00"))
    invoice = dispute.invoice
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1000.00")
    assert invoice.status == InvoiceStatus.OPEN  # back in its cadence for the rest
    result.dispute.refresh_from_db()
    assert result.dispute.status == "resolved_credit"
    assert result.dispute.resolution_amount == Decimal("250.00")
    order = kinds(invoice)
    assert order.index("credited") < order.index("dispute_resolved")
    credited = TimelineEvent.objects.get(invoice=invoice, kind="credited")
    assert credited.data["dispute"] == str(dispute.public_id)
    assert credited.data["amount"] == "250.00"


def test_credit_of_a_different_amount_and_never_above_the_balance(dispute, personas):
    with pytest.raises(LedgerError, match="more than the invoice's balance"):
        dispute_resolve(
            dispute=dispute,
            outcome="credit",
            amount="5000.00",
            note="Too much",
            actor=personas.controller.user,
        )
    result = dispute_resolve(
        dispute=dispute,
        outcome="credit",
        amount="1250.00",
        note="Full credit",
        actor=personas.controller.user,
    )
    invoice = result.dispute.invoice
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("0.00"), InvoiceStatus.PAID)


def test_credit_above_the_limit_becomes_an_approval_then_resolves_when_approved(dispute, personas):
    operator, controller = personas.operator, personas.controller
    limit(operator, "100.00")
    result = dispute_resolve(
        dispute=dispute, outcome="credit", note="Contract price applies.", actor=operator.user
    )
    approval = result.approval
    assert approval is not None and not result.resolved
    assert (approval.kind, approval.amount, approval.status) == (
        "credit",
        Decimal("250.00"),
        "pending",
    )
    assert approval.target_key == f"dispute:{dispute.public_id}"
    assert "exceeds your $100.00 limit" in approval.guardrail
    assert not InvoiceAdjustment.objects.filter(invoice=dispute.invoice).exists()
    dispute.refresh_from_db()
    assert dispute.is_open and dispute.awaiting_approval
    with pytest.raises(LedgerError, match="waiting for approval"):
        dispute_resolve(
            dispute=dispute, outcome="reject", note="Changed my mind", actor=operator.user
        )

    approval_approve(approval=approval, actor=controller.user, comment="OK")
    dispute.refresh_from_db()
    assert dispute.status == "resolved_credit" and not dispute.awaiting_approval
    assert dispute.resolved_by == operator.user
    credit = InvoiceAdjustment.objects.get(invoice=dispute.invoice)
    assert credit.amount == Decimal("250.00") and credit.created_by == operator.user
    approval.refresh_from_db()
    assert approval.outcome["dispute_status"] == "resolved_credit"
    resolved = TimelineEvent.objects.get(invoice=dispute.invoice, kind="dispute_resolved")
    assert resolved.data["approved_by"] == str(controller.user)
    invoice = dispute.invoice
    invoice.refresh_from_db()
    assert (invoice.balance, invoice.status) == (Decimal("1000.00"), InvoiceStatus.OPEN)


@pytest.mark.parametrize("decision", ["reject", "cancel"])
def test_a_declined_credit_leaves_the_dispute_open(dispute, personas, decision):
    operator = personas.operator
    limit(operator, "0.00")
    result = dispute_resolve(
        dispute=dispute, outcome="credit", note="Goodwill", actor=operator.user
    )
    if decision == "reject":
        approval_reject(approval=result.approval, actor=personas.controller.user, comment="No.")
    else:
        approval_cancel(approval=result.approval, actor=operator.user)
    dispute.refresh_from_db()
    assert dispute.is_open and dispute.pending_approval is None
    assert not InvoiceAdjustment.objects.filter(invoice=dispute.invoice).exists()
    assert TimelineEvent.objects.filter(
        invoice=dispute.invoice, kind="dispute_resolution_declined"
    ).exists()
    # Free to be resolved another way now.
    dispute_resolve(dispute=dispute, outcome="reject", note="Price stands.", actor=operator.user)


def test_write_off_by_legal_and_above_the_limit_through_approval(dispute, personas):
    legal = personas.members["legal"]
    limit(legal, "100.00")
    result = dispute_resolve(
        dispute=dispute, outcome="write_off", note="Not worth it", actor=legal.user
    )
    assert result.approval is not None and result.approval.kind == "write_off"
    approval_approve(approval=result.approval, actor=personas.controller.user)
    dispute.refresh_from_db()
    assert dispute.status == "resolved_write_off"
    write_off = InvoiceAdjustment.objects.get(invoice=dispute.invoice)
    assert (write_off.kind, write_off.amount) == ("write_off", Decimal("250.00"))
    invoice = dispute.invoice
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.balance == Decimal("1000.00")


def test_full_write_off_by_the_controller_closes_the_invoice(dispute, personas):
    dispute_resolve(
        dispute=dispute,
        outcome="write_off",
        amount="1250.00",
        note="Customer bankrupt",
        actor=personas.controller.user,
    )
    invoice = dispute.invoice
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF


def test_a_resolved_dispute_cannot_be_resolved_again(dispute, personas):
    dispute_resolve(dispute=dispute, outcome="reject", note="No", actor=personas.controller.user)
    with pytest.raises(LedgerError, match="already rejected"):
        dispute_resolve(
            dispute=dispute, outcome="credit", note="Yes", actor=personas.controller.user
        )


def test_the_resolution_note_is_required_and_bounded(dispute, personas):
    for note, message in (("  ", "required"), ("x" * 2001, "at most"), ("a\x00b", "control")):
        with pytest.raises(LedgerError, match=message):
            dispute_resolve(
                dispute=dispute, outcome="reject", note=note, actor=personas.controller.user
            )


def test_invoice_credit_keeps_customer_balances_in_step(open_invoice, personas):
    # (the autouse fixture checks the cached customer balance after the test)
    invoice, adjustment = invoice_credit(
        invoice=open_invoice, actor=None, reason="Price correction", amount="200.00"
    )
    assert invoice.balance == Decimal("1050.00")
    assert adjustment.kind == "credit"
    invoice, _ = invoice_credit(invoice=invoice, actor=None, reason="The rest")
    assert (invoice.balance, invoice.status) == (Decimal("0.00"), InvoiceStatus.PAID)
    with pytest.raises(LedgerError, match="nothing left"):
        invoice_credit(invoice=invoice, actor=None, reason="More")


def test_invoice_credit_above_the_limit_asks_and_an_approved_request_applies(
    open_invoice, personas
):
    from plixo.approvals.limits import ApprovalRequired
    from plixo.approvals.services import approval_request_create

    operator = personas.operator
    limit(operator, "0.00")
    with pytest.raises(ApprovalRequired) as raised:
        invoice_credit(invoice=open_invoice, actor=operator.user, reason="Goodwill", amount="300")
    approval = approval_request_create(
        organization=personas.org,
        kind="credit",
        invoice=open_invoice,
        amount=raised.value.amount,
        currency="USD",
        rationale="Goodwill",
        requested_by=operator.user,
        guardrail=raised.value.guardrail,
        params={"amount": "300.00", "reason": "Goodwill"},
    )
    approval_approve(approval=approval, actor=personas.controller.user)
    open_invoice.refresh_from_db()
    assert open_invoice.balance == Decimal("950.00")
    approval.refresh_from_db()
    assert approval.status == ApprovalRequest.Status.APPROVED
    assert approval.outcome["credit_note"]


def test_a_rejected_write_off_frees_the_dispute(dispute, personas):
    legal = personas.members["legal"]
    limit(legal, "0.00")
    result = dispute_resolve(
        dispute=dispute, outcome="write_off", note="Not worth it", actor=legal.user
    )
    approval_reject(approval=result.approval, actor=personas.controller.user, comment="Collect it")
    dispute.refresh_from_db()
    assert dispute.is_open and not dispute.awaiting_approval
    assert not InvoiceAdjustment.objects.filter(invoice=dispute.invoice).exists()
    again = dispute_resolve(
        dispute=dispute, outcome="reject", note="Price stands.", actor=legal.user
    )
    assert again.dispute.status == "rejected"
