from django.apps import AppConfig


class NotesConfig(AppConfig):
    name = "plixo.notes"
    label = "notes"
    verbose_name = "Internal notes and mentions"
