from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    name = "plixo.workspace"
    label = "workspace"
    verbose_name = "Operator workspace"
