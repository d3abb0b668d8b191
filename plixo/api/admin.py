"""API keys in the admin: read-only (the secret exists only once, on the command line that
created it; only its hash is stored), with a revoke action that goes through the service."""

from django.contrib import admin, messages

from plixo.api.models import ApiKey
from plixo.api.services import api_key_revoke
from plixo.core.admin import OrganizationScopedAdmin, ReadOnlyAdminMixin


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdminMixin, OrganizationScopedAdmin):
    list_display = (
        "prefix",
        "name",
        "user",
        "organization",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = ("revoked_at",)
    list_select_related = ("user", "organization")
    search_fields = ("prefix", "name", "user__email")
    actions = ("revoke_keys",)

    def has_revoke_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Revoke the selected keys", permissions=("revoke",))
    def revoke_keys(self, request, queryset):
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key, actor=request.user, reason="Revoked in the admin")
            revoked += 1
        self.message_user(request, f"Revoked {revoked} key(s).", messages.SUCCESS)
