from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "plixo.comms"
    label = "comms"
    verbose_name = "Cadences and email"
