from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LedgerConfig(AppConfig):
    name = "plixo.ledger"
    label = "ledger"
    verbose_name = "Ledger"

    def ready(self) -> None:
        from plixo.ledger.search_index import _after_migrate

        post_migrate.connect(_after_migrate, sender=self, dispatch_uid="ledger-search-triggers")
