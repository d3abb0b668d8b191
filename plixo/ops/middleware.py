"""Maintenance mode: payer-facing paths answer 503 with Retry-After; staff pages carry a
banner (the template reads `request.maintenance`)."""

from django.shortcuts import render

from plixo.ops.selectors import maintenance_active, maintenance_state

PAYER_PREFIXES = ("/p/", "/portal/")
# Providers' webhooks are taken in maintenance too (money and bounces must not be lost), and
# they show no page, so they skip the read.
WEBHOOK_PREFIX = "/webhooks/"
RETRY_AFTER_SECONDS = 600


class MaintenanceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path.startswith(WEBHOOK_PREFIX):
            request.maintenance = False
            return self.get_response(request)
        request.maintenance = maintenance_active()
        if request.maintenance and request.path.startswith(PAYER_PREFIXES):
            response = render(
                request,
                "ops/maintenance.html",
                {"maintenance": maintenance_state()},
                status=503,
            )
            response["Retry-After"] = str(RETRY_AFTER_SECONDS)
            response["Cache-Control"] = "no-store"
            return response
        return self.get_response(request)
