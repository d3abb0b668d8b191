"""Checkouts and receipts for support staff: read-only (money moves only through the
payments services) and scoped by organization."""

from django.contrib import admin

from plixo.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin
from plixo.payments.models import CheckoutSession, Receipt


@admin.register(CheckoutSession)
class CheckoutSessionAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "public_id",
        "organization",
        "invoice",
        "provider",
        "amount",
        "currency",
        "status",
        "failure_code",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "provider")
    list_select_related = ("organization", "invoice")
    search_fields = ("invoice__number", "provider_ref")


@admin.register(Receipt)
class ReceiptAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "number",
        "organization",
        "invoice",
        "amount",
        "currency",
        "issued_at",
        "emailed_at",
        "emailed_to",
        "email_error",
    )
    list_select_related = ("organization", "invoice")
    search_fields = ("number", "invoice__number", "emailed_to")
