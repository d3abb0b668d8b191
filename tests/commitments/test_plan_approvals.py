"""COMMIT-3 for plans: a plan above its accepter's approval limit waits for the approver the
organization's rule names, with the guardrail that says why; approving it puts it in place (the
payer is told only then), rejecting it sends the invoice back to its cadence."""

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from plixo.approvals.models import ApprovalRequest
from plixo.approvals.services import approval_approve, approval_cancel, approval_reject
from plixo.commitments.models import CommitmentSource, PaymentPlan, Promise
from plixo.commitments.services import (
    plan_accept,
    plan_cancel,
    plan_create,
    plan_propose,
    promise_create,
)
from plixo.comms.models import CadenceEnrollment, Message
from plixo.core.models import Role
from plixo.ledger.models import LedgerError, TimelineEvent
from tests.commitments.conftest import TODAY

pytestmark = pytest.mark.django_db
D = Decimal


def day(n: int) -> dt.date:
    return TODAY + dt.timedelta(days=n)


@pytest.fixture
def limited(personas):
    """The operator may commit the organization to $1,000.00."""
    operator = personas.operator
    operator.approval_limit = D("1000.00")
    operator.save(update_fields=["approval_limit"])
    return operator.user


def _plan(invoice, user, **extra):
    return plan_create(
        invoice=invoice,
        installments=[(day(2), D("625.00")), (day(32), D("625.00"))],
        reason="Renewal pending; their CFO signs next week",
        actor=user,
        **extra,
    )


def _notices(invoice):
    return Message.objects.filter(invoice=invoice, purpose__startswith="notice:")


def test_a_plan_above_the_limit_waits_for_the_controller_with_its_guardrail(
    overdue, personas, limited
):
    promise = promise_create(
        invoice=overdue, amount="625.00", promised_on=day(2), actor=personas.operator.user
    )
    plan = _plan(overdue, limited, from_promise=promise)
    assert plan.status == PaymentPlan.Status.PENDING_APPROVAL
    assert str(plan.guardrail) == (
        "Payment plan of $1,250.00 exceeds your $1,000.00 limit — Controller approval required"
    )
    approval = ApprovalRequest.objects.get(kind="plan")
    assert approval.rationale == "Renewal pending; their CFO signs next week"
    assert approval.params["plan"] == str(plan.public_id)
    assert not _notices(overdue).exists()  # the payer hears of it once it is approved
    assert Promise.objects.get(pk=promise.pk).status == Promise.Status.OPEN
    assert CadenceEnrollment.objects.get(invoice=overdue).state == "paused"
    event = TimelineEvent.objects.get(invoice=overdue, kind="plan_sent_for_approval")
    assert "Controller approval required" in event.data["guardrail"]

    approval_approve(approval=approval, actor=personas.controller.user, comment="OK")
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.APPROVED
    assert plan.decided_by == limited  # accepted by the operator, with the approval behind it
    assert _notices(overdue).get().purpose.startswith("notice:plan_accepted:")
    assert Promise.objects.get(pk=promise.pk).status == Promise.Status.SUPERSEDED


def test_nobody_approves_their_own_plan(overdue, personas, limited):
    from django.core.exceptions import PermissionDenied

    _plan(overdue, limited)
    approval = ApprovalRequest.objects.get(kind="plan")
    with pytest.raises(PermissionDenied):
        approval_approve(approval=approval, actor=limited)
    assert PaymentPlan.objects.get().status == PaymentPlan.Status.PENDING_APPROVAL


def test_exactly_at_the_limit_needs_no_approval(overdue, personas, limited):
    plan = plan_create(
        invoice=overdue,
        installments=[(day(2), D("500.00")), (day(32), D("500.00"))],
        reason="Two halves",
        actor=limited,
    )
    assert plan.status == PaymentPlan.Status.APPROVED
    assert not ApprovalRequest.objects.exists()


def test_a_rejected_portal_proposal_is_declined_and_the_payer_told(overdue, personas, limited):
    proposal = plan_propose(
        invoice=overdue,
        installments=[(day(2), D("625.00")), (day(32), D("625.00"))],
        reason="Tight quarter",
        source=CommitmentSource.PORTAL,
        actor_label="Payer",
    )
    plan_accept(plan=proposal, actor=limited)
    proposal.refresh_from_db()
    assert proposal.status == PaymentPlan.Status.PENDING_APPROVAL
    with pytest.raises(LedgerError, match="waiting for approval"):
        plan_cancel(plan=proposal, actor=limited, note="changed my mind")
    approval = ApprovalRequest.objects.get(kind="plan")
    approval_reject(approval=approval, actor=personas.controller.user, comment="Too long a term")
    proposal.refresh_from_db()
    assert proposal.status == PaymentPlan.Status.REJECTED
    assert proposal.decision_note == "Too long a term"
    notice = _notices(overdue).get()
    assert notice.purpose.startswith("notice:plan_declined:")
    assert "Too long a term" not in notice.body  # the approver's comment is internal
    assert CadenceEnrollment.objects.get(invoice=overdue).state == "active"


def test_withdrawing_the_request_cancels_the_plan(overdue, personas, limited):
    plan = _plan(overdue, limited)
    approval_cancel(approval=ApprovalRequest.objects.get(kind="plan"), actor=limited)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.CANCELLED
    assert not _notices(overdue).exists()


def test_a_legal_routing_rule_sends_large_plans_to_legal(overdue, personas, limited):
    from plixo.approvals.services import approval_route_set

    approval_route_set(
        organization=personas.org,
        kind="plan",
        amount_above=D("1000.00"),
        route_to=Role.LEGAL,
        actor=personas.controller.user,
        reason="Large plans need a contract review",
    )
    plan = _plan(overdue, limited)
    assert "Legal approval required" in str(plan.guardrail)
    approval = ApprovalRequest.objects.get(kind="plan")
    approval_approve(approval=approval, actor=personas.members[Role.LEGAL].user)
    plan.refresh_from_db()
    assert plan.status == PaymentPlan.Status.APPROVED


def test_the_web_says_the_plan_went_for_approval(overdue, personas, limited):
    client = personas.client_for(Role.AR_OPERATOR)
    url = reverse("commitments:plan-add", kwargs={"invoice_id": overdue.public_id})
    response = client.post(
        url,
        {
            "plan-total": "1250.00",
            "plan-count": "2",
            "plan-first_on": str(day(2)),
            "plan-every_days": "30",
            "plan-reason": "Renewal pending",
            "plan-due_1": str(day(2)),
            "plan-amount_1": "625.00",
            "plan-due_2": str(day(32)),
            "plan-amount_2": "625.00",
            "step": "create",
        },
        follow=True,
    )
    body = response.content.decode()
    assert "sent for approval" in body
    assert "Pending approval" in body
    assert "exceeds your $1,000.00 limit" in body
    # The inspector points to the inbox instead of offering a decision the plan cannot take.
    assert "Open the Approvals inbox" in body
    assert "Decline plan" not in body
