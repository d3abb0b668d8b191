from django.contrib import admin
from django.urls import include, path

from plixo.api.urls import api

admin.site.site_header = "Plixo support"
admin.site.site_title = "Plixo support"

urlpatterns = [
    path("", include("plixo.core.urls")),
    path("", include("plixo.ledger.urls")),
    path("ops/", include("plixo.ops.urls")),
    path("imports/", include("plixo.imports.urls")),
    path("reports/", include("plixo.reports.urls")),
    path("cash/", include("plixo.cashapp.urls")),
    path("approvals/", include("plixo.approvals.urls")),
    path("readiness/", include("plixo.readiness.urls")),
    path("", include("plixo.portal.urls")),
    path("", include("plixo.payments.urls")),
    path("", include("plixo.disputes.urls")),
    path("", include("plixo.commitments.urls")),
    path("", include("plixo.comms.urls")),
    path("", include("plixo.workspace.urls")),
    path("", include("plixo.notes.urls")),
    path("webhooks/email/", include("plixo.comms.webhook_urls")),
    path("webhooks/stripe/", include("plixo.payments.webhook_urls")),
    path("api/v1/", api.urls),
    path("admin/", admin.site.urls),
]

handler400 = "plixo.core.views.error_400"
handler403 = "plixo.core.views.error_403"
handler404 = "plixo.core.views.error_404"
handler500 = "plixo.core.views.error_500"
