from django.urls import path

from plixo.disputes import views

app_name = "disputes"

urlpatterns = [
    path(
        "disputes/attachments/<uuid:attachment_id>/",
        views.attachment_download,
        name="attachment-download",
    ),
]
