"""Every write of the approvals app: limits, routing rules, requests and their decisions.

Limits and rules are set by the Controller, each change in the audit trail with its reason.
A request is created when a money decision is above its author's limit; approving it carries
the action out in the same transaction through the owning app's handler
(`plixo.approvals.registry`); each decision is on the invoice's timeline and in the audit trail.
"""

from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from plixo.approvals.limits import ApprovalRequired, Guardrail, approval_check, guardrail_for
from plixo.approvals.models import (
    COMMENT_MAX_LENGTH,
    RATIONALE_MAX_LENGTH,
    ApprovalError,
    ApprovalKind,
    ApprovalRequest,
    ApprovalRoute,
    Approver,
    RoleApprovalLimit,
)
from plixo.approvals.registry import handler_for
from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.core.money import MoneyError, format_money, is_currency, parse_amount, quantize
from plixo.core.text import text_problem
from plixo.ledger.models import Invoice
from plixo.ledger.services import invoice_write_off, timeline_record

Status = ApprovalRequest.Status


class ApprovalForbidden(PermissionDenied):
    """This person may not decide this request (their own, or routed to another role)."""


def _actor_fields(actor: User | None) -> dict:
    if actor is None:
        return {"actor": None, "actor_label": "system"}
    return {"actor": actor, "actor_label": str(actor)}


def _reason_check(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ApprovalError("Say why: the audit trail keeps a reason for every change.")
    if len(reason) > 500:
        raise ApprovalError("A reason is at most 500 characters.")
    if problem := text_problem(reason, single_line=True):
        raise ApprovalError(f"The reason {problem}.")
    return reason


def _text_check(value: str, what: str, *, max_length: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ApprovalError(f"{what} is required: approvers need it to decide.")
    if len(value) > max_length:
        raise ApprovalError(f"{what} is at most {max_length:,} characters.")
    if problem := text_problem(value):
        raise ApprovalError(f"{what} {problem}.")
    return value


def _amount(value, currency: str) -> Decimal:
    try:
        return parse_amount(value, currency)
    except MoneyError as exc:
        raise ApprovalError(str(exc)) from exc


# --- limits and routing rules ----------------------------------------------------------------


@transaction.atomic
def role_limit_set(
    *, organization: Organization, role: str, amount, actor: User | None, reason: str
) -> RoleApprovalLimit:
    """Set the organization's default approval limit for a role (in the base currency)."""
    reason = _reason_check(reason)
    if role not in Role.values:
        raise ApprovalError(f"Unknown role {role!r}.")
    amount = _amount(amount, organization.base_currency)
    if amount < 0:
        raise ApprovalError("An approval limit cannot be negative.")
    limit, created = RoleApprovalLimit.objects.select_for_update().get_or_create(
        organization=organization, role=role, defaults={"amount": amount}
    )
    before = Decimal("0") if created else limit.amount
    if not created and limit.amount == amount:
        return limit
    limit.amount = amount
    limit.save(update_fields=["amount", "updated_at"])
    AuditEvent.objects.create(
        organization=organization,
        action=AuditEvent.Action.LIMIT_CHANGED,
        before={"approval_limit": str(before)},
        after={"applies_to": f"{Role(role).label} (role default)", "approval_limit": str(amount)},
        reason=reason,
        **_actor_fields(actor),
    )
    return limit


def _route_text(route: ApprovalRoute | None, organization: Organization) -> str:
    if route is None:
        return ""
    kind = ApprovalKind(route.kind).label if route.kind else "Any request"
    above = (
        f" above {format_money(route.amount_above, organization.base_currency)}"
        if route.amount_above is not None
        else ""
    )
    return f"{kind}{above} → {Approver(route.route_to).label}"


@transaction.atomic
def approval_route_set(
    *,
    organization: Organization,
    kind: str,
    amount_above,
    route_to: str,
    actor: User | None,
    reason: str,
) -> ApprovalRoute:
    """Add a routing rule, or change where the rule for the same kind and threshold routes."""
    reason = _reason_check(reason)
    if kind and kind not in ApprovalKind.values:
        raise ApprovalError(f"Unknown kind {kind!r}.")
    if route_to not in Approver.values:
        raise ApprovalError("Requests go to the Controller or to Legal.")
    if amount_above is not None and amount_above != "":
        amount_above = _amount(amount_above, organization.base_currency)
        if amount_above < 0:
            raise ApprovalError("A threshold cannot be negative.")
    else:
        amount_above = None
    route = (
        ApprovalRoute.objects.select_for_update()
        .filter(organization=organization, kind=kind, amount_above=amount_above)
        .first()
    )
    before = _route_text(route, organization)
    if route is None:
        route = ApprovalRoute.objects.create(
            organization=organization, kind=kind, amount_above=amount_above, route_to=route_to
        )
    elif route.route_to == route_to:
        return route
    else:
        route.route_to = route_to
        route.save(update_fields=["route_to"])
    AuditEvent.objects.create(
        organization=organization,
        action=AuditEvent.Action.APPROVAL_ROUTE_CHANGED,
        before={"routing_rule": before},
        after={"routing_rule": _route_text(route, organization)},
        reason=reason,
        **_actor_fields(actor),
    )
    return route


@transaction.atomic
def approval_route_delete(*, route: ApprovalRoute, actor: User | None, reason: str) -> None:
    reason = _reason_check(reason)
    organization = route.organization
    AuditEvent.objects.create(
        organization=organization,
        action=AuditEvent.Action.APPROVAL_ROUTE_CHANGED,
        before={"routing_rule": _route_text(route, organization)},
        after={"routing_rule": "removed"},
        reason=reason,
        **_actor_fields(actor),
    )
    route.delete()


# --- requests ----------------------------------------------------------------------------------


def _timeline(approval: ApprovalRequest, kind: str, actor: User | None, **extra) -> None:
    if approval.invoice_id is None:
        return
    data = {
        "request": ApprovalKind(approval.kind).label,
        "amount": str(quantize(approval.amount, approval.currency)),
        "currency": approval.currency,
        **{key: value for key, value in extra.items() if value},
    }
    timeline_record(invoice=approval.invoice, kind=kind, actor=actor, data=data)


@transaction.atomic
def approval_request_create(
    *,
    organization: Organization,
    kind: str,
    amount,
    currency: str,
    rationale: str,
    requested_by: User,
    invoice: Invoice | None = None,
    target_key: str | None = None,
    params: dict | None = None,
    guardrail: Guardrail | None = None,
) -> ApprovalRequest:
    """Ask for approval of a money decision above the requester's limit.

    `guardrail` is what `approval_check` answered (computed here when not given; a decision the
    requester's limit covers needs no request). `params` is the JSON the owning app's
    `on_approved` needs to carry the action out. `target_key` names what the request is about
    ("invoice:<id>" by default): one target has one pending request of a kind at most."""
    if kind not in ApprovalKind.values:
        raise ApprovalError(f"Unknown approval kind {kind!r}.")
    handler_for(kind)  # a kind nobody registered could never be carried out
    if invoice is not None and invoice.organization_id != organization.pk:
        raise ApprovalError("That invoice belongs to another organization.")
    if not is_currency(currency):
        raise ApprovalError(f"{currency!r} is not an ISO 4217 currency code.")
    amount = _amount(amount, currency)
    if amount <= 0:
        raise ApprovalError("The amount must be more than zero.")
    rationale = _text_check(
        rationale, "The rationale", max_length=RATIONALE_MAX_LENGTH, required=True
    )
    if not Membership.objects.filter(
        organization=organization, user=requested_by, is_active=True
    ).exists():
        raise ApprovalError("Only a member of the organization can ask for approval.")
    if guardrail is None:
        guardrail = approval_check(
            organization=organization,
            actor=requested_by,
            kind=kind,
            amount=amount,
            currency=currency,
        )
        if guardrail is None:
            raise ApprovalError("Your approval limit covers this; no approval is needed.")
    if guardrail.route_to not in Approver.values:
        raise ApprovalError("Requests go to the Controller or to Legal.")
    if target_key is None:
        if invoice is None:
            raise ApprovalError("Say what the request is about (an invoice or a target).")
        target_key = f"invoice:{invoice.public_id}"
    pending = ApprovalRequest.objects.filter(
        organization=organization, kind=kind, target_key=target_key, status=Status.PENDING
    ).exists()
    if pending:
        raise ApprovalError(
            f"A {ApprovalKind(kind).label.lower()} request for this is already waiting for "
            "approval; cancel it or wait for the decision."
        )
    try:
        with transaction.atomic():
            approval = ApprovalRequest.objects.create(
                organization=organization,
                kind=kind,
                invoice=invoice,
                target_key=target_key,
                amount=amount,
                currency=currency,
                amount_in_base=guardrail.amount_in_base,
                rationale=rationale,
                guardrail=guardrail.message[:300],
                routed_to=guardrail.route_to,
                requested_by=requested_by,
                params=params or {},
            )
    except IntegrityError as exc:
        # Two people asked at once: the unique pending constraint kept one.
        raise ApprovalError(
            "A request for this is already waiting for approval; wait for the decision."
        ) from exc
    _timeline(
        approval,
        "approval_requested",
        requested_by,
        guardrail=approval.guardrail,
        rationale=rationale,
        routed_to=Approver(approval.routed_to).label,
    )
    return approval


def can_decide(*, approval: ApprovalRequest, membership: Membership | None) -> bool:
    """Whether `membership` may approve or reject the request (not whether it is pending)."""
    if membership is None or not membership.is_active:
        return False
    if membership.organization_id != approval.organization_id:
        return False
    if approval.requested_by_id == membership.user_id:
        return False
    return membership.role in (Role.CONTROLLER, approval.routed_to)


def _decider_check(approval: ApprovalRequest, actor: User) -> Membership:
    membership = Membership.objects.filter(
        organization_id=approval.organization_id, user=actor, is_active=True
    ).first()
    if membership is None:
        raise ApprovalForbidden("Only a member of the organization can decide a request.")
    if approval.requested_by_id == actor.pk:
        raise ApprovalForbidden("Nobody approves their own request: another approver decides.")
    if membership.role not in (Role.CONTROLLER, approval.routed_to):
        raise ApprovalForbidden(
            f"This request is routed to {Approver(approval.routed_to).label}; "
            f"your role ({membership.get_role_display()}) cannot decide it."
        )
    return membership


def _locked(approval: ApprovalRequest) -> ApprovalRequest:
    return (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("invoice", "requested_by", "organization")
        .get(pk=approval.pk)
    )


def _decide(approval: ApprovalRequest, *, status: str, actor: User, comment: str) -> None:
    approval.check_transition(status)
    approval.status = status
    approval.decided_by = actor
    approval.decided_at = timezone.now()
    approval.decision_comment = comment
    approval.save(update_fields=["status", "decided_by", "decided_at", "decision_comment"])


def _audit(approval: ApprovalRequest, *, actor: User, before: str, reason: str) -> None:
    what = (
        f"{ApprovalKind(approval.kind).label} of {format_money(approval.amount, approval.currency)}"
    )
    if approval.invoice_id is not None:
        what += f" on {approval.invoice.number}"
    AuditEvent.objects.create(
        organization_id=approval.organization_id,
        subject=approval.requested_by,
        action=AuditEvent.Action.APPROVAL_DECIDED,
        before={"status": before},
        after={"request": what, "status": approval.status},
        reason=reason,
        **_actor_fields(actor),
    )


@transaction.atomic
def approval_approve(
    *, approval: ApprovalRequest, actor: User, comment: str = ""
) -> ApprovalRequest:
    """Approve a pending request and carry the action out, in one transaction. Approving twice
    is refused (the first approval carried it out)."""
    comment = _text_check(comment, "The comment", max_length=COMMENT_MAX_LENGTH, required=False)
    approval = _locked(approval)
    _decider_check(approval, actor)
    _decide(approval, status=Status.APPROVED, actor=actor, comment=comment)
    outcome = handler_for(approval.kind).on_approved(approval, actor=actor)
    approval.outcome = outcome or {"carried_out": True}
    approval.save(update_fields=["outcome"])
    _timeline(approval, "approval_approved", actor, comment=comment)
    _audit(approval, actor=actor, before=Status.PENDING, reason=comment or "Approved")
    return approval


@transaction.atomic
def approval_reject(*, approval: ApprovalRequest, actor: User, comment: str) -> ApprovalRequest:
    """Reject a pending request; the comment (why) is required and goes back to the requester."""
    comment = _text_check(comment, "The comment", max_length=COMMENT_MAX_LENGTH, required=True)
    approval = _locked(approval)
    _decider_check(approval, actor)
    _decide(approval, status=Status.REJECTED, actor=actor, comment=comment)
    handler_for(approval.kind).on_rejected(approval, actor=actor)
    _timeline(approval, "approval_rejected", actor, comment=comment)
    _audit(approval, actor=actor, before=Status.PENDING, reason=comment)
    return approval


@transaction.atomic
def approval_cancel(
    *, approval: ApprovalRequest, actor: User, comment: str = ""
) -> ApprovalRequest:
    """The requester (or a Controller) withdraws a pending request; nothing is carried out."""
    comment = _text_check(comment, "The comment", max_length=COMMENT_MAX_LENGTH, required=False)
    approval = _locked(approval)
    is_controller = Membership.objects.filter(
        organization_id=approval.organization_id,
        user=actor,
        is_active=True,
        role=Role.CONTROLLER,
    ).exists()
    if approval.requested_by_id != actor.pk and not is_controller:
        raise ApprovalForbidden("Only the requester or a Controller can cancel a request.")
    _decide(approval, status=Status.CANCELLED, actor=actor, comment=comment)
    handler_for(approval.kind).on_rejected(approval, actor=actor)
    _timeline(approval, "approval_cancelled", actor, comment=comment)
    _audit(approval, actor=actor, before=Status.PENDING, reason=comment or "Cancelled")
    return approval


# --- money decisions that may need approval ----------------------------------------------------


@dataclass(frozen=True)
class WriteOffResult:
    """What a write-off attempt did: `invoice` when it was written off, or `approval` when it
    was above the actor's limit and became an approval request (nothing written off)."""

    invoice: Invoice | None = None
    approval: ApprovalRequest | None = None


@transaction.atomic
def invoice_write_off_or_request(
    *, invoice: Invoice, actor: User, reason: str, amount: Decimal | None = None
) -> WriteOffResult:
    """Write off as the ledger does when the actor's limit covers it; above it, ask for
    approval with the reason as the rationale. The web page and the API both call this."""
    try:
        updated = invoice_write_off(invoice=invoice, actor=actor, reason=reason, amount=amount)
    except ApprovalRequired as exc:
        approval = approval_request_create(
            organization=invoice.organization,
            kind=ApprovalKind.WRITE_OFF,
            invoice=invoice,
            amount=exc.amount,
            currency=invoice.currency,
            rationale=reason,
            requested_by=actor,
            guardrail=exc.guardrail,
            params={"amount": str(exc.amount), "reason": reason.strip()},
        )
        return WriteOffResult(approval=approval)
    return WriteOffResult(invoice=updated)


__all__ = [
    "WriteOffResult",
    "invoice_write_off_or_request",
    "ApprovalError",
    "ApprovalForbidden",
    "approval_approve",
    "approval_cancel",
    "approval_reject",
    "approval_request_create",
    "approval_route_delete",
    "approval_route_set",
    "can_decide",
    "guardrail_for",
    "role_limit_set",
]
