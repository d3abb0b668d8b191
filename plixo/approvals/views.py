"""The Approvals inbox (decide with one click, see one's own requests) and the Controller's
page of approval limits and routing rules. Reads through `approvals.selectors`, writes through
`approvals.services`."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from plixo.approvals import selectors, services
from plixo.approvals.forms import (
    DecisionForm,
    InboxFilterForm,
    RoleLimitForm,
    RouteDeleteForm,
    RouteForm,
)
from plixo.approvals.models import ApprovalError, ApprovalRoute
from plixo.core.access import requires
from plixo.core.paging import BadCursor, keyset_page
from plixo.core.permissions import Cap, role_can
from plixo.core.selectors import one_or_404
from plixo.core.templatetags.plixo import money_text
from plixo.ledger.models import LedgerError

PAGE_SIZE = 50
INBOX_ORDERING = ("-created_at", "-id")


@requires(Cap.APPROVALS_REQUEST)
def inbox(request):
    membership = request.membership
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = "pending"
    form = InboxFilterForm(params)
    data = form.cleaned_data if form.is_valid() else {"status": "pending", "kind": ""}
    queryset = selectors.approval_list(
        membership=membership, status=data["status"] or None, kind=data["kind"] or None
    )
    try:
        page = keyset_page(
            queryset, ordering=INBOX_ORDERING, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
        )
    except BadCursor as exc:
        messages.error(request, str(exc))
        page = keyset_page(queryset, ordering=INBOX_ORDERING, cursor=None, limit=PAGE_SIZE)
    rows = [
        {
            "approval": approval,
            "can_decide": approval.is_pending
            and services.can_decide(approval=approval, membership=membership),
            "can_cancel": approval.is_pending
            and (approval.requested_by_id == request.user.pk or membership.role == "controller"),
        }
        for approval in page.rows
    ]
    context = {
        "form": form,
        "status": data["status"],
        "kind": data["kind"],
        "page": page,
        "rows": rows,
        "can_decide_any": role_can(membership.role, Cap.APPROVALS_DECIDE),
        "turnaround": selectors.turnaround_median(organization=request.organization),
        "decision_form": DecisionForm(),
    }
    return render(request, "approvals/inbox.html", context)


def _decide(request, approval_id, action, done: str):
    approval = selectors.approval_for(membership=request.membership, public_id=approval_id)
    form = DecisionForm(request.POST)
    comment = form.cleaned_data["comment"] if form.is_valid() else ""
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect("approvals:inbox")
    try:
        action(approval=approval, actor=request.user, comment=comment)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except (ApprovalError, LedgerError) as exc:
        messages.error(request, f"Nothing changed: {exc}")
    else:
        what = f"{approval.get_kind_display()} of {money_text(approval.amount, approval.currency)}"
        if approval.invoice_id:
            what += f" on {approval.invoice.number}"
        messages.success(request, f"{what} {done}.")
    return redirect("approvals:inbox")


@requires(Cap.APPROVALS_DECIDE)
@require_POST
def approve(request, approval_id):
    return _decide(request, approval_id, services.approval_approve, "approved and carried out")


@requires(Cap.APPROVALS_DECIDE)
@require_POST
def reject(request, approval_id):
    return _decide(request, approval_id, services.approval_reject, "rejected")


@requires(Cap.APPROVALS_REQUEST)
@require_POST
def cancel(request, approval_id):
    return _decide(request, approval_id, services.approval_cancel, "cancelled")


# --- limits and routing (Controller) ------------------------------------------------------------


def _limits_page(request, *, limit_form=None, route_form=None, status=200):
    organization = request.organization
    context = {
        "role_limits": selectors.role_limits(organization=organization),
        "routes": selectors.approval_routes(organization=organization),
        "members": selectors.members_with_limits(organization=organization),
        "limit_form": limit_form or RoleLimitForm(),
        "route_form": route_form or RouteForm(),
        "delete_form": RouteDeleteForm(),
    }
    return render(request, "approvals/limits.html", context, status=status)


@requires(Cap.TEAM_MANAGE)
def limits(request):
    return _limits_page(request)


@requires(Cap.TEAM_MANAGE)
@require_POST
def role_limit_set(request):
    form = RoleLimitForm(request.POST)
    if form.is_valid():
        try:
            services.role_limit_set(
                organization=request.organization,
                actor=request.user,
                **form.cleaned_data,
            )
        except ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Role default limit saved.")
            return redirect("approvals:limits")
    return _limits_page(request, limit_form=form, status=400)


@requires(Cap.TEAM_MANAGE)
@require_POST
def route_set(request):
    form = RouteForm(request.POST)
    if form.is_valid():
        try:
            services.approval_route_set(
                organization=request.organization,
                actor=request.user,
                **form.cleaned_data,
            )
        except ApprovalError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Routing rule saved.")
            return redirect("approvals:limits")
    return _limits_page(request, route_form=form, status=400)


@requires(Cap.TEAM_MANAGE)
@require_POST
def route_delete(request, route_id):
    route = one_or_404(ApprovalRoute.objects.filter(organization=request.organization), route_id)
    form = RouteDeleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Say why the rule goes: the audit trail keeps the reason.")
        return redirect("approvals:limits")
    services.approval_route_delete(
        route=route, actor=request.user, reason=form.cleaned_data["reason"]
    )
    messages.success(request, "Routing rule removed.")
    return redirect("approvals:limits")
