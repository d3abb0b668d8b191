from django.apps import AppConfig


class DisputesConfig(AppConfig):
    name = "plixo.disputes"
    label = "disputes"

    def ready(self) -> None:
        from plixo.core.templatetags.plixo import register_event_describer
        from plixo.disputes.templatetags.disputes import describe_dispute_event

        register_event_describer(describe_dispute_event)
