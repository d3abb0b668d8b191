from django.db import migrations

OLD_DEFAULT, NEW_DEFAULT = 600, 60


def every_minute(apps, schema_editor):
    """The job registry's schedule reaches only new Job rows; move an existing one from the
    old default to the new one (a schedule an operator chose stays as it is)."""
    Job = apps.get_model("ops", "Job")
    Job.objects.filter(name="imports.fail_stalled", every_seconds=OLD_DEFAULT).update(
        every_seconds=NEW_DEFAULT
    )


def every_ten_minutes(apps, schema_editor):
    Job = apps.get_model("ops", "Job")
    Job.objects.filter(name="imports.fail_stalled", every_seconds=NEW_DEFAULT).update(
        every_seconds=OLD_DEFAULT
    )


class Migration(migrations.Migration):
    dependencies = [
        ("imports", "0003_heartbeat_rows_loaded"),
        ("ops", "0002_job_status_skipped"),
    ]

    operations = [migrations.RunPython(every_minute, every_ten_minutes)]
