"""The Reports pages, their CSV exports and the dashboard panel, through the browser's door."""

import base64
import csv
import io
import re

import pytest
from django.urls import reverse

from plixo.core.models import Role
from plixo.reports.params import REPORT_NAMES
from plixo.reports.services import receivables_snapshot_refresh
from tests.reports.conftest import days

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_report_page_renders_for_the_controller(ledger, personas, name):
    response = personas.client_for(Role.CONTROLLER).get(reverse(f"reports:{name}"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "Exchange rates held" in body
    assert reverse(f"reports:{name}-export") in body


def test_aging_page_shows_figures_chart_drill_down_and_the_missing_rate(ledger, personas):
    response = personas.client_for(Role.CONTROLLER).get(
        reverse("reports:aging"), {"group": "customer"}
    )
    body = response.content.decode()

    assert "$1,640.00" in body  # the base-currency total
    assert "No GBP rate" in body
    assert "1 EUR = 1.2 USD" in body
    alder = ledger.customers["alder"].public_id
    assert f"?status=open&amp;overdue=61_90&amp;currency=USD&amp;customer={alder}" in body
    chart = re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', body)
    svg = base64.b64decode(chart.group(1)).decode()
    assert "<svg" in svg and "<script" not in svg
    assert "Alder Ltd" in svg


def test_bad_parameters_answer_400_and_say_why(ledger, personas):
    client = personas.client_for(Role.CONTROLLER)

    future = client.get(reverse("reports:aging"), {"as_of": "2199-01-01"})
    too_long = client.get(reverse("reports:collected"), {"start": "2020-01-01"})
    bad_group = client.get(reverse("reports:aging"), {"group": "planet"})

    assert future.status_code == 400 and "at most" in future.content.decode()
    assert too_long.status_code == 400 and "731 days" in too_long.content.decode()
    assert bad_group.status_code == 400
    export = client.get(reverse("reports:aging-export"), {"as_of": "2199-01-01"})
    assert export.status_code == 400 and export["Content-Type"].startswith("text/html")


def test_csv_export_neutralises_formula_cells(ledger, personas):
    customer = ledger.customers["birch"]
    customer.name = '=HYPERLINK("http://evil.example")'
    customer.save()

    response = personas.client_for(Role.CONTROLLER).get(
        reverse("reports:aging-export"), {"group": "customer"}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    labels = {row[0] for row in rows if row}
    assert '\'=HYPERLINK("http://evil.example")' in labels
    assert not any(cell.startswith("=") for row in rows for cell in row)
    assert ["", "GBP", str(ledger.today), str(ledger.today), "100.00"] in rows
    total = next(row for row in rows if row and row[0] == "Total" and row[1].startswith("USD"))
    assert total[7] == "1640.00"


def test_sales_exports_only_own_accounts(ledger, personas):
    response = personas.client_for(Role.SALES).get(reverse("reports:aging-export"))

    text = response.content.decode()
    assert "1100.00" in text and "GBP" not in text


def test_dashboard_panel_for_the_controller(ledger, personas):
    response = personas.client_for(Role.CONTROLLER).get(reverse("reports:dashboard-panel"))

    body = response.content.decode()
    assert response.status_code == 200
    assert "$1,640.00" in body  # open A/R
    # GBP has no rate at all; EUR none on or before the start of the 90-day DSO period.
    assert "No exchange rate for EUR, GBP" in body


def test_the_controller_lands_on_the_dashboard_which_loads_the_panel(ledger, personas):
    response = personas.client_for(Role.CONTROLLER).get(reverse("home"))

    assert response.status_code == 200
    body = response.content.decode()
    assert f'hx-get="{reverse("reports:dashboard-panel")}"' in body
    assert 'hx-trigger="load"' in body


@pytest.mark.parametrize("role", [Role.AR_OPERATOR, Role.AR_MANAGER, Role.SALES])
def test_other_roles_land_on_their_invoice_list(ledger, personas, role):
    response = personas.client_for(role).get(reverse("home"))

    assert response.status_code == 302
    assert response.url == reverse("ledger:invoice-list")


def test_dso_page_and_panel_say_when_the_snapshot_was_computed(ledger, personas):
    client = personas.client_for(Role.CONTROLLER)
    assert "daily snapshot" not in client.get(reverse("reports:dso")).content.decode()

    receivables_snapshot_refresh(organization=ledger.org)

    page = client.get(reverse("reports:dso")).content.decode()
    assert "A/R of past days from the daily snapshot, as of" in page
    panel = client.get(reverse("reports:dashboard-panel")).content.decode()
    assert "past days’ A/R from the daily snapshot, as of" in panel
    assert "$1,640.00" in panel  # open A/R, live


def test_the_dso_export_says_when_the_snapshot_was_computed(ledger, personas):
    receivables_snapshot_refresh(organization=ledger.org)
    response = personas.client_for(Role.CONTROLLER).get(reverse("reports:dso-export"))

    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[-1][0] == "Past days' A/R from the daily snapshot computed at"
    assert rows[-1][3] == str(ledger.today - days(1))
