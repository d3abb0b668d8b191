from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "plixo.disputes"
    label = "disputes"
