"""Promises and plans in the support admin, read-only and scoped by organization: they are
created through `commitments.services`, which write the invoice timeline beside them."""

from django.contrib import admin

from plixo.commitments.models import PaymentPlan, PlanInstallment, Promise
from plixo.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin


@admin.register(Promise)
class PromiseAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "invoice",
        "organization",
        "amount",
        "currency",
        "promised_on",
        "status",
        "source",
        "actor_label",
        "created_at",
    )
    list_filter = ("status", "source")
    list_select_related = ("invoice", "organization")
    search_fields = ("invoice__number", "invoice__customer__name", "actor_label")


class InstallmentInline(admin.TabularInline):
    model = PlanInstallment
    fields = ("sequence", "due_on", "amount", "paid_amount", "status")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PaymentPlan)
class PaymentPlanAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "invoice",
        "organization",
        "total",
        "currency",
        "status",
        "source",
        "actor_label",
        "created_at",
    )
    list_filter = ("status", "source")
    list_select_related = ("invoice", "organization")
    search_fields = ("invoice__number", "invoice__customer__name", "actor_label")
    inlines = (InstallmentInline,)
