"""GET /api/v1/reports/{name} and /api/v1/exchange-rates."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.reports.models import ExchangeRate, ReceivablesSnapshot
from plixo.reports.params import REPORT_NAMES
from plixo.reports.services import receivables_snapshot_refresh
from tests.api.conftest import client_for_membership

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(personas):
    return lambda role=Role.CONTROLLER: client_for_membership(personas.members[role])


@pytest.mark.parametrize("name", REPORT_NAMES)
def test_every_report_answers_json(ledger, api, name):
    response = api().get(f"/api/v1/reports/{name}")

    assert response.status_code == 200, response.content
    assert response.json()["name"] == name


def test_aging_json_has_decimal_strings_subtotals_and_conversion(ledger, api):
    body = api().get("/api/v1/reports/aging", {"group": "currency"}).json()

    assert body["total"]["base"]["total"] == "1640.00"
    assert body["total"]["by_currency"]["EUR"]["buckets"]["1_30"] == "200.00"
    assert [line["key"] for line in body["lines"]] == ["EUR", "GBP", "USD"]
    assert body["conversion"]["missing"][0]["currency"] == "GBP"
    assert body["conversion"]["rates_used"][0]["rate"] == "1.2000000000"


def test_sales_gets_own_accounts_only(ledger, api):
    body = api(Role.SALES).get("/api/v1/reports/aging").json()

    assert body["total"]["base"]["total"] == "1100.00"


@pytest.mark.parametrize(
    "params",
    [
        {"as_of": "2199-01-01"},  # after today
        {"as_of": "1900-01-01"},  # out of the product's date range
        {"group": "planet"},
        {"currency": "EURO"},
        {"currency": "ZZZ"},
        {"limit": 501},
        {"period_days": 2},
        {"start": "2020-01-01", "end": "2023-01-01"},  # longer than 731 days
        {"start": "2026-01-02", "end": "2026-01-01"},
    ],
)
def test_bad_parameters_are_422(ledger, api, params):
    name = "collected" if "start" in params else "aging"
    if "period_days" in params:
        name = "dso"

    response = api().get(f"/api/v1/reports/{name}", params)

    assert response.status_code == 422, response.content


def test_unknown_report_is_not_served(ledger, api):
    assert api().get("/api/v1/reports/everything").status_code in (404, 422)


def test_roles_without_reports_get_403(ledger, api):
    assert api(Role.AR_OPERATOR).get("/api/v1/reports/aging").status_code == 403


def test_rates_upsert_creates_then_leaves_equal_rates_alone(ledger, api):
    body = {
        "rates": [
            {"date": "2026-01-05", "currency": "JPY", "rate": "0.0066"},
            {"date": "2026-01-06", "currency": "JPY", "rate": "0.0067"},
        ]
    }
    first = api().post("/api/v1/exchange-rates", body)
    again = api().post("/api/v1/exchange-rates", body)
    body["rates"][1]["rate"] = "0.0068"
    changed = api().post("/api/v1/exchange-rates", body)

    assert first.json() == {"created": 2, "updated": 0, "base_currency": "USD"}
    assert again.json() == {"created": 0, "updated": 0, "base_currency": "USD"}
    assert changed.json()["updated"] == 1
    listed = api().get("/api/v1/exchange-rates", {"currency": "JPY"}).json()
    assert [r["rate"] for r in listed["results"]] == ["0.0068", "0.0066"]


@pytest.mark.parametrize(
    "rate",
    [
        {"date": "2026-01-05", "currency": "USD", "rate": "1"},  # the base currency
        {"date": "2026-01-05", "currency": "JPY", "rate": "0"},
        {"date": "2026-01-05", "currency": "XXX", "rate": "1.5"},
        {"date": "2026-01-05", "currency": "JPY", "rate": "1.12345678901"},
        {"date": "2026-01-05", "currency": "JPY", "rate": "-1"},
        {"date": "1800-01-05", "currency": "JPY", "rate": "1"},
    ],
)
def test_bad_rates_write_nothing(ledger, api, rate):
    before = ExchangeRate.objects.count()
    good = {"date": "2026-01-05", "currency": "CHF", "rate": "1.1"}

    response = api().post("/api/v1/exchange-rates", {"rates": [good, rate]})

    assert response.status_code in (400, 422), response.content
    assert ExchangeRate.objects.count() == before


def test_only_rate_managers_write_rates(ledger, api):
    body = {"rates": [{"date": "2026-01-05", "currency": "JPY", "rate": "0.0066"}]}

    assert api(Role.SALES).post("/api/v1/exchange-rates", body).status_code == 403
    assert api(Role.AR_MANAGER).post("/api/v1/exchange-rates", body).status_code == 200
    assert ExchangeRate.objects.get(currency="JPY").rate == Decimal("0.0066")


def test_openapi_documents_each_report_and_the_rates(db):
    from django.test import Client

    paths = Client().get("/api/v1/openapi.json").json()["paths"]

    assert {f"/api/v1/reports/{name}" for name in REPORT_NAMES} <= set(paths)
    assert {"get", "post"} <= set(paths["/api/v1/exchange-rates"])


@pytest.mark.parametrize("name", ["dso", "cei"])
def test_dso_and_cei_json_say_when_the_snapshot_was_computed(ledger, api, name):
    assert api().get(f"/api/v1/reports/{name}").json()["snapshot"] is None

    receivables_snapshot_refresh(organization=ledger.org)
    body = api().get(f"/api/v1/reports/{name}").json()

    snapshot = ReceivablesSnapshot.objects.get(organization=ledger.org)
    assert body["snapshot"]["through"] == (ledger.today - timedelta(days=1)).isoformat()
    computed_at = datetime.fromisoformat(body["snapshot"]["computed_at"])
    assert abs(computed_at - snapshot.refreshed_at) < timedelta(milliseconds=1)  # ISO, in ms
