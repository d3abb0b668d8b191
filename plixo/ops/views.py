"""The Ops page: periodic jobs, scheduler health, the task queue and maintenance mode.

Jobs and maintenance are instance-wide, not per organization; reading them needs
`Cap.OPS_VIEW`, changing them `Cap.OPS_MANAGE`, and on an instance that hosts several
organizations (`PLIXO_INSTANCE_MODE = "multi"`) also Django staff status, so that one
organization's Controller cannot pause the others' work. What belongs to an organization (its
Stripe events to review) stays with its own members."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from plixo.core.access import requires
from plixo.core.permissions import Cap, instance_mode, may_change_instance, role_can
from plixo.ledger.models import LedgerError
from plixo.ops import services
from plixo.ops.forms import MaintenanceForm
from plixo.ops.jobs import UnknownJob
from plixo.ops.selectors import ops_dashboard
from plixo.payments.selectors import (
    stripe_event_for,
    stripe_events_needing_attention,
    stripe_health,
)
from plixo.payments.stripe.webhooks import event_review_close


def _organization_health(request) -> dict:
    """This organization's side of the console: its last Data-Ready run and the depth of its
    email queues (drafts awaiting approval, queued, held, failed), each shown to the roles that
    may open the page behind it. Counts are bounded like the lists' chips."""
    from plixo.comms.selectors.messages import count_label, draft_counts, outbox_counts
    from plixo.readiness.selectors import latest_run

    role, organization = request.membership.role, request.organization
    health = {}
    if role_can(role, Cap.READINESS_VIEW):
        health["readiness"] = latest_run(organization=organization) or False
    if role_can(role, Cap.MESSAGES_VIEW):
        drafts = draft_counts(membership=request.membership)
        outbox = outbox_counts(membership=request.membership)
        health["mail"] = {
            "drafts": count_label(drafts["draft"]),
            "held": count_label(drafts["held"]),
            "queued": count_label(outbox["queued"]),
            "failed": count_label(outbox["failed"]),
            "can_send": role_can(role, Cap.MESSAGES_SEND),
        }
    return health


def _render_index(request, *, form=None, status=200):
    dashboard = ops_dashboard()
    if form is None:
        form = MaintenanceForm(initial={"message": dashboard.maintenance.message})
    context = {
        "organization_health": _organization_health(request),
        "dashboard": dashboard,
        "maintenance_form": form,
        "can_manage": _may_change_instance(request),
        "instance_mode": instance_mode(),
        "stripe": stripe_health(organization=request.organization),
        "stripe_attention": stripe_events_needing_attention(organization=request.organization),
        "can_review": role_can(request.membership.role, Cap.PAYMENTS_REVIEW),
    }
    return render(request, "ops/index.html", context, status=status)


@requires(Cap.OPS_VIEW)
@require_GET
def index(request):
    return _render_index(request)


def _may_change_instance(request) -> bool:
    return may_change_instance(user=request.user, role=request.membership.role)


def _instance_control_required(request) -> None:
    if not _may_change_instance(request):
        raise PermissionDenied(
            "This instance hosts several organizations: only its staff pause jobs and switch "
            "maintenance mode."
        )


def _job_action(request, action, job_name: str, done: str):
    _instance_control_required(request)
    try:
        action(name=job_name, actor_label=str(request.user))
    except UnknownJob as exc:
        raise Http404(str(exc)) from exc
    messages.success(request, done)
    return redirect("ops:index")


@requires(Cap.OPS_MANAGE)
@require_POST
def job_pause(request, job_name: str):
    return _job_action(
        request, services.job_pause, job_name, f"Paused {job_name}: it will not run until resumed."
    )


@requires(Cap.OPS_MANAGE)
@require_POST
def job_resume(request, job_name: str):
    return _job_action(request, services.job_resume, job_name, f"Resumed {job_name}.")


@requires(Cap.OPS_MANAGE)
@require_POST
def job_run(request, job_name: str):
    return _job_action(
        request,
        services.job_enqueue_now,
        job_name,
        f"Queued a run of {job_name}.",
    )


@requires(Cap.OPS_MANAGE)
@require_POST
def maintenance_toggle(request):
    _instance_control_required(request)
    form = MaintenanceForm(request.POST)
    if not form.is_valid():
        return _render_index(request, form=form, status=400)
    enabled = form.cleaned_data["enabled"]
    services.maintenance_set(
        enabled=enabled, actor=request.user, message=form.cleaned_data["message"]
    )
    if enabled:
        messages.warning(request, "Maintenance mode is on: the portal is closed, nothing is sent.")
    else:
        messages.success(request, "Maintenance mode is off: the portal is open again.")
    return redirect("ops:index")


@requires(Cap.PAYMENTS_REVIEW)
@require_POST
def stripe_review(request, event_id: str):
    """Close a Stripe payment flagged for review (its figures did not match the checkout)."""
    event = stripe_event_for(organization=request.organization, event_id=event_id)
    try:
        event_review_close(event=event, actor=request.user, note=request.POST.get("note", ""))
    except LedgerError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Stripe event {event.event_id} marked reviewed.")
    return redirect("ops:index")
