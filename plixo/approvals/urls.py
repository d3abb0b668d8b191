from django.urls import path

from plixo.approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<uuid:approval_id>/approve/", views.approve, name="approve"),
    path("<uuid:approval_id>/reject/", views.reject, name="reject"),
    path("<uuid:approval_id>/cancel/", views.cancel, name="cancel"),
    path("limits/", views.limits, name="limits"),
    path("limits/role/", views.role_limit_set, name="role-limit-set"),
    path("limits/routes/", views.route_set, name="route-set"),
    path("limits/routes/<uuid:route_id>/delete/", views.route_delete, name="route-delete"),
]
