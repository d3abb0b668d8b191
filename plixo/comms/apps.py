from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "plixo.comms"
    label = "comms"
    verbose_name = "Cadences and email"

    def ready(self) -> None:
        from anymail.signals import tracking

        from plixo.comms.services.setup import organization_created_received
        from plixo.comms.tracking import tracking_received
        from plixo.core.signals import organization_created

        # Bounces, complaints and deliveries from the email provider's webhooks.
        tracking.connect(tracking_received, dispatch_uid="plixo.comms.tracking")
        # A new organization gets the default cadences, in the transaction that creates it.
        organization_created.connect(
            organization_created_received, dispatch_uid="plixo.comms.default_cadences"
        )
