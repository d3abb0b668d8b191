from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "plixo.ledger"
    label = "ledger"
    verbose_name = "Ledger"
