"""The raw row writer for the tables an invoice import fills, tuned for a million rows.

`BulkTable` prepares every value of every row through the column's adapter. An import's rows
repeat most values (the same few hundred dates, one timestamp per chunk, one actor), so here the
timestamp adapter remembers what it produced; a JSON column takes text the loader has
already encoded (its values are codes, dates and decimals, so a template is exact and much
cheaper than `json.dumps` per row); and the random public ids are made as text directly
instead of through `uuid.UUID` objects.
"""

import json
import os
import uuid
from functools import lru_cache

from django.db import models

from plixo.core.bulk import BulkTable

# Version 4, RFC 4122 variant: the bits `uuid.uuid4` sets, applied to 128 random bits.
_V4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET = (0x4000 << 64) | (0x8000 << 48)


class Uuid4Texts:
    """Random (version 4) UUIDs as 32 hex digits, which both databases read as a UUID; the
    random bytes are drawn a block at a time rather than one system call per row."""

    BLOCK = 256

    def __init__(self):
        self._pending: list[str] = []

    def __call__(self) -> str:
        if not self._pending:
            raw = os.urandom(16 * self.BLOCK)
            self._pending = [
                "%032x" % ((int.from_bytes(raw[i : i + 16]) & _V4_CLEAR) | _V4_SET)  # noqa: UP031
                for i in range(0, len(raw), 16)
            ]
        return self._pending.pop()


def _json_text(value):
    # Text is JSON the caller already encoded; anything else is encoded here.
    return value if value is None or value.__class__ is str else json.dumps(value)


def _uuid_text(value):
    return value if value is None or value.__class__ is str else value.hex


class ImportTable(BulkTable):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._uuid4 = Uuid4Texts()

    def _prep_for(self, field):
        if isinstance(field, models.JSONField):
            return _json_text
        if isinstance(field, models.UUIDField):
            return _uuid_text
        prep = super()._prep_for(field)
        if isinstance(field, models.DateTimeField) and self.connection.vendor == "sqlite":
            # A pure function of the value, and a chunk's rows share a handful of timestamps.
            return lru_cache(maxsize=64)(prep)
        return prep

    def _tail(self, now):
        tail, per_row = super()._tail(now)
        random_ids = [f for f in self.extra if getattr(f, "default", None) is uuid.uuid4]
        return tail, [
            (offset, self._uuid4 if getattr(make, "__self__", None) in random_ids else make)
            for offset, make in per_row
        ]
