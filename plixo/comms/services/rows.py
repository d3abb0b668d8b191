"""Batch writes for the cadence engine: one prepared statement run for every row
(executemany), where Django's bulk helpers cost more than the writes themselves."""

import structlog
from django.db import connection

from plixo.comms.models import (
    CadenceEnrollment,
)

log = structlog.get_logger("plixo.comms")


ENROLLMENT_FIELDS = ("cadence", "state", "reason", "next_action_at", "last_offset", "followup")


def enrollments_save(enrollments: list[CadenceEnrollment]) -> None:
    """Write the judged enrollments back: one prepared UPDATE by primary key, run for every row
    (executemany). `bulk_update` builds a CASE … WHEN per field with a branch per row, which
    every row then walks: it cost most of a tick's time at 1,000 rows a batch."""
    if not enrollments:
        return
    meta = CadenceEnrollment._meta
    quote = connection.ops.quote_name
    fields = [meta.get_field(name) for name in (*ENROLLMENT_FIELDS, "updated_at")]
    sql = (
        f"UPDATE {quote(meta.db_table)} SET "  # noqa: S608 - names from the model, values bound
        + ", ".join(f"{quote(f.column)} = %s" for f in fields)
        + f" WHERE {quote(meta.pk.column)} = %s"
    )
    rows = [
        (
            *(f.get_db_prep_save(getattr(e, f.attname), connection) for f in fields),
            e.pk,
        )
        for e in enrollments
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def rows_insert(objs: list) -> None:
    """INSERT new rows of one model with a single prepared statement run for each row
    (executemany). `bulk_create` compiles a statement for every few dozen rows (SQLite allows
    999 parameters, and a message has 40 columns), which cost more than writing the rows.
    Primary keys are not read back: callers refer to rows by `public_id`."""
    if not objs:
        return
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(fields))})"
    )
    rows = [
        tuple(f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields) for obj in objs
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)
