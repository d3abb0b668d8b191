"""Django admin for support staff, scoped by organization.

Superusers see everything. Other staff (`is_staff`, with the usual model permissions, e.g.
through a "Support" group) see only rows of organizations they are active members of: lists,
change pages, foreign-key choices and filters are all cut to those organizations, and another
organization's row answers like a missing one. Writes go through the same services as the app,
so access changes keep their audit trail and ledger changes their timeline.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect

from plixo.core import services
from plixo.core.models import AuditEvent, Membership, Organization, Role, User
from plixo.core.selectors import memberships_for_user

_CACHE_ATTR = "_plixo_admin_organization_ids"


def admin_organization_ids(request) -> frozenset[int] | None:
    """Ids of the organizations this staff member may see in the admin; None means all."""
    if request.user.is_superuser:
        return None
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        cached = frozenset(m.organization_id for m in memberships_for_user(user=request.user))
        setattr(request, _CACHE_ATTR, cached)
    return cached


class OrganizationListFilter(admin.SimpleListFilter):
    """Filter by organization, offering only the organizations the staff member may see."""

    title = "organization"
    parameter_name = "organization"

    def __init__(self, request, params, model, model_admin):
        self.model_admin = model_admin
        super().__init__(request, params, model, model_admin)

    def lookups(self, request, model_admin):
        organizations = Organization.objects.order_by("name")
        ids = admin_organization_ids(request)
        if ids is not None:
            organizations = organizations.filter(pk__in=ids)
        return [(str(org.pk), org.name) for org in organizations]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        try:
            organization_id = int(self.value())
        except ValueError:
            return queryset.none()
        return queryset.filter(**{self.model_admin.organization_lookup: organization_id})


class ServiceErrorsAsMessages:
    """A service refusing a change (a rule of the domain) is shown to the user, not a 500.

    The change view runs in a transaction, so the refused change leaves nothing behind.
    """

    service_errors: tuple[type[Exception], ...] = (ValidationError,)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except self.service_errors as exc:
            text = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            self.message_user(request, f"Not saved: {text}", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Cuts everything the admin shows to the staff member's organizations."""

    organization_lookup = "organization"  # ORM path from the model to its organization('s id)
    # Counting a million-row table on every page is slow and tells support nothing.
    show_full_result_count = False

    def scope(self, queryset, organization_ids):
        return queryset.filter(**{f"{self.organization_lookup}__in": organization_ids})

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = admin_organization_ids(request)
        return queryset if ids is None else self.scope(queryset, ids)

    def get_list_filter(self, request):
        return (*super().get_list_filter(request), OrganizationListFilter)

    def _scoped_choices(self, request, model):
        related_admin = self.admin_site._registry.get(model)
        if isinstance(related_admin, OrganizationScopedAdmin):
            return related_admin.get_queryset(request)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = self._scoped_choices(request, db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ReadOnlyAdminMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(OrganizationScopedAdmin):
    organization_lookup = "pk"
    list_display = ("name", "slug", "base_currency", "time_zone", "locale", "is_live")
    list_filter = ("is_live", "base_currency")
    search_fields = ("name", "slug")
    readonly_fields = ("public_id", "created_at")

    def get_list_filter(self, request):
        return self.list_filter

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "slug") if obj is not None else fields

    def has_add_permission(self, request):
        # A new organization starts with no members, so only a superuser could see it.
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class MembershipAdminForm(forms.ModelForm):
    reason = forms.CharField(
        max_length=500,
        help_text="Required: every access change keeps its reason in the audit trail.",
    )

    class Meta:
        model = Membership
        fields = ("user", "organization", "role", "approval_limit")

    def clean(self):
        cleaned = super().clean()
        membership = self.instance
        role = cleaned.get("role")
        if (
            membership.pk
            and role
            and role != Role.CONTROLLER
            and membership.role == Role.CONTROLLER
            and not Membership.objects.filter(
                organization_id=membership.organization_id, role=Role.CONTROLLER, is_active=True
            )
            .exclude(pk=membership.pk)
            .exists()
        ):
            self.add_error("role", "The organization's last Controller cannot lose that role.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(ServiceErrorsAsMessages, OrganizationScopedAdmin):
    form = MembershipAdminForm
    list_display = ("user", "organization", "role", "approval_limit", "is_active", "created_at")
    list_filter = ("role", "is_active")
    list_select_related = ("user", "organization")
    search_fields = ("user__email", "user__full_name", "organization__name")
    autocomplete_fields = ("user",)
    readonly_fields = ("is_active", "public_id", "created_at")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "user", "organization") if obj is not None else fields

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data["reason"]
        if change:
            services.membership_change(
                membership=obj,
                actor=request.user,
                reason=reason,
                role=obj.role,
                approval_limit=obj.approval_limit,
            )
            return
        created = services.membership_add(
            organization=obj.organization,
            user=obj.user,
            role=obj.role,
            approval_limit=obj.approval_limit,
            actor=request.user,
            reason=reason,
        )
        obj.pk, obj.public_id, obj.created_at = created.pk, created.public_id, created.created_at
        obj._state.adding = False

    def has_delete_permission(self, request, obj=None):
        # Removing access is a role or activity change with a reason, never a silent delete.
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = ("at", "organization", "action", "subject", "actor_label", "reason")
    list_filter = ("action",)
    list_select_related = ("organization", "subject")
    search_fields = ("reason", "actor_label", "subject__email")
    date_hierarchy = "at"


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(OrganizationScopedAdmin, DjangoUserAdmin):
    form = UserEditForm
    add_form = UserCreationForm
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("full_name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    list_display = ("email", "full_name", "is_active", "is_staff", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    readonly_fields = ("last_login", "date_joined")
    _SUPERUSER_ONLY = ("is_staff", "is_superuser", "groups", "user_permissions")

    def scope(self, queryset, organization_ids):
        members = Membership.objects.filter(organization_id__in=organization_ids)
        return queryset.filter(pk__in=members.values("user_id"))

    def get_list_filter(self, request):
        return self.list_filter

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return fields
        # Staff cannot hand out staff or superuser rights, their own included.
        return (*fields, *self._SUPERUSER_ONLY)

    def has_add_permission(self, request):
        # A new user belongs to no organization yet, so only a superuser could see it.
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser
