from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "plixo.approvals"
    label = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        # The ledger's money decisions (write-offs) are carried out by the ledger's own
        # services once approved; other apps register their kinds from their own ready().
        from plixo.approvals import ledger_handlers

        ledger_handlers.register_ledger_kinds()
