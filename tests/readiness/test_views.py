import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from plixo.core.models import AuditEvent, Role
from plixo.ledger.selectors import org_today
from plixo.readiness.models import AgingExport, ReadinessOverride, ReadinessRun
from tests.readiness.conftest import fixture_bytes, run_saved

pytestmark = pytest.mark.django_db
PAGE = "/readiness/"


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (Role.CONTROLLER, 200),
        (Role.AR_MANAGER, 200),
        (Role.AR_OPERATOR, 403),
        (Role.BILLING_ADMIN, 403),
        (Role.SALES, 403),
        (Role.CSM, 403),
        (Role.LEGAL, 403),
    ],
)
def test_page_access_by_role(personas, role, status):
    assert personas.client_for(role).get(PAGE).status_code == status


def test_anonymous_is_sent_to_login(client):
    response = client.get(PAGE)
    assert response.status_code == 302 and "login" in response["Location"]


def test_manager_sees_the_page_but_may_not_run_or_upload(personas):
    client = personas.client_for(Role.AR_MANAGER)
    page = client.get(PAGE).content.decode()
    assert "Run checks" not in page and "Upload aging summary" not in page
    assert client.post(reverse("readiness:run")).status_code == 403
    upload = SimpleUploadedFile("a.csv", fixture_bytes("plain.csv"))
    response = client.post(
        reverse("readiness:export-upload"), {"file": upload, "as_of": "2026-11-30"}
    )
    assert response.status_code == 403
    assert not ReadinessRun.objects.exists() and not AgingExport.objects.exists()


def test_controller_runs_the_checks_and_sees_cards(personas, uncovered_invoice):
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("readiness:run"), follow=True)
    page = response.content.decode()
    assert "Contact coverage" in page and "0.00%" in page and "Failed" in page
    assert "Upload your ERP&#x27;s aging summary" in page
    assert "Harbor Cafe" in page and "Record override" in page
    assert client.get(reverse("readiness:run")).status_code == 405


def test_controller_uploads_an_export_and_sees_its_buckets(personas):
    client = personas.client_for(Role.CONTROLLER)
    upload = SimpleUploadedFile("aging.csv", fixture_bytes("quickbooks_online.csv"))
    as_of = org_today(personas.org).isoformat()
    response = client.post(
        reverse("readiness:export-upload"), {"file": upload, "as_of": as_of}, follow=True
    )
    page = response.content.decode()
    assert "read as QuickBooks A/R Aging Summary" in page
    assert "9,800.50" in page
    export = AgingExport.objects.get()
    assert export.currency == "USD" and export.uploaded_by == personas.controller.user


def test_a_bad_file_is_refused_with_its_reason_and_nothing_stored(personas):
    client = personas.client_for(Role.CONTROLLER)
    upload = SimpleUploadedFile("aging.csv", fixture_bytes("bad_amount.csv"))
    response = client.post(
        reverse("readiness:export-upload"), {"file": upload, "as_of": "2026-11-30"}
    )
    assert response.status_code == 400
    assert "Line 3, column" in response.content.decode()
    assert not AgingExport.objects.exists()


def test_future_date_is_refused(personas):
    client = personas.client_for(Role.CONTROLLER)
    upload = SimpleUploadedFile("aging.csv", fixture_bytes("plain.csv"))
    response = client.post(
        reverse("readiness:export-upload"), {"file": upload, "as_of": "2999-01-01"}
    )
    assert response.status_code == 400 and "future" in response.content.decode()


def test_controller_override_is_audited(personas):
    run = run_saved(personas.org, passed=False)
    client = personas.client_for(Role.CONTROLLER)
    response = client.post(reverse("readiness:override"), {"reason": ""})
    assert response.status_code == 400
    response = client.post(
        reverse("readiness:override"), {"reason": "Contacts arrive with the CRM sync on Monday."}
    )
    assert response.status_code == 302
    override = ReadinessOverride.objects.get()
    assert override.run == run and override.by == personas.controller.user
    event = AuditEvent.objects.get(action="readiness_override")
    assert event.reason == "Contacts arrive with the CRM sync on Monday."
    assert event.before["failed"] == ["Contact coverage"]


def test_other_organizations_runs_are_not_shown(personas):
    run_saved(personas.other_org, passed=False)
    page = personas.client_for(Role.CONTROLLER).get(PAGE).content.decode()
    assert "have not run yet" in page


def test_the_page_puts_plixo_beside_the_export_after_a_run(personas, covered_invoice):
    client = personas.client_for(Role.CONTROLLER)
    data = b"customer,current,1_30,31_60,61_90,90_plus\nBright Dental,0,1210.00,0,0,0\n"
    upload = SimpleUploadedFile("aging.csv", data)
    as_of = org_today(personas.org).isoformat()
    client.post(reverse("readiness:export-upload"), {"file": upload, "as_of": as_of})
    page = client.post(reverse("readiness:run"), follow=True).content.decode()
    assert "1,210.00" in page and "1,200.00" in page and "-10.00" in page
    assert 'data-check="aging_parity"' in page
