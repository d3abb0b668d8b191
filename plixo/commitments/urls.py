from django.urls import path

from plixo.commitments import views

app_name = "commitments"

urlpatterns = [
    path("commitments/", views.radar, name="radar"),
    path("invoices/<uuid:invoice_id>/promises/", views.promise_add, name="promise-add"),
    path("promises/<uuid:promise_id>/kept/", views.promise_kept, name="promise-kept"),
    path("promises/<uuid:promise_id>/missed/", views.promise_missed, name="promise-missed"),
    path("promises/<uuid:promise_id>/remind/", views.promise_reminder, name="promise-remind"),
    path("invoices/<uuid:invoice_id>/plans/", views.plan_add, name="plan-add"),
    path("plans/<uuid:plan_id>/", views.plan_detail, name="plan-detail"),
    path("plans/<uuid:plan_id>/accept/", views.plan_accept_view, name="plan-accept"),
    path("plans/<uuid:plan_id>/decline/", views.plan_decline_view, name="plan-decline"),
    path("plans/<uuid:plan_id>/counter/", views.plan_counter_view, name="plan-counter"),
    path("plans/<uuid:plan_id>/cancel/", views.plan_cancel_view, name="plan-cancel"),
    path("plans/<uuid:plan_id>/complete/", views.plan_complete_view, name="plan-complete"),
    path("plans/<uuid:plan_id>/resend/", views.plan_resend_view, name="plan-resend"),
    path("plans/<uuid:plan_id>/pay/", views.installment_pay, name="installment-pay"),
]
