"""The Imports page: upload, mapping preview, confirm, progress, summary, reject log, history."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from plixo.core.models import Role
from plixo.imports.models import ImportBatch, ImportStatus

HEADER = "Invoice #,Customer ID,Customer,Invoice Date,Due Date,Currency,Total"
CSV = (
    f"{HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,USD,100.00\n"
    "INV-2,C-1,Acme,2024-01-01,2024-01-31,USD,1.234\n"
)


def _upload(client, content: str, **extra):
    data = {
        "kind": "invoices",
        "date_format": "iso",
        "file": SimpleUploadedFile("inv.csv", content.encode()),
        **extra,
    }
    return client.post(reverse("imports:index"), data)


def test_upload_previews_the_mapping_then_confirm_loads(personas):
    client = personas.client_for(Role.AR_OPERATOR)

    response = _upload(client, CSV)

    batch = ImportBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "imports:batch-detail", kwargs={"import_id": batch.public_id}
    )
    assert batch.status == ImportStatus.VALIDATING and batch.started_at is None
    page = client.get(response["Location"]).content.decode()
    assert "Column mapping" in page
    assert "Invoice #" in page and "invoice_number" in page
    assert "INV-1" in page  # first rows shown beside the mapping
    assert not batch.organization.invoices.exists()  # nothing loaded before confirmation

    confirm = client.post(reverse("imports:batch-confirm", kwargs={"import_id": batch.public_id}))
    assert confirm.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportStatus.LOADED
    summary = client.get(confirm["Location"]).content.decode()
    assert 'data-stat="rejected">1<' in summary and "too_many_decimals" in summary
    assert "Download reject log" in summary

    log = client.get(reverse("imports:reject-log", kwargs={"import_id": batch.public_id}))
    assert log.status_code == 200
    assert "attachment" in log["Content-Disposition"]
    assert b"too_many_decimals" in b"".join(log.streaming_content)

    again = client.post(reverse("imports:batch-confirm", kwargs={"import_id": batch.public_id}))
    assert again.status_code == 302
    assert batch.organization.invoices.count() == 1

    history = client.get(reverse("imports:index")).content.decode()
    assert "inv.csv" in history and "Partly loaded" in history  # one row was rejected


def test_preview_highlights_missing_required_headers(personas):
    client = personas.client_for(Role.CONTROLLER)
    response = _upload(client, "Invoice #,Customer,Total\nINV-1,Acme,100\n")
    page = client.get(response["Location"]).content.decode()
    assert "mapping-missing" in page
    assert "Required columns missing: customer_external_id, issue_date, due_date, currency" in page


def test_progress_partial_polls_until_done(personas):
    client = personas.client_for(Role.CONTROLLER)
    response = _upload(client, CSV)
    batch = ImportBatch.objects.get()
    url = reverse("imports:batch-progress", kwargs={"import_id": batch.public_id})
    ImportBatch.objects.filter(pk=batch.pk).update(
        started_at=batch.created_at, rows_done=40, rows_total=100
    )
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in running.content.decode()
    assert 'value="40"' in running.content.decode()
    assert "HX-Refresh" not in running
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportStatus.LOADED)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert done["HX-Refresh"] == "true"
    assert response.status_code == 302


def test_upload_form_errors(personas):
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("imports:index"), {"kind": "invoices", "date_format": "iso"})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    assert not ImportBatch.objects.exists()


def test_nav_shows_imports_only_to_roles_that_may(personas):
    assert (
        'href="/imports/"'
        in personas.client_for(Role.BILLING_ADMIN).get("/imports/").content.decode()
    )
    sales_home = (
        personas.client_for(Role.SALES).get(reverse("ledger:invoice-list")).content.decode()
    )
    assert 'href="/imports/"' not in sales_home
    assert personas.client_for(Role.SALES).get("/imports/").status_code == 403


def test_reject_log_missing_from_storage_is_a_404_not_a_500(personas, tmp_path):
    from django.core.files.base import ContentFile

    from plixo.core.models import Role
    from plixo.imports.models import ImportBatch

    batch = ImportBatch.objects.filter(organization=personas.org).first()
    if batch is None:
        from plixo.imports.services import import_batch_create

        batch = import_batch_create(
            organization=personas.org,
            kind="customers",
            upload=ContentFile(b"external_id,name\nC-1,Acme\n", name="c.csv"),
            actor=personas.operator.user,
        )
    batch.reject_log.save("gone.csv", ContentFile(b"row_number\n"), save=True)
    batch.reject_log.storage.delete(batch.reject_log.name)
    client = personas.client_for(Role.AR_OPERATOR)
    response = client.get(f"/imports/{batch.public_id}/reject-log/")
    assert response.status_code == 404


def test_a_load_that_accepted_nothing_does_not_read_as_loaded(personas):
    client = personas.client_for(Role.CONTROLLER)
    _upload(client, f"{HEADER}\nINV-1,C-1,Acme,2024-01-01,2024-01-31,USD,ten\n")
    batch = ImportBatch.objects.get()
    client.post(reverse("imports:batch-confirm", kwargs={"import_id": batch.public_id}))

    history = client.get(reverse("imports:index")).content.decode()

    assert "Nothing loaded" in history and "badge-ok" not in history


def test_progress_before_the_first_rows_says_it_is_reading(personas):
    client = personas.client_for(Role.CONTROLLER)
    _upload(client, CSV)
    batch = ImportBatch.objects.get()
    ImportBatch.objects.filter(pk=batch.pk).update(started_at=batch.created_at, rows_total=0)

    page = client.get(
        reverse("imports:batch-progress", kwargs={"import_id": batch.public_id}),
        HTTP_HX_REQUEST="true",
    ).content.decode()

    assert "Reading the file…" in page and "0 of about 0" not in page


def test_a_pdf_uploaded_as_csv_is_named_for_what_it_is(personas):
    client = personas.client_for(Role.CONTROLLER)
    _upload(client, "%PDF-1.7\n%\u00e2\u00e3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n")
    batch = ImportBatch.objects.get()
    client.post(reverse("imports:batch-confirm", kwargs={"import_id": batch.public_id}))
    batch.refresh_from_db()

    page = client.get(
        reverse("imports:batch-detail", kwargs={"import_id": batch.public_id})
    ).content.decode()

    assert "This is a PDF document, not a CSV file" in page
    assert "NUL" not in page
