from django.apps import AppConfig


class CashappConfig(AppConfig):
    name = "plixo.cashapp"
    label = "cashapp"
    verbose_name = "Cash application"
