"""Support staff see the job table, the scheduler lease and maintenance state read-only;
pausing and resuming go through the same services as the CLI and the Ops page."""

from django.contrib import admin, messages

from plixo.ops import services
from plixo.ops.jobs import UnknownJob
from plixo.ops.models import Job, MaintenanceState, SchedulerLease


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(ReadOnlyAdmin):
    list_display = (
        "name",
        "every_seconds",
        "paused",
        "last_status",
        "last_run_at",
        "next_run_at",
        "run_count",
    )
    list_filter = ("paused", "last_status")
    search_fields = ("name",)
    actions = ("pause_jobs", "resume_jobs")

    def _each(self, request, queryset, action, verb):
        done = []
        for job in queryset:
            try:
                action(name=job.name, actor_label=str(request.user))
            except UnknownJob as exc:
                self.message_user(request, str(exc), messages.WARNING)
            else:
                done.append(job.name)
        if done:
            self.message_user(request, f"{verb}: {', '.join(done)}.")

    @admin.action(description="Pause the selected jobs")
    def pause_jobs(self, request, queryset):
        self._each(request, queryset, services.job_pause, "Paused")

    @admin.action(description="Resume the selected jobs")
    def resume_jobs(self, request, queryset):
        self._each(request, queryset, services.job_resume, "Resumed")


@admin.register(SchedulerLease)
class SchedulerLeaseAdmin(ReadOnlyAdmin):
    list_display = ("name", "holder", "expires_at", "last_tick_at")


@admin.register(MaintenanceState)
class MaintenanceStateAdmin(ReadOnlyAdmin):
    list_display = ("enabled", "message", "changed_at", "changed_by_label")
