"""The Imports page: upload, mapping preview, confirm, progress (polled with htmx), summary,
reject log download and the history of batches."""

from django.contrib import messages
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from plixo.core.access import requires
from plixo.core.permissions import Cap
from plixo.imports.forms import ImportUploadForm
from plixo.imports.selectors import (
    error_code_rows,
    import_batch_for,
    import_batch_list,
    import_batch_preview,
    import_date_format_default,
    reject_log_open,
)
from plixo.imports.services import ImportsError, import_batch_create, import_batch_start

HISTORY_SIZE = 50


@requires(Cap.IMPORTS_RUN)
def import_index(request):
    organization = request.organization
    if request.method == "POST":
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                batch = import_batch_create(
                    organization=organization,
                    kind=form.cleaned_data["kind"],
                    upload=form.cleaned_data["file"],
                    actor=request.user,
                    all_or_nothing=form.cleaned_data["all_or_nothing"],
                    date_format=form.cleaned_data["date_format"],
                    number_format=form.cleaned_data["number_format"],
                )
            except ImportsError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("imports:batch-detail", import_id=batch.public_id)
    else:
        form = ImportUploadForm(
            initial={
                "kind": request.GET.get("kind", "invoices"),
                "date_format": import_date_format_default(organization=organization),
            }
        )
    batches = import_batch_list(organization=organization)[:HISTORY_SIZE]
    return render(request, "imports/index.html", {"form": form, "batches": batches})


@requires(Cap.IMPORTS_RUN)
def import_batch_detail(request, import_id):
    batch = import_batch_for(organization=request.organization, public_id=import_id)
    context = {"batch": batch, "error_rows": error_code_rows(batch.summary)}
    if batch.awaits_confirmation:
        context["preview"] = import_batch_preview(batch=batch)
    return render(request, "imports/batch_detail.html", context)


@requires(Cap.IMPORTS_RUN)
@require_POST
def import_batch_confirm(request, import_id):
    batch = import_batch_for(organization=request.organization, public_id=import_id)
    try:
        # Set when the preview asked how to read a file whose dates or amounts read both ways.
        import_batch_start(
            batch=batch,
            date_format=request.POST.get("date_format") or None,
            number_format=request.POST.get("number_format") or None,
        )
    except ImportsError as exc:
        messages.info(request, str(exc))
    return redirect("imports:batch-detail", import_id=batch.public_id)


@requires(Cap.IMPORTS_RUN)
def import_batch_progress(request, import_id):
    """The progress bar, polled by htmx while the worker loads; once the load is done the
    page reloads itself to show the summary."""
    batch = import_batch_for(organization=request.organization, public_id=import_id)
    response = render(request, "imports/_progress.html", {"batch": batch})
    if batch.is_finished and request.htmx:
        response["HX-Refresh"] = "true"
    return response


@requires(Cap.IMPORTS_RUN)
def import_batch_reject_log(request, import_id):
    batch = import_batch_for(organization=request.organization, public_id=import_id)
    stem = batch.original_name.rsplit(".", 1)[0] or "import"
    return FileResponse(
        reject_log_open(batch),
        as_attachment=True,
        filename=f"{stem}-rejects.csv",
        content_type="text/csv; charset=utf-8",
    )
