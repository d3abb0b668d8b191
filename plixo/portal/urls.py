from django.urls import path

from plixo.portal import views

app_name = "portal"

urlpatterns = [
    path("p/<str:token>", views.landing, name="landing"),
    path("portal/", views.home, name="home"),
    path("portal/pay/", views.pay, name="pay"),
    path("portal/plan/", views.plan, name="plan"),
    path("portal/promise/", views.promise, name="promise"),
    path("portal/dispute/", views.dispute, name="dispute"),
    path("portal/invoice.pdf", views.invoice_pdf, name="invoice-pdf"),
    path("portal/receipts/<uuid:receipt_id>.pdf", views.receipt_pdf, name="receipt-pdf"),
    path("portal/leave/", views.leave, name="leave"),
    path("portal/renew/", views.renew, name="renew"),
    path("portal/demo", views.demo_portal, name="demo"),
    path(
        "invoices/<uuid:invoice_id>/portal-link/",
        views.link_regenerate,
        name="link-regenerate",
    ),
]
