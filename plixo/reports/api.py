"""/api/v1/reports/{name} (aging, dso, cei, collected, adherence, disputes, funnel,
deliverability) and /api/v1/exchange-rates: the report figures as JSON, and the daily rates
they convert with. Money is a decimal string, dates ISO 8601, as everywhere in the API."""

from typing import Any, Literal

from ninja import Field, Query, Router, Schema
from ninja.errors import ValidationError as NinjaValidationError

from plixo.api.auth import api_requires
from plixo.api.common import paginate, responses
from plixo.api.schemas import Day, PageParams
from plixo.core.permissions import Cap
from plixo.reports.models import ExchangeRate, ExchangeRateSource
from plixo.reports.params import MAX_LIMIT, REPORT_NAMES, ReportParams, report_run
from plixo.reports.selectors import AGING_GROUPS, INTERVALS
from plixo.reports.services import RateRow, exchange_rates_upsert

router = Router(tags=["reports"])
rates_router = Router(tags=["reports"])

MAX_RATES_PER_REQUEST = 1000


class ReportQuery(Schema):
    as_of: Day | None = Field(None, description="aging, dso, cei: the day; default today.")
    start: Day | None = Field(None, description="Period reports: first day (default 30 days).")
    end: Day | None = Field(None, description="Period reports: last day; default today.")
    group: Literal[AGING_GROUPS] | None = Field(  # type: ignore[valid-type]
        None, description="aging: split by customer, segment, owner or currency."
    )
    currency: str | None = Field(
        None, min_length=3, max_length=3, description="aging: one invoice currency only."
    )
    interval: Literal[INTERVALS] | None = Field(  # type: ignore[valid-type]
        None, description="collected: day, week or month (default)."
    )
    period_days: int | None = Field(None, ge=7, le=365, description="dso, cei: default 90.")
    months: int | None = Field(None, ge=1, le=24, description="dso, cei: trend months (12).")
    limit: int | None = Field(None, ge=1, le=MAX_LIMIT, description="aging by customer: 50.")


def _report_answer(request, name: str, query: ReportQuery) -> dict:
    data = {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in query.dict().items()}
    form = ReportParams(
        {k: v for k, v in data.items() if v is not None},
        membership=request.membership,
        name=name,
    )
    if not form.is_valid():
        raise NinjaValidationError(
            [
                {"loc": ["query", field if field != "__all__" else "query"], "msg": message}
                for field, messages in form.errors.items()
                for message in messages
            ]
        )
    report = report_run(name, membership=request.membership, params=form.cleaned_data)
    return {"name": name, **report}


def _report_route(name: str) -> None:
    """GET /reports/<name>: one route per report, so the path names no object."""

    def report_get(request, query: Query[ReportQuery]):
        return _report_answer(request, name, query)

    report_get.__name__ = f"report_{name}"
    report_get.__doc__ = REPORT_DOCS[name] + _COMMON_DOC
    router.get(
        f"/{name}",
        response=responses({200: dict[str, Any]}, 422),
        summary=f"Report: {name}",
        operation_id=f"report_{name}",
    )(api_requires(Cap.REPORTS_VIEW)(report_get))


_COMMON_DOC = """

Over the caller's accounts (Sales and CSMs: their own). Amounts in the organization's base
currency come with per-currency subtotals, and `conversion` names the rates used and the
currencies left out for want of a rate (never converted at 1). Periods are at most 731 days;
dates after today are refused (422)."""
REPORT_DOCS = {
    "aging": "Open balances by days past due as of `as_of`; `group`, `currency`, `limit`.",
    "dso": "DSO (average-balance method) over `period_days`, with a `months` trend. Past "
    "days' A/R comes from the daily snapshot where it covers them: `snapshot` gives its "
    "`computed_at` and the last day it covers (`through`); null when all is from the ledger.",
    "cei": "CEI over `period_days` ending `as_of`, with a `months` trend (same body as dso).",
    "collected": "Cash received per `interval` between `start` and `end`.",
    "adherence": "Promise and plan adherence for commitments due in `start`..`end`.",
    "disputes": "Disputes filed in `start`..`end` by reason and status; open ones by age.",
    "funnel": "Portal funnel: invoices per step and completion rates in `start`..`end`.",
    "deliverability": "Sent, hard bounces and complaints per sending domain.",
}
for _name in REPORT_NAMES:
    _report_route(_name)


class RateIn(Schema):
    date: Day
    currency: str = Field(..., min_length=3, max_length=3, pattern="^[A-Z]{3}$")
    rate: str = Field(
        ...,
        max_length=40,
        pattern=r"^[0-9]{1,13}(\.[0-9]{1,10})?$",
        description='Units of the base currency for one unit of `currency`, e.g. "1.0825".',
    )


class RatesIn(Schema):
    rates: list[RateIn] = Field(..., min_length=1, max_length=MAX_RATES_PER_REQUEST)


class RatesOut(Schema):
    created: int
    updated: int
    base_currency: str


class RateOut(Schema):
    date: str
    currency: str
    base_currency: str
    rate: str
    source: str


class RatePage(Schema):
    count: int
    limit: int
    offset: int
    results: list[RateOut]


@rates_router.get("", response=responses({200: RatePage}, 422), summary="List exchange rates")
@api_requires(Cap.REPORTS_VIEW)
def rates_list(
    request,
    page: Query[PageParams],
    currency: str | None = Query(None, min_length=3, max_length=3),
    start: Day | None = None,
    end: Day | None = None,
):
    """Rates held for the organization's current base currency, newest day first."""
    organization = request.organization
    rows = ExchangeRate.objects.filter(
        organization=organization, base_currency=organization.base_currency
    ).order_by("-on", "currency")
    if currency:
        rows = rows.filter(currency=currency.upper())
    if start:
        rows = rows.filter(on__gte=start)
    if end:
        rows = rows.filter(on__lte=end)
    found = paginate(rows, page)
    found["results"] = [
        {
            "date": row.on.isoformat(),
            "currency": row.currency,
            "base_currency": row.base_currency,
            "rate": f"{row.rate.normalize():f}",
            "source": row.source,
        }
        for row in found["results"]
    ]
    return found


@rates_router.post(
    "", response=responses({200: RatesOut}, 400, 422), summary="Add or update exchange rates"
)
@api_requires(Cap.RATES_MANAGE)
def rates_upsert(request, body: RatesIn):
    """Store up to 1,000 daily rates, each by (date, currency): a new day is added, a changed
    rate replaced, an equal one left alone. One bad rate (the base currency itself, zero,
    more than 10 decimals, a date out of range) refuses the whole request (400)."""
    organization = request.organization
    created, updated = exchange_rates_upsert(
        organization=organization,
        rows=[RateRow(r.date, r.currency, r.rate) for r in body.rates],
        source=ExchangeRateSource.API,
    )
    return {"created": created, "updated": updated, "base_currency": organization.base_currency}
