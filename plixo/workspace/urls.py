from django.urls import path  # noqa: F401

from plixo.workspace import views  # noqa: F401

app_name = "workspace"

urlpatterns: list = []
