from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "plixo.comms"
    label = "comms"
    verbose_name = "Cadences and email"

    def ready(self) -> None:
        from anymail.signals import tracking

        from plixo.comms.tracking import tracking_received

        # Bounces, complaints and deliveries from the email provider's webhooks.
        tracking.connect(tracking_received, dispatch_uid="plixo.comms.tracking")
