"""The Reports pages, their CSV exports and the Controller's dashboard panel: thin views over
`reports.params.report_run` (validated parameters, scoped selectors)."""

from django.http import Http404
from django.shortcuts import render

from plixo.core.access import requires
from plixo.core.permissions import Cap, role_can
from plixo.reports import charts
from plixo.reports.exports import report_csv_response
from plixo.reports.params import REPORT_NAMES, REPORT_TITLES, ReportParams, report_run
from plixo.reports.selectors import dashboard_figures, rates_latest


def _params(request, name: str) -> ReportParams:
    if name not in REPORT_NAMES:
        raise Http404("No such report.")
    return ReportParams(request.GET, membership=request.membership, name=name)


def _charts(name: str, report: dict, base: str) -> dict:
    if name == "aging":
        return {"aging": charts.aging_chart(report, base_currency=base)}
    if name in ("dso", "cei"):
        return {"trend": charts.dso_trend_chart(report)}
    if name == "funnel":
        return {"funnel": charts.funnel_chart(report)}
    if name == "collected":
        return {"collected": charts.collected_chart(report, base_currency=base)}
    return {}


def _page(request, name: str, form: ReportParams):
    organization = request.organization
    report, shown = None, {}
    if form.is_valid():
        report = report_run(name, membership=request.membership, params=form.cleaned_data)
        shown = _charts(name, report, organization.base_currency)
    context = {
        "name": name,
        "title": REPORT_TITLES[name],
        "tabs": [(key, REPORT_TITLES[key]) for key in REPORT_NAMES if key != "cei"],
        "form": form,
        "report": report,
        "charts": shown,
        "base_currency": organization.base_currency,
        "params": form.cleaned_data if form.is_valid() else {},
        "today": form.today,
        "rates": rates_latest(organization=organization),
        "can_manage_rates": role_can(request.membership.role, Cap.RATES_MANAGE),
    }
    return render(request, "reports/report.html", context, status=200 if report else 400)


@requires(Cap.REPORTS_VIEW)
def report_page(request, name: str = "aging"):
    return _page(request, name, _params(request, name))


@requires(Cap.REPORTS_VIEW)
def report_csv(request, name: str):
    form = _params(request, name)
    if not form.is_valid():
        return _page(request, name, form)  # the page, saying what is wrong (400)
    report = report_run(name, membership=request.membership, params=form.cleaned_data)
    dated = "as_of" if name in ("aging", "dso", "cei") else "end"
    day = form.cleaned_data[dated]
    return report_csv_response(
        name,
        report,
        base_currency=request.organization.base_currency,
        filename=f"{request.organization.slug}-{name}-{day:%Y-%m-%d}.csv",
    )


@requires(Cap.REPORTS_VIEW)
def dashboard_panel(request):
    """The figures a Controller looks at first, as a panel the landing page loads."""
    figures = dashboard_figures(membership=request.membership)
    figures["trend_chart"] = charts.dso_trend_chart(figures["dso"])
    return render(request, "reports/_dashboard_panel.html", {"figures": figures})
