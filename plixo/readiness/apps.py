from django.apps import AppConfig


class ReadinessConfig(AppConfig):
    name = "plixo.readiness"
    label = "readiness"
    verbose_name = "Data-Ready"
