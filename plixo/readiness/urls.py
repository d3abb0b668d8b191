from django.urls import path

from plixo.readiness import views

app_name = "readiness"

urlpatterns = [
    path("", views.index, name="index"),
    path("run/", views.run, name="run"),
    path("aging-export/", views.export_upload, name="export-upload"),
    path("override/", views.override, name="override"),
]
