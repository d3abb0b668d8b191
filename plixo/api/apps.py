from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "plixo.api"
    label = "api"
    verbose_name = "API"
