"""Approval requests: the state table, who may decide, and what approving carries out."""

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from plixo.approvals.limits import ApprovalRequired
from plixo.approvals.models import (
    APPROVAL_TRANSITIONS,
    ApprovalError,
    ApprovalRequest,
    ApprovalTransitionError,
)
from plixo.approvals.registry import handler_for, register
from plixo.approvals.services import (
    approval_approve,
    approval_cancel,
    approval_reject,
    approval_request_create,
    approval_route_set,
    invoice_write_off_or_request,
)
from plixo.core.models import AuditEvent, Role
from plixo.ledger.models import InvoiceAdjustment, InvoiceStatus
from plixo.ledger.services import invoice_write_off
from tests.approvals.conftest import make_invoice

Status = ApprovalRequest.Status


def request_write_off(invoice, member, amount="1704.77", reason="Customer insolvent"):
    result = invoice_write_off_or_request(
        invoice=invoice, actor=member.user, reason=reason, amount=Decimal(amount)
    )
    assert result.invoice is None
    return result.approval


# --- the state table ---------------------------------------------------------------------------


def test_the_state_table():
    assert {
        Status.PENDING: {Status.APPROVED, Status.REJECTED, Status.CANCELLED},
        Status.APPROVED: set(),
        Status.REJECTED: set(),
        Status.CANCELLED: set(),
    } == APPROVAL_TRANSITIONS


@pytest.mark.parametrize("current", [Status.APPROVED, Status.REJECTED, Status.CANCELLED])
@pytest.mark.parametrize("wanted", list(Status))
def test_a_decided_request_moves_nowhere(current, wanted):
    approval = ApprovalRequest(status=current)
    with pytest.raises(ApprovalTransitionError) as caught:
        approval.check_transition(wanted)
    assert current.label.lower() in str(caught.value)


# --- write-offs above the limit ----------------------------------------------------------------


def test_a_write_off_above_the_limit_becomes_a_request_and_changes_no_balance(
    personas, manager, invoice
):
    approval = request_write_off(invoice, manager)

    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1704.77")
    assert invoice.status == InvoiceStatus.OPEN
    assert not InvoiceAdjustment.objects.filter(invoice=invoice).exists()
    assert approval.status == Status.PENDING
    assert approval.kind == "write_off"
    assert approval.routed_to == Role.CONTROLLER
    assert approval.rationale == "Customer insolvent"
    assert approval.guardrail == (
        "Write-off of $1,704.77 exceeds your $1,000.00 limit — Controller approval required"
    )
    assert approval.params == {"amount": "1704.77", "reason": "Customer insolvent"}
    assert invoice.timeline.filter(kind="approval_requested").count() == 1


def test_the_ledger_service_itself_refuses_above_the_limit(personas, manager, invoice):
    with pytest.raises(ApprovalRequired) as caught:
        invoice_write_off(invoice=invoice, actor=manager.user, reason="Insolvent")
    assert "exceeds your $1,000.00 limit" in str(caught.value)
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1704.77")


def test_within_the_limit_the_write_off_happens_at_once(personas, manager, invoice):
    result = invoice_write_off_or_request(
        invoice=invoice, actor=manager.user, reason="Bank fee", amount=Decimal("1000.00")
    )
    assert result.approval is None
    assert result.invoice.balance == Decimal("704.77")


def test_approve_carries_it_out_once(personas, manager, controller, invoice):
    approval = request_write_off(invoice, manager)

    approved = approval_approve(approval=approval, actor=controller.user, comment="OK, insolvent")

    invoice.refresh_from_db()
    assert invoice.balance == Decimal("0")
    assert invoice.status == InvoiceStatus.WRITTEN_OFF
    adjustment = InvoiceAdjustment.objects.get(invoice=invoice)
    assert adjustment.amount == Decimal("1704.77")
    assert adjustment.created_by == manager.user
    assert approved.status == Status.APPROVED
    assert approved.decided_by == controller.user
    assert approved.decided_at is not None
    assert approved.turnaround is not None
    assert approved.outcome["invoice_status"] == InvoiceStatus.WRITTEN_OFF
    kinds = list(invoice.timeline.order_by("at", "id").values_list("kind", flat=True))
    assert kinds[-3:] == ["approval_requested", "written_off", "approval_approved"]
    audit = AuditEvent.objects.get(action=AuditEvent.Action.APPROVAL_DECIDED)
    assert audit.actor == controller.user
    assert audit.subject == manager.user
    assert audit.after == {"request": "Write-off of $1,704.77 on INV-APPR-1", "status": "approved"}
    assert audit.reason == "OK, insolvent"

    with pytest.raises(ApprovalTransitionError, match="already approved"):
        approval_approve(approval=approval, actor=controller.user)
    assert InvoiceAdjustment.objects.filter(invoice=invoice).count() == 1


def test_nobody_approves_their_own_request(personas, legal, invoice):
    legal.approval_limit = Decimal("100.00")
    legal.save()
    approval = request_write_off(invoice, legal)
    with pytest.raises(PermissionDenied, match="own request"):
        approval_approve(approval=approval, actor=legal.user)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_only_the_routed_role_or_the_controller_decides(personas, manager, legal, invoice):
    approval = request_write_off(invoice, manager)  # routed to the Controller
    with pytest.raises(PermissionDenied, match="routed to Controller"):
        approval_approve(approval=approval, actor=legal.user)
    operator = personas.members[Role.AR_OPERATOR]
    with pytest.raises(PermissionDenied):
        approval_reject(approval=approval, actor=operator.user, comment="No")
    with pytest.raises(PermissionDenied):
        approval_approve(approval=approval, actor=personas.outsider.user)


def test_a_rule_routes_to_legal_and_legal_decides(personas, manager, legal, controller, invoice):
    approval_route_set(
        organization=personas.org,
        kind="write_off",
        amount_above="1500.00",
        route_to=Role.LEGAL,
        actor=controller.user,
        reason="Large write-offs to Legal",
    )
    approval = request_write_off(invoice, manager)
    assert approval.routed_to == Role.LEGAL
    assert "Legal approval required" in approval.guardrail

    approval_approve(approval=approval, actor=legal.user)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF


def test_the_controller_can_decide_a_request_routed_to_legal(personas, manager, controller):
    approval_route_set(
        organization=personas.org,
        kind="",
        amount_above=None,
        route_to=Role.LEGAL,
        actor=controller.user,
        reason="Everything to Legal",
    )
    invoice = make_invoice(personas.org, number="INV-LEGAL")
    approval = request_write_off(invoice, manager)
    assert approval.routed_to == Role.LEGAL
    approval_reject(approval=approval, actor=controller.user, comment="Keep chasing")
    approval.refresh_from_db()
    assert approval.status == Status.REJECTED


def test_reject_needs_a_comment_and_changes_no_balance(personas, manager, controller, invoice):
    approval = request_write_off(invoice, manager)
    with pytest.raises(ApprovalError, match="comment is required"):
        approval_reject(approval=approval, actor=controller.user, comment=" ")
    approval_reject(approval=approval, actor=controller.user, comment="Payer just paid half")
    invoice.refresh_from_db()
    assert invoice.balance == Decimal("1704.77")
    approval.refresh_from_db()
    assert (approval.status, approval.decision_comment) == (
        Status.REJECTED,
        "Payer just paid half",
    )
    assert invoice.timeline.filter(kind="approval_rejected").exists()
    with pytest.raises(ApprovalTransitionError):
        approval_approve(approval=approval, actor=controller.user)


def test_the_requester_may_cancel_a_pending_request(personas, manager, controller, invoice):
    approval = request_write_off(invoice, manager)
    approval_cancel(approval=approval, actor=manager.user, comment="Wrong invoice")
    approval.refresh_from_db()
    assert approval.status == Status.CANCELLED
    assert approval.decided_at is not None
    # Cancelled, so a new request for the same write-off may be made.
    again = request_write_off(invoice, manager)
    assert again.status == Status.PENDING


def test_someone_else_may_not_cancel(personas, manager, legal, invoice):
    approval = request_write_off(invoice, manager)
    with pytest.raises(PermissionDenied):
        approval_cancel(approval=approval, actor=legal.user)


def test_one_pending_request_per_target_and_kind(personas, manager, invoice):
    request_write_off(invoice, manager)
    with pytest.raises(ApprovalError, match="already waiting"):
        request_write_off(invoice, manager, amount="1500.00")
    assert ApprovalRequest.objects.filter(invoice=invoice).count() == 1


def test_a_cross_currency_write_off_goes_to_approval(personas, manager, controller):
    invoice = make_invoice(personas.org, amount="10.00", currency="EUR", number="INV-EUR")
    approval = request_write_off(invoice, manager, amount="10.00")
    assert approval.amount_in_base is None
    assert approval.guardrail.startswith("No EUR→USD exchange rate")
    approval_approve(approval=approval, actor=controller.user)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.WRITTEN_OFF


@pytest.mark.parametrize(
    ("rationale", "message"),
    [
        ("", "rationale is required"),
        ("   ", "rationale is required"),
        ("x" * 1001, "at most 1,000"),
        ("Bad\x00byte", "control character"),
        ("Bell\x07", "control character"),
    ],
)
def test_the_rationale_is_required_bounded_and_clean(
    personas, manager, invoice, rationale, message
):
    with pytest.raises(ApprovalError, match=message):
        approval_request_create(
            organization=personas.org,
            kind="write_off",
            invoice=invoice,
            amount=Decimal("1704.77"),
            currency="USD",
            rationale=rationale,
            requested_by=manager.user,
            params={"amount": "1704.77"},
        )


def test_a_request_within_the_limit_is_refused(personas, manager, invoice):
    with pytest.raises(ApprovalError, match="no approval is needed"):
        approval_request_create(
            organization=personas.org,
            kind="write_off",
            invoice=invoice,
            amount=Decimal("10.00"),
            currency="USD",
            rationale="Just checking",
            requested_by=manager.user,
        )


def test_approval_fails_whole_when_the_action_no_longer_fits(
    personas, manager, controller, invoice
):
    """A payment arrived meanwhile: the write-off no longer fits the balance, the approval is
    refused and the request stays pending for a decision."""
    from plixo.ledger.services import AllocationRequest, payment_record

    approval = request_write_off(invoice, manager)
    payment_record(
        organization=personas.org,
        reference="PAY-MEANWHILE",
        amount=Decimal("100.00"),
        currency="USD",
        allocations=[AllocationRequest(invoice=invoice, amount=Decimal("100.00"))],
    )
    with pytest.raises(Exception, match="at most the balance"):
        approval_approve(approval=approval, actor=controller.user)
    approval.refresh_from_db()
    assert approval.status == Status.PENDING


def test_a_forged_approval_does_not_authorize_a_write_off(personas, manager, controller, invoice):
    approval = request_write_off(invoice, manager)
    other = make_invoice(personas.org, number="INV-OTHER")
    approval.status = Status.APPROVED
    with pytest.raises(Exception, match="does not cover"):
        invoice_write_off(
            invoice=other, actor=manager.user, reason="x", amount=None, approval=approval
        )


def test_the_registry_refuses_a_second_owner_for_a_kind():
    handler = handler_for("write_off")
    register("write_off", on_approved=handler.on_approved)  # the same again: harmless
    with pytest.raises(RuntimeError):
        register("write_off", on_approved=lambda approval, *, actor: None)
