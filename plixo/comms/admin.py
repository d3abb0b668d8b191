"""Cadences, messages and provider events in the support admin, read-only and scoped by
organization: every write goes through `comms.services`, which keep the timeline beside it."""

from django.contrib import admin

from plixo.comms.models import Cadence, EmailEvent, Message, SendingDomain
from plixo.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin


@admin.register(Cadence)
class CadenceAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("name", "organization", "is_default", "requires_approval", "is_active")
    list_filter = ("is_default", "requires_approval", "is_active")
    search_fields = ("name",)


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "invoice",
        "organization",
        "kind",
        "status",
        "to_email",
        "is_test",
        "send_after",
        "sent_at",
    )
    list_filter = ("status", "kind", "is_test")
    list_select_related = ("invoice", "organization")
    search_fields = ("invoice__number", "to_email", "intended_email", "provider_message_id")
    exclude = ("rendered_body",)


@admin.register(SendingDomain)
class SendingDomainAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("domain", "organization", "warmup_started_on", "spf", "dkim", "dmarc")


@admin.register(EmailEvent)
class EmailEventAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("provider", "kind", "recipient", "organization", "occurred_at")
    list_filter = ("provider", "kind")
    search_fields = ("recipient", "provider_message_id", "event_id")
