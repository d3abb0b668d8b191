from django.apps import AppConfig


class CashappConfig(AppConfig):
    name = "plixo.cashapp"
    label = "cashapp"
    verbose_name = "Cash application"

    def ready(self) -> None:
        from plixo.payments.signals import stripe_payout_paid

        stripe_payout_paid.connect(_payout_reported, dispatch_uid="cashapp-payout-reported")


def _payout_reported(sender, payout, **kwargs) -> None:
    from plixo.cashapp.payouts import payout_reported

    payout_reported(payout=payout)
