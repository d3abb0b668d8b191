from django.urls import path

from plixo.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.import_index, name="index"),
    path("<uuid:import_id>/", views.import_batch_detail, name="batch-detail"),
    path("<uuid:import_id>/confirm/", views.import_batch_confirm, name="batch-confirm"),
    path("<uuid:import_id>/progress/", views.import_batch_progress, name="batch-progress"),
    path("<uuid:import_id>/reject-log/", views.import_batch_reject_log, name="reject-log"),
]
