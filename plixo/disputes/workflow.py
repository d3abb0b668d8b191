"""The staff side of a dispute after it is filed: its SLA deadline and routing when it opens,
then assign, route, review and resolve. Each step is on the invoice's timeline, written in the
same transaction as the change.

Dispute statuses move only along `Dispute.TRANSITIONS`. A resolution is one of:

| outcome   | money                                | dispute            | invoice afterwards |
|-----------|--------------------------------------|--------------------|--------------------|
| credit    | a credit note (`invoice_credit`)     | resolved_credit    | cadence, or paid   |
| write_off | a write-off (`invoice_write_off`)    | resolved_write_off | cadence, or closed |
| reject    | none                                 | rejected           | back to cadence    |

A credit or write-off above the resolver's approval limit becomes an approval request; the
dispute waits (`pending_approval`) and is resolved when the request is approved
(`dispute_approval_carry_out`, called by the approvals app's handlers).
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from plixo.core.models import Membership, Role, User
from plixo.core.money import MoneyError, format_money, parse_amount, quantize
from plixo.core.permissions import Cap, role_can, sees_only_own_accounts
from plixo.core.text import text_problem
from plixo.disputes.models import (
    ROUTABLE_TEAMS,
    Dispute,
    DisputeRoutingRule,
)
from plixo.disputes.sla import sla_due_at
from plixo.ledger.models import Invoice, InvoiceStatus, LedgerError

DISPUTE_ROUTED = "dispute_routed"
DISPUTE_ASSIGNED = "dispute_assigned"
DISPUTE_UNDER_REVIEW = "dispute_under_review"
DISPUTE_RESOLVED = "dispute_resolved"
DISPUTE_RESOLUTION_DECLINED = "dispute_resolution_declined"
NOTE_MAX_LENGTH = 2000

CREDIT, WRITE_OFF, REJECT = "credit", "write_off", "reject"
OUTCOMES = {
    CREDIT: ("Credit", Dispute.Status.RESOLVED_CREDIT),
    WRITE_OFF: ("Write-off", Dispute.Status.RESOLVED_WRITE_OFF),
    REJECT: ("Rejected", Dispute.Status.REJECTED),
}
# What each outcome needs beyond Cap.DISPUTES_RESOLVE.
OUTCOME_CAPABILITY = {CREDIT: Cap.INVOICES_CREDIT, WRITE_OFF: Cap.INVOICES_WRITE_OFF}


class DisputeForbidden(PermissionDenied):
    """The actor's role may not take this step: a 403, whatever the way in."""


def team_label(team: str) -> str:
    if team == Role.AR_OPERATOR:
        return "A/R"
    try:
        return Role(team).label
    except ValueError:
        return team or "—"


def _timeline(dispute: Dispute, kind: str, actor: User | None, label: str | None = None, **data):
    from plixo.ledger.services import timeline_record

    payload = {"dispute": str(dispute.public_id), **{k: v for k, v in data.items() if v}}
    timeline_record(
        invoice=dispute.invoice, kind=kind, actor=actor, actor_label=label, data=payload
    )


def _membership(organization_id: int, user: User | None) -> Membership | None:
    if user is None:
        return None
    return (
        Membership.objects.filter(organization_id=organization_id, user=user, is_active=True)
        .select_related("user")
        .first()
    )


def _require(dispute: Dispute, actor: User | None, capability: Cap) -> None:
    """`actor=None` is the system (an approval being carried out, a routing rule)."""
    if actor is None:
        return
    membership = _membership(dispute.organization_id, actor)
    if membership is None or not role_can(membership.role, capability):
        role = membership.get_role_display() if membership else "not a member"
        raise DisputeForbidden(f"Your role ({role}) does not allow this.")
    if sees_only_own_accounts(membership.role) and dispute.invoice.customer.owner_id != actor.pk:
        raise DisputeForbidden("This dispute is on an account you do not own.")


def _locked(dispute: Dispute) -> Dispute:
    return (
        Dispute.objects.select_for_update(of=("self",))
        .select_related(
            "invoice__customer", "invoice__organization", "assignee", "pending_approval"
        )
        .get(pk=dispute.pk)
    )


def _open_check(dispute: Dispute) -> None:
    if not dispute.is_open:
        raise LedgerError(
            f"This dispute is already {dispute.get_status_display().lower()}; it is closed."
        )


def _note_check(note: str, *, required: bool, what: str = "The note") -> str:
    note = (note or "").strip()
    if required and not note:
        raise LedgerError(f"{what} is required: say why, for the record.")
    if len(note) > NOTE_MAX_LENGTH:
        raise LedgerError(f"{what} is at most {NOTE_MAX_LENGTH:,} characters.")
    if problem := text_problem(note):
        raise LedgerError(f"{what} {problem}.")
    return note


def assignable_check(dispute: Dispute, user: User) -> Membership:
    """The assignee must be an active member of the organization who can see the invoice."""
    membership = _membership(dispute.organization_id, user)
    if membership is None:
        raise LedgerError("Only an active member of the organization can be assigned.")
    if not role_can(membership.role, Cap.LEDGER_VIEW):
        raise LedgerError(f"{user} cannot see invoices, so cannot work a dispute.")
    if sees_only_own_accounts(membership.role) and dispute.invoice.customer.owner_id != user.pk:
        raise LedgerError(f"{user} does not own this account, so cannot see the dispute.")
    return membership


# --- opening: deadline and routing ---------------------------------------------------------------


def rule_for(*, organization_id: int, reason_code: str, amount, currency: str):
    """The first routing rule, in order, that matches a new dispute; None when none does."""
    for rule in DisputeRoutingRule.objects.filter(organization_id=organization_id).select_related(
        "assignee"
    ):
        if rule.matches(reason_code=reason_code, amount=amount, currency=currency):
            return rule
    return None


def rule_text(rule: DisputeRoutingRule) -> str:
    parts = []
    if rule.reason_code:
        parts.append(f"reason is {rule.get_reason_code_display().lower()}")
    if rule.amount_at_least is not None:
        parts.append(f"amount at least {format_money(rule.amount_at_least, rule.currency)}")
    return "When " + " and ".join(parts)


def dispute_opened(*, dispute: Dispute, actor: User | None, actor_label: str | None) -> Dispute:
    """Set a new dispute's SLA deadline and route it by the first matching rule. Called by
    `dispute_file` inside its transaction, whatever the path (portal, staff, API, Stripe)."""
    invoice = dispute.invoice
    organization = invoice.organization
    dispute.sla_due_at = sla_due_at(
        organization=organization, reason_code=dispute.reason_code, opened_at=dispute.created_at
    )
    fields = ["sla_due_at"]
    rule = rule_for(
        organization_id=dispute.organization_id,
        reason_code=dispute.reason_code,
        amount=dispute.amount,
        currency=dispute.currency,
    )
    assignee = None
    if rule is not None:
        dispute.routed_to = rule.route_to
        fields.append("routed_to")
        if rule.assignee_id is not None:
            try:
                assignable_check(dispute, rule.assignee)
            except LedgerError:
                assignee = None  # left the team or lost access since the rule was made
            else:
                assignee = rule.assignee
                dispute.assignee = assignee
                fields.append("assignee")
    dispute.save(update_fields=fields)
    if rule is not None:
        _timeline(
            dispute,
            DISPUTE_ROUTED,
            None,
            "routing rule",
            team=team_label(rule.route_to),
            rule=rule_text(rule),
            assignee=str(assignee) if assignee else "",
        )
    return dispute


# --- assign, route, review ------------------------------------------------------------------


@transaction.atomic
def dispute_assign(*, dispute: Dispute, assignee: User | None, actor: User | None) -> Dispute:
    """Give the dispute to a member (None: unassign)."""
    dispute = _locked(dispute)
    _require(dispute, actor, Cap.DISPUTES_RESOLVE)
    _open_check(dispute)
    if assignee is not None:
        assignable_check(dispute, assignee)
    if dispute.assignee_id == (assignee.pk if assignee else None):
        return dispute
    before = str(dispute.assignee) if dispute.assignee_id else "nobody"
    dispute.assignee = assignee
    dispute.save(update_fields=["assignee"])
    _timeline(
        dispute,
        DISPUTE_ASSIGNED,
        actor,
        assignee=str(assignee) if assignee else "nobody",
        before=before,
    )
    return dispute


@transaction.atomic
def dispute_route(
    *, dispute: Dispute, team: str, actor: User | None, assignee: User | None = None
) -> Dispute:
    """Send the dispute to a team (Legal, Sales, A/R), optionally to one of its members."""
    dispute = _locked(dispute)
    _require(dispute, actor, Cap.DISPUTES_RESOLVE)
    _open_check(dispute)
    if team not in [t.value for t in ROUTABLE_TEAMS]:
        raise LedgerError("Route a dispute to Legal, Sales, A/R or the A/R Manager.")
    if assignee is not None:
        assignable_check(dispute, assignee)
    before = dispute.routed_to
    changed = before != team or (assignee is not None and dispute.assignee_id != assignee.pk)
    if not changed:
        return dispute
    dispute.routed_to = team
    fields = ["routed_to"]
    if assignee is not None:
        dispute.assignee = assignee
        fields.append("assignee")
    dispute.save(update_fields=fields)
    _timeline(
        dispute,
        DISPUTE_ROUTED,
        actor,
        team=team_label(team),
        before=team_label(before) if before else "",
        assignee=str(assignee) if assignee else "",
    )
    return dispute


@transaction.atomic
def dispute_mark_under_review(*, dispute: Dispute, actor: User | None) -> Dispute:
    dispute = _locked(dispute)
    _require(dispute, actor, Cap.DISPUTES_RESOLVE)
    if dispute.status == Dispute.Status.UNDER_REVIEW:
        return dispute
    _open_check(dispute)
    dispute.check_transition(Dispute.Status.UNDER_REVIEW)
    dispute.status = Dispute.Status.UNDER_REVIEW
    dispute.save(update_fields=["status"])
    _timeline(dispute, DISPUTE_UNDER_REVIEW, actor, reason=dispute.get_reason_code_display())
    return dispute


# --- resolution -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ResolveResult:
    """`dispute` as it stands; `approval` when the resolution became an approval request (the
    dispute then stays open until it is decided)."""

    dispute: Dispute
    approval: object | None = None

    @property
    def resolved(self) -> bool:
        return not self.dispute.is_open


def _amount(dispute: Dispute, amount) -> Decimal:
    if amount is None or amount == "":
        amount = dispute.amount
    try:
        value = parse_amount(amount, dispute.currency)
    except MoneyError as exc:
        raise LedgerError(f"The amount: {exc}") from exc
    if value <= 0:
        raise LedgerError("The amount must be more than zero.")
    return value


def _invoice_back_to_cadence(dispute: Dispute, actor: User | None, label: str | None) -> None:
    """Once the last open dispute of a still-disputed invoice is settled, the invoice goes back
    to the status its balance implies and to its cadence."""
    from plixo.ledger.services import invoice_dispute_close

    invoice = Invoice.objects.get(pk=dispute.invoice_id)
    if invoice.status != InvoiceStatus.DISPUTED:
        return
    others = (
        Dispute.objects.filter(invoice_id=invoice.pk, resolved_at__isnull=True)
        .exclude(pk=dispute.pk)
        .exists()
    )
    if not others:
        invoice_dispute_close(invoice=invoice, actor=actor, actor_label=label)


def _close(
    dispute: Dispute,
    *,
    outcome: str,
    actor: User | None,
    note: str,
    amount: Decimal | None,
    label: str | None = None,
    approved_by: str = "",
) -> Dispute:
    title, status = OUTCOMES[outcome]
    dispute.check_transition(status)
    dispute.status = status
    dispute.resolved_at = timezone.now()
    dispute.resolved_by = actor
    dispute.resolution_note = note
    dispute.resolution_amount = amount
    dispute.pending_approval = None
    dispute.save(
        update_fields=[
            "status",
            "resolved_at",
            "resolved_by",
            "resolution_note",
            "resolution_amount",
            "pending_approval",
        ]
    )
    _timeline(
        dispute,
        DISPUTE_RESOLVED,
        actor,
        label,
        outcome=title,
        amount=str(quantize(amount, dispute.currency)) if amount is not None else "",
        currency=dispute.currency if amount is not None else "",
        note=note,
        approved_by=approved_by,
    )
    _invoice_back_to_cadence(dispute, actor, label)
    dispute.refresh_from_db()
    return dispute


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    outcome: str,
    actor: User,
    note: str,
    amount: Decimal | str | None = None,
) -> ResolveResult:
    """Resolve an open dispute with a credit, a write-off or a rejection (see the module's
    table). `amount` (credit, write-off) defaults to the disputed amount and is at most the
    invoice's balance. Above the actor's approval limit a credit or write-off becomes an
    approval request and nothing moves until it is approved."""
    from plixo.approvals.limits import ApprovalRequired
    from plixo.approvals.services import approval_request_create
    from plixo.ledger.services import invoice_write_off
    from plixo.ledger.services.credits import invoice_credit

    if outcome not in OUTCOMES:
        raise LedgerError("Resolve with a credit, a write-off or a rejection.")
    dispute = _locked(dispute)
    _require(dispute, actor, Cap.DISPUTES_RESOLVE)
    if outcome in OUTCOME_CAPABILITY:
        _require(dispute, actor, OUTCOME_CAPABILITY[outcome])
    _open_check(dispute)
    if dispute.awaiting_approval:
        raise LedgerError(
            "A resolution of this dispute is waiting for approval; it is decided in the "
            "Approvals inbox (or withdrawn there) first."
        )
    note = _note_check(note, required=True, what="The resolution note")
    if outcome == REJECT:
        return ResolveResult(_close(dispute, outcome=REJECT, actor=actor, note=note, amount=None))

    value = _amount(dispute, amount)
    invoice = dispute.invoice
    if value > invoice.balance:
        raise LedgerError(
            f"The amount ({format_money(value, dispute.currency)}) is more than the invoice's "
            f"balance ({format_money(invoice.balance, invoice.currency)})."
        )
    reason = f"Dispute ({dispute.get_reason_code_display().lower()}): {note}"[:NOTE_MAX_LENGTH]
    target = f"dispute:{dispute.public_id}" if outcome == CREDIT else None
    try:
        if outcome == CREDIT:
            invoice_credit(
                invoice=invoice,
                actor=actor,
                reason=reason,
                amount=value,
                target_key=target,
                data={"dispute": str(dispute.public_id)},
            )
        else:
            invoice_write_off(invoice=invoice, actor=actor, reason=reason, amount=value)
    except ApprovalRequired as exc:
        approval = approval_request_create(
            organization=invoice.organization,
            kind=outcome,
            invoice=invoice,
            amount=exc.amount,
            currency=invoice.currency,
            rationale=reason,
            requested_by=actor,
            guardrail=exc.guardrail,
            target_key=target,
            params={
                "amount": str(exc.amount),
                "reason": reason,
                "dispute": str(dispute.public_id),
                "note": note,
            },
        )
        dispute.pending_approval = approval
        dispute.save(update_fields=["pending_approval"])
        return ResolveResult(dispute, approval=approval)
    dispute = _close(dispute, outcome=outcome, actor=actor, note=note, amount=value)
    return ResolveResult(dispute)


def _dispute_of(approval) -> Dispute | None:
    public_id = (approval.params or {}).get("dispute")
    if not public_id:
        return None
    found = Dispute.objects.filter(
        public_id=public_id, organization_id=approval.organization_id
    ).first()
    return _locked(found) if found is not None else None


def dispute_approval_carry_out(approval, *, actor: User | None) -> dict:
    """An approved credit or write-off that resolves a dispute: the money moves as the
    requester asked (with the approval as its authority) and the dispute is resolved. Runs in
    the approvals app's deciding transaction."""
    from plixo.ledger.services import invoice_write_off
    from plixo.ledger.services.credits import invoice_credit

    dispute = _dispute_of(approval)
    if dispute is None:
        raise LedgerError("The dispute this approval resolves no longer exists.")
    _open_check(dispute)
    amount = Decimal(approval.params["amount"])
    reason = approval.params.get("reason") or approval.rationale
    requester = approval.requested_by
    if approval.kind == CREDIT:
        invoice, _ = invoice_credit(
            invoice=approval.invoice,
            actor=requester,
            reason=reason,
            amount=amount,
            approval=approval,
            target_key=approval.target_key,
            data={"dispute": str(dispute.public_id)},
        )
    else:
        invoice = invoice_write_off(
            invoice=approval.invoice,
            actor=requester,
            reason=reason,
            amount=amount,
            approval=approval,
        )
    dispute = _close(
        dispute,
        outcome=approval.kind,
        actor=requester,
        note=approval.params.get("note") or reason,
        amount=amount,
        approved_by=str(approval.decided_by or actor or ""),
    )
    return {
        "dispute": str(dispute.public_id),
        "dispute_status": dispute.status,
        "invoice_status": invoice.status,
        "balance": str(invoice.balance),
    }


def dispute_approval_declined(approval, *, actor: User | None) -> None:
    """The approval was rejected or withdrawn: the dispute stays open, free to be resolved
    another way."""
    dispute = _dispute_of(approval)
    if dispute is None or dispute.pending_approval_id != approval.pk:
        return
    dispute.pending_approval = None
    dispute.save(update_fields=["pending_approval"])
    _timeline(
        dispute,
        DISPUTE_RESOLUTION_DECLINED,
        actor,
        outcome=OUTCOMES[approval.kind][0] if approval.kind in OUTCOMES else approval.kind,
        decision=approval.get_status_display(),
        comment=approval.decision_comment,
    )
