"""The Data-Ready page: the checks as cards, running them, the ERP aging export upload, and a
Controller's override for going live while a check fails."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from plixo.core.access import requires
from plixo.core.permissions import Cap, role_can
from plixo.readiness.forms import AgingExportForm, OverrideForm
from plixo.readiness.selectors import readiness_page
from plixo.readiness.services import (
    ReadinessError,
    aging_export_upload,
    go_live_blocker,
    readiness_override,
    readiness_run,
)


def _render(request, *, upload_form=None, override_form=None, status=200):
    organization = request.organization
    context = {
        **readiness_page(organization=organization),
        "upload_form": upload_form
        or AgingExportForm(initial={"currency": organization.base_currency}),
        "override_form": override_form or OverrideForm(),
        "can_run": role_can(request.membership.role, Cap.ORG_GO_LIVE),
        "blocker": go_live_blocker(organization=organization),
    }
    return render(request, "readiness/index.html", context, status=status)


@requires(Cap.READINESS_VIEW)
@require_GET
def index(request):
    return _render(request)


@requires(Cap.ORG_GO_LIVE)
@require_POST
def run(request):
    result = readiness_run(organization=request.organization, actor=request.user)
    failed = [r["title"] for r in result.results if not r["passed"]]
    if failed:
        messages.warning(request, f"Data-Ready checks ran: {', '.join(failed)} failed.")
    else:
        messages.success(request, "Data-Ready checks ran: all passed.")
    return redirect("readiness:index")


@requires(Cap.ORG_GO_LIVE)
@require_POST
def export_upload(request):
    form = AgingExportForm(request.POST, request.FILES)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            export = aging_export_upload(
                organization=request.organization,
                data=upload.read(),
                file_name=upload.name,
                as_of=form.cleaned_data["as_of"],
                currency=form.cleaned_data["currency"] or None,
                actor=request.user,
            )
        except ReadinessError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(
                request,
                f"{export.file_name} read as {export.product}: {export.customers:,} customer "
                f"rows, {export.total} {export.currency} as of {export.as_of}. Run the checks "
                "to compare it with Plixo.",
            )
            return redirect("readiness:index")
    return _render(request, upload_form=form, status=400)


@requires(Cap.ORG_GO_LIVE)
@require_POST
def override(request):
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            readiness_override(
                organization=request.organization,
                actor=request.user,
                reason=form.cleaned_data["reason"],
            )
        except ReadinessError as exc:
            form.add_error("reason", str(exc))
        else:
            messages.success(
                request, "Override recorded in the audit trail: the organization may go live."
            )
            return redirect("readiness:index")
    return _render(request, override_form=form, status=400)
