from django.urls import path

from plixo.payments import settings_views, views

app_name = "payments"

urlpatterns = [
    path("portal/sandbox/<uuid:checkout_id>/", views.sandbox_checkout, name="sandbox-checkout"),
    path("invoices/<uuid:invoice_id>/pdf/", views.invoice_pdf_download, name="invoice-pdf"),
    path("receipts/<uuid:receipt_id>/pdf/", views.receipt_pdf_download, name="receipt-pdf"),
    path("settings/payments/", settings_views.payment_settings, name="settings"),
    path(
        "settings/payments/disconnect/", settings_views.stripe_disconnect, name="stripe-disconnect"
    ),
    path("settings/payments/partial/", settings_views.partial_payments, name="partial-payments"),
]
