from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "plixo.portal"
    label = "portal"
