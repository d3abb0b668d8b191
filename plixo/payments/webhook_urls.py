"""Stripe's webhook endpoint, one per organization: /webhooks/stripe/<org slug>/."""

from django.urls import path

from plixo.payments import views

app_name = "stripe-webhooks"

urlpatterns = [
    path("<slug:org_slug>/", views.stripe_webhook, name="receive"),
]
