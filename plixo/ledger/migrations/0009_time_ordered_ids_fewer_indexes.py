"""Time-ordered public ids (state only: the default is Python's), and the invoice's own
organization index dropped (every other invoice index starts with the organization).

Done as state changes with the index dropped by name: an AlterField would make SQLite rebuild
the whole table (a million rows copied) and lose the search triggers with it."""

import django.db.models.deletion
import plixo.core.ids
from django.db import migrations, models


def drop_organization_index(apps, schema_editor):
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, "ledger_invoice")
    for name, info in constraints.items():
        if info["index"] and not info["unique"] and info["columns"] == ["organization_id"]:
            schema_editor.execute(schema_editor.sql_delete_index % {
                "table": schema_editor.quote_name("ledger_invoice"),
                "name": schema_editor.quote_name(name),
            })


def create_organization_index(apps, schema_editor):
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS ledger_invoice_organization_id_idx "
        "ON ledger_invoice (organization_id)"
    )


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('ledger', '0008_invoice_search_words'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
        migrations.AlterField(
            model_name='allocation',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='contact',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='customer',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='organization',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='invoices', to='core.organization'),
        ),
        migrations.AlterField(
            model_name='invoice',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='invoiceadjustment',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='payment',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='refund',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
        migrations.AlterField(
            model_name='timelineevent',
            name='public_id',
            field=models.UUIDField(default=plixo.core.ids.uuid7, editable=False, unique=True),
        ),
                ],
            database_operations=[
                migrations.RunPython(drop_organization_index, create_organization_index),
            ],
        ),
    ]
