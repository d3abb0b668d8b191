from django.urls import path

from plixo.workspace import views

app_name = "workspace"

urlpatterns = [
    path("queue/", views.queue, name="queue"),
    path("queue/rule/", views.rule, name="rule"),
    path("queue/invoices/<uuid:invoice_id>/", views.inspect, name="inspect"),
    path("queue/invoices/<uuid:invoice_id>/send/", views.send_draft, name="send"),
    path("queue/invoices/<uuid:invoice_id>/promise/", views.promise_add, name="promise"),
    path("queue/invoices/<uuid:invoice_id>/plan/", views.plan_add, name="plan"),
    path("queue/invoices/<uuid:invoice_id>/write/", views.write, name="write"),
    path("queue/invoices/<uuid:invoice_id>/suppress/", views.suppress, name="suppress"),
    path("queue/invoices/<uuid:invoice_id>/escalate/", views.escalate, name="escalate"),
    path(
        "queue/escalations/<uuid:escalation_id>/decide/",
        views.escalation_decide,
        name="escalation-decide",
    ),
    path(
        "queue/escalations/<uuid:escalation_id>/dismiss/",
        views.escalation_dismiss,
        name="escalation-dismiss",
    ),
]
