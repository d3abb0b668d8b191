from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "plixo.payments"
    label = "payments"
