"""Exchange rates (date, currency, rate) for reports in the base currency, upserted by day and
currency through `reports.services`, so a file imported twice changes nothing."""

from plixo.core.permissions import Cap
from plixo.imports.pipeline.load.base import Loader, Outcome
from plixo.reports.models import ExchangeRate, ExchangeRateSource
from plixo.reports.services import RateRow, exchange_rates_upsert


class ExchangeRateLoader(Loader):
    def load(self, rows, *, write):
        outcome = Outcome()
        if not self.may(Cap.RATES_MANAGE):
            for pending in rows:
                outcome.rejects.append((pending, self.not_allowed("rate", "manage exchange rates")))
            return outcome
        base = self.organization.base_currency
        keys = {(p.row["on"], p.row["currency"]): p for p in rows}
        existing = {}
        for currency in {code for _, code in keys}:
            days = [on for on, code in keys if code == currency]
            existing.update(
                {
                    (on, currency): rate
                    for on, rate in ExchangeRate.objects.filter(
                        organization_id=self.org_id,
                        base_currency=base,
                        currency=currency,
                        on__in=days,
                    ).values_list("on", "rate")
                }
            )
        for key, pending in keys.items():
            if key not in existing:
                outcome.created += 1
            elif existing[key] != pending.row["rate"]:
                outcome.updated += 1
        if write:
            exchange_rates_upsert(
                organization=self.organization,
                rows=[RateRow(on, code, p.row["rate"]) for (on, code), p in keys.items()],
                source=ExchangeRateSource.IMPORT,
            )
        return outcome
