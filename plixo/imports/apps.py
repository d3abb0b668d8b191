from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "plixo.imports"
    label = "imports"
