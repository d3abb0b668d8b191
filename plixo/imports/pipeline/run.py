"""decode → map headers → validate rows → load → summary + reject log, streaming.

Rows are read one at a time and handled in chunks of `CHUNK_ROWS`; nothing holds the whole
file. Each chunk is loaded in its own transaction, together with the timeline events, money
rows and duplicate keys it writes: a failure part-way leaves whole chunks loaded and the
failing chunk not at all, never half an invoice. "All or nothing" validates the whole file
first (nothing written) and then loads it in one transaction, only if no row was rejected.
"""

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection, transaction

from plixo.core.seeding.rows import BulkTable
from plixo.imports.models import ImportBatch, ImportedKey
from plixo.imports.pipeline import decode, headers, load, validate
from plixo.imports.pipeline.reject_log import RejectLogWriter, restore_cell

# Large enough that the per-chunk lookups and commits are a small share of the work, small
# enough that a chunk's rows (cells, values, parameters) stay a few megabytes.
CHUNK_ROWS = 5000
# SQLite page cache while a pass writes (KiB). The default 2 MB keeps spilling the pages of the
# random-UUID indexes to the write-ahead log once the tables outgrow it; this bounds the cost
# (and the memory) whatever the file's size.
SQLITE_CACHE_KIB = 64 * 1024


@contextmanager
def write_settings():
    """A larger SQLite page cache for the duration of a pass, restored afterwards. Durability
    settings stay as they are: a committed chunk is kept even if the machine stops."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KIB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


class FileRejected(Exception):
    """The whole file is refused before any row is read; nothing is written."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(message)


@dataclass
class Stats:
    rows: int = 0
    accepted: int = 0
    created: int = 0
    updated: int = 0
    errors: Counter = field(default_factory=Counter)

    @property
    def rejected(self) -> int:
        return self.rows - self.accepted


@dataclass
class Opened:
    dialect: decode.Dialect
    header_index: int
    mapping: headers.HeaderMap


def open_file(stream, kind: str) -> Opened:
    """Settle the encoding and find the header, or refuse the file whole."""
    try:
        dialect = decode.open_dialect(stream)
    except decode.UndecodableFile as exc:
        raise FileRejected("undecodable_file", str(exc)) from exc
    schema = headers.SCHEMAS[kind]
    reader = decode.records(stream, dialect)
    first = [record.cells or [] for record in itertools.islice(reader, headers.HEADER_SEARCH_LINES)]
    reader.close()
    found = headers.find_header(schema, first)
    if found is None:
        raise FileRejected("empty_file", "The file is empty: it has no header row and no rows.")
    index, mapping = found
    if mapping.missing:
        seen = ", ".join(repr(h) for h in mapping.headers if h.strip())[:500] or "none"
        raise FileRejected(
            "missing_required_header",
            f"Required column{'s' if len(mapping.missing) > 1 else ''} missing: "
            f"{', '.join(mapping.missing)}. The file's headers are: {seen}.",
        )
    return Opened(dialect=dialect, header_index=index, mapping=mapping)


def body_records(stream, opened: Opened) -> Iterator[decode.Record]:
    stream.seek(0)
    return itertools.islice(decode.records(stream, opened.dialect), opened.header_index + 1, None)


class Pass:
    """One walk over the rows: validate, find duplicates, load (or only check) each chunk."""

    def __init__(self, batch: ImportBatch, opened: Opened, *, write: bool, dedupe: bool):
        self.batch = batch
        self.kind = batch.kind
        self.mapping = opened.mapping
        self.positions = list(opened.mapping.positions.items())
        self.width = len(opened.mapping.headers)
        self.restore = opened.mapping.is_reject_log
        self.validator = validate.VALIDATORS[batch.kind]
        self.context = validate.Context(
            date_format=batch.date_format,
            default_currency=batch.organization.base_currency,
        )
        self.loader = load.LOADERS[batch.kind](batch)
        self.write, self.dedupe = write, dedupe
        self.keys = BulkTable(ImportedKey, ("batch", "key"))
        self.stats = Stats()
        # What the committed chunks add up to, for the summary of a run that fails part-way.
        self.committed = Stats()
        self.log = RejectLogWriter(opened.mapping.headers)

    def reject(self, line: int, cells, error: validate.RowError) -> None:
        self.stats.errors[error.code] += 1
        self.log.write(
            line=line, cells=cells, column=error.column, code=error.code, message=error.message
        )

    def values(self, cells: list[str]) -> dict[str, str]:
        width = len(cells)
        if self.restore:
            return {n: restore_cell(cells[i]) if i < width else "" for n, i in self.positions}
        return {name: cells[i] if i < width else "" for name, i in self.positions}

    def run(self, records: Iterable[decode.Record], progress=None) -> Stats:
        with write_settings():
            return self._run(records, progress)

    def _run(self, records: Iterable[decode.Record], progress) -> Stats:
        chunk: list[load.Pending] = []
        for record in records:
            if record.cells is None:
                self.stats.rows += 1
                self.reject(
                    record.line, None, validate.RowError("", "malformed_row", record.problem)
                )
                continue
            cells = record.cells
            if not "".join(cells).strip():
                continue  # blank lines are not rows
            self.stats.rows += 1
            if len(cells) > self.width and any(c.strip() for c in cells[self.width :]):
                self.reject(
                    record.line,
                    cells,
                    validate.RowError(
                        "",
                        "malformed_row",
                        f"This row has {len(cells)} cells but the header has {self.width}; "
                        "check for an unquoted delimiter.",
                    ),
                )
                continue
            try:
                row = self.validator(self.values(cells), self.context)
            except validate.RowError as error:
                self.reject(record.line, cells, error)
                continue
            chunk.append(load.Pending(record.line, cells, row))
            if len(chunk) >= CHUNK_ROWS:
                self.flush(chunk)
                chunk = []
                if progress:
                    progress(self.stats.rows)
        self.flush(chunk)
        if self.write:
            with transaction.atomic():
                self.loader.finish(write=True, clean=self.stats.rejected == 0)
        return self.stats

    def flush(self, chunk: list[load.Pending]) -> None:
        if not chunk:
            return
        with transaction.atomic():
            if self.dedupe:
                chunk = self._drop_duplicates(chunk)
            outcome = self.loader.load(chunk, write=self.write)
            for pending, error in outcome.rejects:
                self.reject(pending.line, pending.cells, error)
            rejected = outcome.rejected_lines
            accepted = [p for p in chunk if p.line not in rejected]
            if self.dedupe:
                self.keys.insert(
                    [
                        (self.batch.pk, key)
                        for pending in accepted
                        for _, key in validate.natural_keys(self.kind, pending.row)
                    ]
                )
        self.stats.accepted += len(accepted)
        self.stats.created += outcome.created
        self.stats.updated += outcome.updated
        if self.write:
            self.committed = Stats(
                rows=self.stats.rows,
                accepted=self.stats.accepted,
                created=self.stats.created,
                updated=self.stats.updated,
                errors=Counter(self.stats.errors),
            )

    def _drop_duplicates(self, chunk: list[load.Pending]) -> list[load.Pending]:
        """A key seen earlier in the file (in this chunk, or loaded by an earlier one) makes
        the row a duplicate; the first occurrence wins."""
        keyed = [(p, validate.natural_keys(self.kind, p.row)) for p in chunk]
        earlier = set(
            ImportedKey.objects.filter(
                batch=self.batch, key__in=[key for _, keys in keyed for _, key in keys]
            )
            .order_by()
            .values_list("key", flat=True)
        )
        kept = []
        for pending, keys in keyed:
            clash = next(((col, key) for col, key in keys if key in earlier), None)
            earlier.update(key for _, key in keys)
            if clash:
                column, key = clash[0], clash[1].split(":", 1)[1]
                message = f"An earlier row of this file has the same {column} ({key})."
                if column == "is_primary":
                    message = (
                        f"An earlier row of this file already makes the primary contact of {key}."
                    )
                self.reject(
                    pending.line,
                    pending.cells,
                    validate.RowError(column, "duplicate_row", message),
                )
                continue
            kept.append(pending)
        return kept
