"""`/api/v1/imports`: multipart upload, summary, reject log."""

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from plixo.core.models import Role
from tests.api.conftest import client_for_membership

CSV = b"customer_external_id,customer_name,currency\nC-1,Acme,USD\nC-2,=Beta,XXQ\n"


def _post(api, **data):
    return api.client.post("/api/v1/imports", data)


def test_upload_summary_and_reject_log(personas):
    api = client_for_membership(personas.controller)

    response = _post(api, kind="customers", file=SimpleUploadedFile("c.csv", CSV, "text/csv"))

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "loaded"  # tests run the worker's task immediately
    summary = body["summary"]
    assert (summary["rows"], summary["accepted"], summary["rejected"]) == (2, 1, 1)
    assert summary["errors_by_code"] == {"invalid_currency": 1}
    assert summary["reject_log"].endswith(f"/api/v1/imports/{body['id']}/reject-log")

    got = api.get(f"/api/v1/imports/{body['id']}")
    assert got.status_code == 200 and got.json()["summary"] == summary

    log = api.get(f"/api/v1/imports/{body['id']}/reject-log")
    assert log.status_code == 200
    assert log["Content-Type"].startswith("text/csv")
    text = b"".join(log.streaming_content).decode("utf-8-sig")
    assert "'=Beta" in text and "invalid_currency" in text


def test_all_or_nothing_and_bad_input(personas):
    api = client_for_membership(personas.controller)
    response = _post(
        api,
        kind="customers",
        all_or_nothing="true",
        file=SimpleUploadedFile("c.csv", CSV, "text/csv"),
    )
    assert response.json()["status"] == "rejected"
    assert response.json()["summary"]["created"] == 0

    bad_kind = _post(api, kind="planets", file=SimpleUploadedFile("c.csv", CSV))
    assert bad_kind.status_code == 422
    no_file = _post(api, kind="customers")
    assert no_file.status_code == 422


def test_no_reject_log_is_404_and_other_orgs_cannot_read(personas):
    api = client_for_membership(personas.controller)
    ok = _post(
        api,
        kind="customers",
        file=SimpleUploadedFile("c.csv", b"customer_external_id,customer_name\nC-1,A\n"),
    )
    batch_id = ok.json()["id"]
    assert api.get(f"/api/v1/imports/{batch_id}/reject-log").status_code == 404
    outsider = client_for_membership(personas.outsider)
    assert outsider.get(f"/api/v1/imports/{batch_id}").status_code == 404


def test_roles_without_imports_get_403(personas):
    api = client_for_membership(personas.members[Role.SALES])
    response = _post(api, kind="customers", file=SimpleUploadedFile("c.csv", CSV))
    assert response.status_code == 403
    assert Client().post("/api/v1/imports", {}).status_code == 401


def test_an_erp_export_loads_through_the_api_with_detected_formats(personas):
    """A Xero export as Xero writes it: line items, starred headers, day-first dates, no
    customer id; `auto` finds the formats, and the summary says what it understood."""
    from pathlib import Path

    api = client_for_membership(personas.controller)
    data = (Path(__file__).parent.parent / "fixtures/erp/xero_sales_invoices.csv").read_bytes()

    response = _post(
        api,
        kind="invoices",
        date_format="auto",
        number_format="auto",
        file=SimpleUploadedFile("xero.csv", data, "text/csv"),
    )

    assert response.status_code == 202, response.content
    body = response.json()
    assert body["status"] == "loaded", body
    assert body["date_format"] == "auto" and body["number_format"] == "auto"
    summary = body["summary"]
    assert summary["rejected"] == 0 and summary["created"] > 0
    assert summary["merged_lines"] > 0
    assert any("by name" in note for note in summary["notes"])

    again = _post(
        api,
        kind="invoices",
        date_format="auto",
        number_format="auto",
        file=SimpleUploadedFile("xero.csv", data, "text/csv"),
    ).json()["summary"]
    assert (again["created"], again["updated"]) == (0, 0)

    bad = _post(api, kind="invoices", number_format="roman", file=SimpleUploadedFile("x.csv", data))
    assert bad.status_code == 422
