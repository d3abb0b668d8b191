from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "plixo.reports"
    label = "reports"
    verbose_name = "Reports"
