"""Exchange rates through the CSV import pipeline: `date,currency,rate`, upserted by day and
currency, with the pipeline's summary and reject log."""

import datetime as dt
from decimal import Decimal

import pytest

from plixo.core.models import Role
from plixo.imports.services import ImportsError, import_file
from plixo.reports.models import ExchangeRate


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(org, tmp_path, text: str, **options):
    path = tmp_path / f"rates-{abs(hash(text))}.csv"
    path.write_text(text, encoding="utf-8")
    return import_file(organization=org, kind="exchange_rates", path=path, **options)


def test_rates_load_and_reimporting_changes_nothing(personas, tmp_path):
    org = personas.org
    text = "date,currency,rate\n2026-03-02,EUR,1.0825\n2026-03-03,EUR,1.09\n2026-03-02,JPY,0.0067\n"

    first = _import(org, tmp_path, text)
    again = _import(org, tmp_path, text)

    assert (first.summary["created"], first.summary["rejected"]) == (3, 0)
    assert (again.summary["created"], again.summary["updated"]) == (0, 0)
    rate = ExchangeRate.objects.get(organization=org, currency="EUR", on=dt.date(2026, 3, 2))
    assert (rate.rate, rate.base_currency) == (Decimal("1.0825"), "USD")


def test_bad_rows_are_rejected_with_their_codes(personas, tmp_path):
    org = personas.org
    text = (
        "Date;Currency code;Exchange rate\n"
        "2026-03-02;EUR;1,0825\n"  # a decimal comma, read in the file's number format
        "2026-03-02;USD;1\n"  # the base currency
        "2026-03-02;XYZ;1.2\n"
        "2026-13-02;CHF;1.1\n"
        "2026-03-02;CHF;0\n"
        "2026-03-02;CHF;abc\n"
    )

    batch = _import(org, tmp_path, text, number_format="comma")

    assert batch.summary["accepted"] == 1
    assert batch.summary["errors_by_code"] == {
        "invalid_value": 1,
        "invalid_currency": 1,
        "malformed_date": 1,
        "bad_amount": 2,
    }
    assert ExchangeRate.objects.get(currency="EUR").rate == Decimal("1.0825")


def test_roles_without_rates_manage_may_not_import_rates(personas, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text("date,currency,rate\n2026-03-02,EUR,1.08\n", encoding="utf-8")

    with pytest.raises(ImportsError):
        import_file(
            organization=personas.org,
            kind="exchange_rates",
            path=path,
            actor=personas.members[Role.AR_OPERATOR].user,
        )
    assert not ExchangeRate.objects.exists()
