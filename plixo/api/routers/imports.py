"""`/api/v1/imports`: upload a CSV file, read its validation summary, download its reject log.

The load runs in the background worker; poll `GET /imports/{id}` until `status` is no longer
`validating`.
"""

import datetime as dt
from typing import Literal
from uuid import UUID

from django.http import FileResponse
from django.urls import reverse
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from plixo.api.auth import api_requires
from plixo.api.common import responses
from plixo.core.permissions import Cap
from plixo.imports.models import ImportBatch
from plixo.imports.selectors import import_batch_for, reject_log_open
from plixo.imports.services import ImportsError, import_batch_create, import_batch_start

router = Router(tags=["imports"])

ImportKindIn = Literal["customers", "contacts", "invoices", "payments", "aging", "exchange_rates"]
DateFormatIn = Literal["iso", "mdy", "dmy", "dmy_dot", "auto"]
NumberFormatIn = Literal["point", "comma", "auto"]


class ImportSummaryOut(Schema):
    batch_id: UUID
    rows: int
    accepted: int
    rejected: int
    created: int
    updated: int
    errors_by_code: dict[str, int] = Field(description="Rejected rows per error code.")
    skipped: int = Field(0, description="Rows left out on purpose (drafts, credit notes …).")
    skipped_by_reason: dict[str, int] = Field(default_factory=dict)
    merged_lines: int = Field(0, description="Line-item rows folded into their invoice.")
    notes: list[str] = Field(
        default_factory=list,
        description="What the import understood about the file (customers matched by name, "
        "report title and total lines skipped, the date and number formats found).",
    )
    reject_log: str | None = Field(
        description="URL of the reject log (CSV), if rows were rejected."
    )


class ImportOut(Schema):
    id: UUID
    kind: str
    status: Literal["validating", "loaded", "rejected", "failed"]
    file_name: str
    all_or_nothing: bool
    date_format: str
    number_format: str
    created_at: dt.datetime
    finished_at: dt.datetime | None
    rows_done: int = Field(description="Progress while validating (rows read so far).")
    rows_total: int = Field(description="An estimate of the rows in the file until it finishes.")
    error: str = Field(description="Why the file was rejected whole or the import failed.")
    summary: ImportSummaryOut | None = Field(description="Set once the import has finished.")


def _out(request, batch: ImportBatch) -> dict:
    summary = None
    if batch.is_finished and batch.summary:
        summary = dict(batch.summary)
        root = reverse("api:api-root")
        summary["reject_log"] = (
            request.build_absolute_uri(f"{root}imports/{batch.public_id}/reject-log")
            if batch.reject_log
            else None
        )
    return {
        "id": batch.public_id,
        "kind": batch.kind,
        "status": batch.status,
        "file_name": batch.original_name,
        "all_or_nothing": batch.all_or_nothing,
        "date_format": batch.date_format,
        "number_format": batch.number_format,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
        "rows_done": batch.rows_done,
        "rows_total": batch.rows_total,
        "error": batch.error,
        "summary": summary,
    }


@router.post("", response=responses({202: ImportOut}, 400, 422), summary="Upload an import")
@api_requires(Cap.IMPORTS_RUN)
def import_create(
    request,
    kind: Form[ImportKindIn],
    file: File[UploadedFile],
    all_or_nothing: Form[bool] = False,
    date_format: Form[DateFormatIn] = "iso",
    number_format: Form[NumberFormatIn] = "point",
):
    """Upload a CSV file (multipart/form-data) and start loading it in the background. Rows
    are matched to Plixo's records by natural key (customer external id, contact email per
    customer, invoice number, payment reference), so the same file twice changes nothing.
    With `all_or_nothing`, nothing is loaded if any row is rejected. `date_format` and
    `number_format` say how the file writes dates and amounts; `auto` finds them in the file
    (a file whose every value reads both ways is rejected as `ambiguous_dates` or
    `ambiguous_amounts` until a format is given). Exports from accounting products (Xero,
    QuickBooks, Zoho Books, FreshBooks, NetSuite, Sage) load unedited: see docs/imports.md."""
    try:
        batch = import_batch_create(
            organization=request.organization,
            kind=kind,
            upload=file,
            actor=request.user,
            all_or_nothing=all_or_nothing,
            date_format=date_format,
            number_format=number_format,
        )
        batch = import_batch_start(batch=batch)
    except ImportsError as exc:
        return Status(400, {"detail": str(exc), "request_id": request.request_id})
    return Status(202, _out(request, batch))


@router.get("/{import_id}", response=responses({200: ImportOut}, 404), summary="Get an import")
@api_requires(Cap.IMPORTS_RUN)
def import_get(request, import_id: UUID):
    """Status, progress and, once finished, the validation summary: rows, accepted, rejected,
    created, updated and rejected rows per error code."""
    return _out(request, import_batch_for(organization=request.organization, public_id=import_id))


@router.get(
    "/{import_id}/reject-log",
    response=responses({200: None}, 404),
    summary="Download an import's reject log",
    openapi_extra={
        "responses": {200: {"description": "CSV", "content": {"text/csv": {"schema": {}}}}}
    },
)
@api_requires(Cap.IMPORTS_RUN)
def import_reject_log(request, import_id: UUID):
    """The rejected rows as uploaded, plus row_number, column, error_code and message (CSV).
    Fix the rows and upload the file as it is: the extra columns are ignored."""
    batch = import_batch_for(organization=request.organization, public_id=import_id)
    return FileResponse(
        reject_log_open(batch),
        as_attachment=True,
        filename=f"{batch.original_name.rsplit('.', 1)[0] or 'import'}-rejects.csv",
        content_type="text/csv; charset=utf-8",
    )
