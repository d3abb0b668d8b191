from django.urls import path

from plixo.reports import views
from plixo.reports.params import REPORT_NAMES

app_name = "reports"

# One route per report (no name in the URL pattern): each is its own page and export.
urlpatterns = [
    path("", views.report_page, {"name": "aging"}, name="index"),
    path("panel/", views.dashboard_panel, name="dashboard-panel"),
    *(path(f"{name}/", views.report_page, {"name": name}, name=name) for name in REPORT_NAMES),
    *(
        path(f"{name}/export.csv", views.report_csv, {"name": name}, name=f"{name}-export")
        for name in REPORT_NAMES
    ),
]
