"""Disputes in the support admin, read-only and scoped by organization. Attachments show their
metadata only: the file itself is read through the authorised download view, never through an
admin link."""

from django.contrib import admin

from plixo.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin
from plixo.disputes.models import Dispute, DisputeAttachment

ATTACHMENT_FIELDS = ("original_name", "content_type", "size", "sha256", "uploaded_at")


class AttachmentInline(admin.TabularInline):
    model = DisputeAttachment
    fields = ATTACHMENT_FIELDS
    readonly_fields = ATTACHMENT_FIELDS
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "invoice",
        "organization",
        "reason_code",
        "amount",
        "currency",
        "status",
        "source",
        "actor_label",
        "created_at",
    )
    list_filter = ("status", "reason_code", "source")
    list_select_related = ("invoice", "organization")
    search_fields = ("invoice__number", "invoice__customer__name", "description")
    inlines = (AttachmentInline,)


@admin.register(DisputeAttachment)
class DisputeAttachmentAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("original_name", "dispute", "organization", "content_type", "size")
    list_select_related = ("dispute", "organization")
    search_fields = ("original_name", "sha256")
    fields = ("organization", "dispute", *ATTACHMENT_FIELDS)
