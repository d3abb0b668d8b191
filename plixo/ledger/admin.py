"""Ledger admin for support staff, scoped by organization (see `plixo.core.admin`).

Customers and contacts are edited through the ledger services. Money never moves here: an
invoice's amount, balance and status are read-only (payments, voids and write-offs have their
own services and leave a timeline), and payments and timelines are read-only.
"""

from django.contrib import admin

from plixo.core.admin import (
    OrganizationScopedAdmin,
    ReadOnlyAdminMixin,
    ServiceErrorsAsMessages,
)
from plixo.ledger import services
from plixo.ledger.models import (
    Allocation,
    Contact,
    Customer,
    Invoice,
    InvoiceAdjustment,
    LedgerError,
    Payment,
    TimelineEvent,
)


def _adopt(obj, created) -> None:
    """Let the admin carry on (log entry, redirect) with the row the service created."""
    obj.pk = created.pk
    obj.public_id = created.public_id
    obj._state.adding = False


class LedgerAdmin(ServiceErrorsAsMessages, OrganizationScopedAdmin):
    service_errors = (LedgerError,)

    def has_delete_permission(self, request, obj=None):
        # Ledger rows carry history (invoices, payments, timelines point at them).
        return False


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class ContactInline(ReadOnlyInline):
    model = Contact
    fields = ("name", "email", "role", "is_primary", "suppressed_until", "suppression_reason")


@admin.register(Customer)
class CustomerAdmin(LedgerAdmin):
    list_display = (
        "name",
        "external_id",
        "organization",
        "segment",
        "owner",
        "currency",
        "country",
        "risk_score",
    )
    list_filter = ("segment", "currency")
    list_select_related = ("organization", "owner")
    search_fields = ("name", "external_id")
    autocomplete_fields = ("owner",)
    fields = (
        "organization",
        "external_id",
        "name",
        "segment",
        "owner",
        "time_zone",
        "country",
        "currency",
        "risk_score",
        "public_id",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("public_id", "created_at", "updated_at")
    inlines = (ContactInline,)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "organization") if obj is not None else fields

    def save_model(self, request, obj, form, change):
        values = {name: getattr(obj, name) for name in services.CUSTOMER_FIELDS}
        if change:
            changed = {
                name: getattr(obj, name)
                for name in (*services.CUSTOMER_FIELDS, "external_id")
                if name in form.changed_data
            }
            services.customer_update(customer=obj, **changed)
            return
        name = values.pop("name")
        created = services.customer_create(
            organization=obj.organization, external_id=obj.external_id, name=name, **values
        )
        _adopt(obj, created)


@admin.register(Contact)
class ContactAdmin(LedgerAdmin):
    list_display = ("email", "name", "customer", "organization", "is_primary", "is_suppressed")
    list_filter = ("is_primary",)
    list_select_related = ("customer", "organization")
    search_fields = ("email", "name", "customer__name")
    autocomplete_fields = ("customer",)
    fields = (
        "customer",
        "name",
        "email",
        "role",
        "is_primary",
        "suppressed_until",
        "suppression_reason",
    )

    @admin.display(boolean=True, description="suppressed")
    def is_suppressed(self, obj):
        return obj.is_suppressed

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "customer") if obj is not None else fields

    def save_model(self, request, obj, form, change):
        if change:
            changed = {
                name: getattr(obj, name)
                for name in services.CONTACT_FIELDS
                if name in form.changed_data
            }
            services.contact_update(contact=obj, **changed)
            return
        values = {name: getattr(obj, name) for name in services.CONTACT_FIELDS}
        email = values.pop("email")
        created = services.contact_create(customer=obj.customer, email=email, **values)
        _adopt(obj, created)


class AllocationInline(ReadOnlyInline):
    model = Allocation
    fk_name = "invoice"
    fields = ("payment", "amount", "created_at")


class PaymentAllocationInline(ReadOnlyInline):
    model = Allocation
    fk_name = "payment"
    fields = ("invoice", "amount", "created_at")


class AdjustmentInline(ReadOnlyInline):
    model = InvoiceAdjustment
    fields = ("kind", "amount", "reason", "created_by", "created_at")


class TimelineInline(ReadOnlyInline):
    model = TimelineEvent
    fields = ("at", "kind", "actor_label", "data")
    ordering = ("-at", "-id")


INVOICE_EDITABLE_IN_ADMIN = ("issue_date", "due_date", "po_number", "description")


@admin.register(Invoice)
class InvoiceAdmin(LedgerAdmin):
    list_display = (
        "number",
        "customer",
        "organization",
        "status",
        "currency",
        "amount",
        "balance",
        "issue_date",
        "due_date",
    )
    list_filter = ("status", "currency")
    list_select_related = ("customer", "organization")
    search_fields = ("number", "customer__name", "po_number")
    fields = (
        "organization",
        "customer",
        "number",
        "status",
        "currency",
        "amount",
        "balance",
        *INVOICE_EDITABLE_IN_ADMIN,
        "public_id",
        "created_at",
        "updated_at",
    )
    inlines = (AllocationInline, AdjustmentInline, TimelineInline)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.is_open:
            return tuple(f for f in self.fields if f not in INVOICE_EDITABLE_IN_ADMIN)
        return self.fields

    def has_add_permission(self, request):
        # Invoices come from the app, imports and the API, each with its timeline.
        return False

    def save_model(self, request, obj, form, change):
        changed = {
            name: getattr(obj, name)
            for name in INVOICE_EDITABLE_IN_ADMIN
            if name in form.changed_data
        }
        if changed:
            services.invoice_update(invoice=obj, actor=request.user, **changed)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "reference",
        "organization",
        "customer",
        "amount",
        "allocated_amount",
        "currency",
        "received_at",
        "method",
        "source",
    )
    list_filter = ("method", "source", "currency")
    list_select_related = ("organization", "customer")
    search_fields = ("reference", "customer__name", "memo")
    inlines = (PaymentAllocationInline,)


@admin.register(TimelineEvent)
class TimelineEventAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("at", "invoice", "kind", "actor_label")
    list_filter = ("kind",)
    list_select_related = ("invoice", "organization")
    search_fields = ("invoice__number", "actor_label")
