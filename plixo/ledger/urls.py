from django.urls import path

from plixo.ledger import views

app_name = "ledger"

urlpatterns = [
    path("invoices/", views.invoice_list_view, name="invoice-list"),
    path("invoices/<uuid:invoice_id>/", views.invoice_detail, name="invoice-detail"),
    path(
        "invoices/<uuid:invoice_id>/payments/",
        views.invoice_record_payment,
        name="invoice-record-payment",
    ),
    path("invoices/<uuid:invoice_id>/void/", views.invoice_void_view, name="invoice-void"),
    path(
        "invoices/<uuid:invoice_id>/promise-remainder/",
        views.invoice_promise_remainder,
        name="invoice-promise-remainder",
    ),
    path(
        "invoices/<uuid:invoice_id>/dispute-remainder/",
        views.invoice_dispute_remainder,
        name="invoice-dispute-remainder",
    ),
    path(
        "invoices/<uuid:invoice_id>/write-off/",
        views.invoice_write_off_view,
        name="invoice-write-off",
    ),
    path("customers/", views.customer_list_view, name="customer-list"),
    path("customers/<uuid:customer_id>/", views.customer_detail, name="customer-detail"),
    path("customers/<uuid:customer_id>/team/", views.customer_team, name="customer-team"),
    path("payments/", views.payment_list_view, name="payment-list"),
]
