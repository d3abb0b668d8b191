from django.apps import AppConfig


class CommitmentsConfig(AppConfig):
    name = "plixo.commitments"
    label = "commitments"
