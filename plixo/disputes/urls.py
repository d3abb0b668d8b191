from django.urls import path

from plixo.disputes import views

app_name = "disputes"

urlpatterns = [
    path("disputes/", views.queue, name="queue"),
    path("disputes/settings/", views.settings_page, name="settings"),
    path("disputes/settings/holidays/", views.holiday_add, name="holiday-add"),
    path(
        "disputes/settings/holidays/<uuid:holiday_id>/delete/",
        views.holiday_delete,
        name="holiday-delete",
    ),
    path("disputes/settings/rules/", views.rule_add, name="rule-add"),
    path(
        "disputes/settings/rules/<uuid:routing_rule_id>/delete/",
        views.rule_delete,
        name="rule-delete",
    ),
    path("disputes/settings/rules/<uuid:routing_rule_id>/move/", views.rule_move, name="rule-move"),
    path("disputes/<uuid:dispute_id>/", views.detail, name="detail"),
    path("disputes/<uuid:dispute_id>/assign/", views.assign, name="assign"),
    path("disputes/<uuid:dispute_id>/route/", views.route, name="route"),
    path("disputes/<uuid:dispute_id>/review/", views.review, name="review"),
    path("disputes/<uuid:dispute_id>/resolve/", views.resolve, name="resolve"),
    path("invoices/<uuid:invoice_id>/disputes/new/", views.dispute_log, name="log"),
    path(
        "disputes/attachments/<uuid:attachment_id>/",
        views.attachment_download,
        name="attachment-download",
    ),
]
