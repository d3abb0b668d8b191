from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "plixo.ops"
    label = "ops"
    verbose_name = "Operations"
