"""Raw row inserts for million-row loads: `COPY` on PostgreSQL, `executemany` on SQLite.

`bulk_create` spends most of a million-row load building model instances and compiling SQL, and
it cannot hand back primary keys from `executemany`. Here the caller (the import pipeline's
loader, the synthetic seeder) builds plain tuples, reserves primary keys up front (the sequence
on PostgreSQL; the current maximum under SQLite's write lock, which the caller's transaction
holds) and writes them in one statement per batch.

Values are prepared as Django would prepare them (`Field.get_db_prep_save`); for the hot column
types a direct equivalent is used instead, and a test holds the two to the same output. Columns
the caller does not name get the field's default (per row for callables such as `uuid4`), `now`
for `auto_now`/`auto_now_add`, or the empty value Django itself would use.

Only Django's database layer is used here, so every app may build on it.
"""

import datetime as dt
from collections.abc import Callable, Sequence

from django.core.exceptions import ImproperlyConfigured
from django.db import connection as default_connection
from django.db import models
from django.utils import timezone

SUPPORTED_VENDORS = ("postgresql", "sqlite")


def _identity(value):
    return value


def fast_adapter(field: models.Field, connection) -> Callable | None:
    """A cheaper equivalent of `field.get_db_prep_save` for common column types, or None."""
    vendor = connection.vendor
    if isinstance(field, models.ForeignKey | models.AutoField | models.BigAutoField):
        return _identity
    if isinstance(field, models.JSONField):
        return None
    if isinstance(
        field,
        models.CharField
        | models.TextField
        | models.IntegerField
        | models.BooleanField
        | models.DecimalField,
    ):
        # Decimals go to the driver as they are on both backends; callers pass Decimals.
        return _identity
    if isinstance(field, models.DateTimeField):
        if vendor == "postgresql":
            return _identity
        db_zone = connection.timezone

        def sqlite_datetime(value):
            if value is None:
                return None
            return str(value.astimezone(db_zone).replace(tzinfo=None))

        return sqlite_datetime
    if isinstance(field, models.DateField):
        return _identity if vendor == "postgresql" else (lambda v: None if v is None else str(v))
    if isinstance(field, models.UUIDField):
        return _identity if vendor == "postgresql" else (lambda v: None if v is None else v.hex)
    return None


class BulkTable:
    """Insert rows of `model` given as tuples in `columns` order (field names; "id" optional)."""

    def __init__(self, model: type[models.Model], columns: Sequence[str], connection=None):
        self.connection = connection or default_connection
        if self.connection.vendor not in SUPPORTED_VENDORS:
            raise ImproperlyConfigured(
                f"Bulk inserts support {' and '.join(SUPPORTED_VENDORS)}, "
                f"not {self.connection.vendor}."
            )
        self.model = model
        meta = model._meta
        self.given = [meta.get_field(name) for name in columns]
        given_names = {field.name for field in self.given}
        self.extra = [f for f in meta.concrete_fields if f.name not in given_names]
        for field in self.extra:
            if not (
                field.primary_key
                or field.has_default()
                or field.null
                or field.empty_strings_allowed
                or _is_auto_now(field)
            ):
                raise ImproperlyConfigured(
                    f"A bulk insert into {meta.label} needs a value for {field.name}."
                )
        self.extra = [f for f in self.extra if not f.primary_key]
        fields = self.given + self.extra
        self.preps = [self._prep_for(field) for field in fields]
        quote = self.connection.ops.quote_name
        self.table = quote(meta.db_table)
        self.column_sql = ", ".join(quote(field.column) for field in fields)
        self._last_reserved = 0

    def _prep_for(self, field):
        fast = fast_adapter(field, self.connection)
        if fast is not None:
            return fast
        connection = self.connection
        return lambda value: field.get_db_prep_save(value, connection)

    def reserve_ids(self, count: int) -> list[int]:
        """Primary keys for `count` new rows; call inside the transaction that inserts them."""
        if count <= 0:
            return []
        pk = self.model._meta.pk
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [self.model._meta.db_table, pk.column, count],
                )
                return [row[0] for row in cursor.fetchall()]
            cursor.execute(
                f"SELECT COALESCE(MAX({self.connection.ops.quote_name(pk.column)}), 0) "  # noqa: S608
                f"FROM {self.table}"
            )
            first = max(cursor.fetchone()[0], self._last_reserved) + 1
        self._last_reserved = first + count - 1
        return list(range(first, first + count))

    def _tail(self, now: dt.datetime) -> tuple[list, list[tuple[int, Callable]]]:
        """Values for the columns the caller does not give: constants once, callables per row."""
        tail, per_row = [], []
        for offset, field in enumerate(self.extra, start=len(self.given)):
            if _is_auto_now(field):
                tail.append(now)
            elif field.has_default() and callable(field.default):
                tail.append(None)
                per_row.append((offset, field.get_default))
            else:
                # The field's default, or "" / NULL as Django itself would use.
                tail.append(field.get_default())
        return tail, per_row

    def insert(self, rows: Sequence[tuple]) -> None:
        if not rows:
            return
        tail, per_row = self._tail(timezone.now())
        convert = [(index, prep) for index, prep in enumerate(self.preps) if prep is not _identity]
        prepared = []
        for row in rows:
            values = [*row, *tail]
            for index, make in per_row:
                values[index] = make()
            for index, prep in convert:
                values[index] = prep(values[index])
            prepared.append(values)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(
                    f"COPY {self.table} ({self.column_sql}) FROM STDIN"
                ) as copy:
                    for row in prepared:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(self.preps))
                cursor.executemany(
                    f"INSERT INTO {self.table} ({self.column_sql}) VALUES ({marks})",  # noqa: S608
                    prepared,
                )


def _is_auto_now(field) -> bool:
    return bool(getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False))
