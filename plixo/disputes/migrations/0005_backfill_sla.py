"""Disputes filed before SLAs existed get their deadline: the organization's default target in
business hours from when each was filed (Monday to Friday, 09:00–17:00 in the organization's
time zone, as a new organization starts), and closed ones the time they were filed as their
resolution time, the best that is known."""

import datetime as dt

from django.db import migrations

from plixo.disputes.business_hours import BusinessCalendar

DEFAULT_TARGET_HOURS = 24
WINDOW = (dt.time(9), dt.time(17))
BATCH = 500


def backfill(apps, schema_editor):
    Dispute = apps.get_model("disputes", "Dispute")
    Organization = apps.get_model("core", "Organization")
    Settings = apps.get_model("disputes", "DisputeSettings")
    Holiday = apps.get_model("disputes", "DisputeHoliday")
    calendars = {}

    def calendar_and_targets(organization_id):
        if organization_id not in calendars:
            organization = Organization.objects.get(pk=organization_id)
            found = Settings.objects.filter(organization_id=organization_id).first()
            hours = {day: (WINDOW if day < 5 else None) for day in range(7)}
            zone, default, targets = organization.time_zone or "UTC", DEFAULT_TARGET_HOURS, {}
            if found is not None:
                hours = {
                    day: (
                        (dt.time.fromisoformat(pair[0]), dt.time.fromisoformat(pair[1]))
                        if (pair := (found.business_hours or {}).get(str(day)))
                        else None
                    )
                    for day in range(7)
                }
                zone = found.time_zone or zone
                default, targets = found.default_target_hours, found.reason_targets or {}
            holidays = Holiday.objects.filter(organization_id=organization_id).values_list(
                "day", flat=True
            )
            calendar = BusinessCalendar.build(time_zone=zone, hours=hours, holidays=holidays)
            calendars[organization_id] = (calendar, default, targets)
        return calendars[organization_id]

    pending = Dispute.objects.filter(sla_due_at__isnull=True).order_by("pk")
    last = 0
    while True:
        rows = list(pending.filter(pk__gt=last)[:BATCH])
        if not rows:
            break
        for dispute in rows:
            calendar, default, targets = calendar_and_targets(dispute.organization_id)
            hours = int(targets.get(dispute.reason_code) or default)
            if calendar.has_hours:
                dispute.sla_due_at = calendar.add(dispute.created_at, hours)
            else:
                dispute.sla_due_at = dispute.created_at + dt.timedelta(hours=hours)
            if dispute.status not in ("open", "under_review") and dispute.resolved_at is None:
                dispute.resolved_at = dispute.created_at
        Dispute.objects.bulk_update(rows, ["sla_due_at", "resolved_at"])
        last = rows[-1].pk
    Dispute.objects.filter(status__in=["open", "under_review"]).update(resolved_at=None)
    Dispute.objects.exclude(status__in=["open", "under_review"]).filter(
        resolved_at__isnull=True
    ).update(resolved_at=dt.datetime.now(dt.UTC))


class Migration(migrations.Migration):
    dependencies = [("disputes", "0004_staff_side")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
