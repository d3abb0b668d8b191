from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "plixo.core"
    label = "core"
    verbose_name = "Organizations and access"
