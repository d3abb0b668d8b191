from django.urls import path

from plixo.cashapp import views

app_name = "cashapp"

# Actions name their objects in the form body (receipt, suggestion, application).
urlpatterns = [
    path("", views.cash_index, name="index"),
    path("apply/", views.cash_apply, name="apply"),
    path("reject/", views.cash_reject, name="reject"),
    path("split/", views.cash_split, name="split"),
    path("dismiss/", views.cash_dismiss, name="dismiss"),
    path("undo/", views.cash_undo, name="undo"),
    path("settings/", views.cash_settings, name="settings"),
]
