"""decode → map headers → validate rows → load → summary + reject log, streaming.

Rows are read one at a time and handled in chunks of `CHUNK_ROWS`; nothing holds the whole
file. A report's headings and totals are skipped on the way (`report`), and in a file with one
row per line item the rows of an invoice are gathered into that invoice before it joins a
chunk (`lines`), so an invoice is never split across chunks. Each chunk is loaded in its own
transaction, together with the timeline events, money rows and duplicate keys it writes and
the batch's progress (rows read, rows loaded): a failure part-way leaves whole chunks loaded
and the failing chunk not at all, never half an invoice. "All or nothing" validates the whole
file first (nothing written) and then loads it in one transaction, only if no row was rejected.
"""

import itertools
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from django.db import connection, transaction

from plixo.core.bulk import BulkTable
from plixo.imports.models import ImportBatch, ImportedKey
from plixo.imports.pipeline import decode, headers, load, validate
from plixo.imports.pipeline.lines import MAX_GROUP_ROWS, Group, fields_digest, rows_text
from plixo.imports.pipeline.reject_log import RejectLogWriter, restore_cell
from plixo.imports.pipeline.report import ReportLayout

# Large enough that the per-chunk lookups and commits are a small share of the work, small
# enough that a chunk's rows (cells, values, parameters) stay a few megabytes.
CHUNK_ROWS = 5000
# SQLite page cache while a pass writes (KiB). The default 2 MB keeps spilling the pages of the
# random-UUID indexes to the write-ahead log once the tables outgrow it; this bounds the cost
# (and the memory) whatever the file's size.
SQLITE_CACHE_KIB = 64 * 1024
# Invoice numbers whose first row is remembered, to name it when a later row conflicts.
FIRST_LINES_KEPT = 50_000


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
    accepted: int = 0  # skipped rows and merged lines included: read, understood, nothing wrong
    created: int = 0
    updated: int = 0
    errors: Counter = field(default_factory=Counter)
    skipped: Counter = field(default_factory=Counter)  # reason -> rows not loaded (drafts …)
    merged: int = 0  # rows that are further lines of an invoice another row gives
    report_lines: int = 0  # headings, totals and footers of a report (not rows)

    @property
    def rejected(self) -> int:
        return self.rows - self.accepted

    def copy(self) -> "Stats":
        return replace(self, errors=Counter(self.errors), skipped=Counter(self.skipped))


@dataclass(frozen=True)
class Formats:
    """How the file writes dates and amounts, settled (never "auto")."""

    date_format: str = "iso"
    number_format: str = "point"


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
            f"{headers.missing_columns_text(mapping)} The file's headers are: {seen}."
            + headers.substitutes_text(mapping),
        )
    return Opened(dialect=dialect, header_index=index, mapping=mapping)


def body_records(stream, opened: Opened) -> Iterator[decode.Record]:
    stream.seek(0)
    return itertools.islice(decode.records(stream, opened.dialect), opened.header_index + 1, None)


class Pass:
    """One walk over the rows: validate, find duplicates, load (or only check) each chunk."""

    def __init__(
        self,
        batch: ImportBatch,
        opened: Opened,
        *,
        write: bool,
        dedupe: bool,
        formats: Formats | None = None,
    ):
        self.batch = batch
        self.kind = batch.kind
        mapping = self.mapping = opened.mapping
        self.positions = list(mapping.positions.items())
        if mapping.customer_from_group:
            # The heading's name is written into the row's first, headerless cell on reading.
            self.positions.append(("customer_name", 0))
        self.width = len(mapping.headers)
        self.restore = mapping.is_reject_log
        self.validator = validate.VALIDATORS[batch.kind]
        formats = formats or Formats(
            date_format=batch.date_format if batch.date_format != "auto" else "iso",
            number_format=batch.number_format if batch.number_format != "auto" else "point",
        )
        self.context = validate.Context(
            date_format=formats.date_format,
            default_currency=batch.organization.base_currency,
            number_format=formats.number_format,
            customers_by_name=mapping.customers_by_name,
            amount_from=mapping.amount_from,
        )
        self.layout = ReportLayout(mapping, batch.kind)
        # One row per line item: rows of one invoice are gathered into one (see `lines`).
        self.lines = batch.kind == "invoices" and mapping.line_items
        self.summed = self.lines and mapping.amount_from == "lines"
        self.first_lines: dict[str, int] = {}
        self.loader = load.LOADERS[batch.kind](batch)
        self.write, self.dedupe = write, dedupe
        self.progress = None
        self.keys = BulkTable(ImportedKey, ("batch", "key"))
        self.stats = Stats()
        # What the committed chunks add up to, for the summary of a run that fails part-way.
        self.committed = Stats()
        self.log = RejectLogWriter(mapping.headers)

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
        """Walk the rows. `progress(rows_read, rows_loaded)`, when given, is called inside each
        chunk's transaction, so what it writes commits (or rolls back) with the chunk: the
        progress other processes see is exactly what stays loaded."""
        self.progress = progress
        with write_settings():
            return self._run(records)

    def _run(self, records: Iterable[decode.Record]) -> Stats:
        chunk: list[load.Pending] = []
        group: Group | None = None
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
            if self.layout.is_furniture(cells):
                self.stats.report_lines += 1
                continue
            cells = self.layout.as_logged(cells)
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
            values = self.values(cells)
            try:
                row = self.validator(values, self.context)
            except validate.RowError as error:
                number = values.get("invoice_number", "").strip() if self.lines else ""
                if not number:
                    self.reject(record.line, cells, error)
                    continue
                if group is None or group.number != number or len(group) >= MAX_GROUP_ROWS:
                    self._close(group, chunk)
                    group = Group(number)
                group.failed.append((record.line, cells, error))
                continue
            if "skip" in row:
                self.stats.accepted += 1
                self.stats.skipped[row["skip"]] += 1
                continue
            pending = load.Pending(record.line, cells, row)
            if self.lines:
                number = row["number"]
                if group is not None and group.number == number and len(group) < MAX_GROUP_ROWS:
                    group.valid.append(pending)
                    continue
                self._close(group, chunk)
                group = Group(number, valid=[pending])
            else:
                chunk.append(pending)
            if len(chunk) >= CHUNK_ROWS:
                self.flush(chunk)
                chunk = []
        self._close(group, chunk)
        self.flush(chunk)
        if self.write:
            with transaction.atomic():
                self.loader.finish(write=True, clean=self.stats.rejected == 0)
        return self.stats

    def _close(self, group: Group | None, chunk: list[load.Pending]) -> None:
        """The invoice the rows of `group` make, into the chunk; its bad rows rejected."""
        if group is None:
            return
        pending, rejects = group.close(summed=self.summed)
        for line, cells, error in sorted(rejects, key=lambda item: item[0]):
            self.reject(line, cells, error)
        if pending is not None:
            chunk.append(pending)

    def flush(self, chunk: list[load.Pending]) -> None:
        if not chunk:
            return
        merged = 0
        with transaction.atomic():
            if self.lines:
                chunk, merged = self._merge_repeats(chunk)
            elif self.dedupe:
                chunk = self._drop_duplicates(chunk)
            outcome = self.loader.load(chunk, write=self.write)
            for pending, error in outcome.rejects:
                self.reject(pending.line, pending.cells, error)
                for line, cells in pending.members:
                    self.reject(line, cells, error)
            rejected = outcome.rejected_lines
            accepted = [p for p in chunk if p.line not in rejected]
            if self.dedupe or self.lines:
                self.keys.insert(
                    [(self.batch.pk, key) for pending in accepted for key in self._keys(pending)]
                )
            lines = sum(len(p.members) for p in accepted)
            self.stats.accepted += len(accepted) + lines + merged
            self.stats.merged += lines + merged
            self.stats.created += outcome.created
            self.stats.updated += outcome.updated
            if self.progress:
                # Skipped rows count as accepted but are not loaded.
                loaded = self.stats.accepted - sum(self.stats.skipped.values())
                self.progress(self.stats.rows, loaded if self.write else 0)
        if self.write:
            self.committed = self.stats.copy()

    def _keys(self, pending: load.Pending) -> list[str]:
        keys = [key for _, key in validate.natural_keys(self.kind, pending.row)]
        if self.lines and not self.summed:
            keys.append(self._digest_key(pending.row))
        return keys

    def _digest_key(self, row: dict) -> str:
        return f"ivf:{row['number']}|{fields_digest(row, summed=self.summed)}"

    def _merge_repeats(self, chunk: list[load.Pending]) -> tuple[list[load.Pending], int]:
        """Invoices read earlier in the file (in this chunk, or loaded by an earlier one) that
        turn up again: the same invoice fields make further lines of it, others conflict."""
        wanted = [f"inv:{p.row['number']}" for p in chunk]
        if not self.summed:
            wanted += [self._digest_key(p.row) for p in chunk]
        earlier = set(
            ImportedKey.objects.filter(batch=self.batch, key__in=wanted)
            .order_by()
            .values_list("key", flat=True)
        )
        kept, merged = [], 0
        heads: dict[str, load.Pending] = {}  # invoices of this chunk, by number
        for pending in chunk:
            number = pending.row["number"]
            key = f"inv:{number}"
            digest = None if self.summed else self._digest_key(pending.row)
            if key not in earlier:
                earlier.add(key)
                if digest:
                    earlier.add(digest)
                self._remember_first_line(number, pending.line)
                heads[number] = pending
                kept.append(pending)
                continue
            rows = [pending.line, *(line for line, _ in pending.members)]
            if digest in earlier:
                head = heads.get(number)
                if head is None:
                    merged += len(rows)  # lines of an invoice an earlier chunk loaded
                else:
                    # Loaded, or rejected, together with the invoice's first rows.
                    head.members += [(pending.line, pending.cells), *pending.members]
                continue
            first = self.first_lines.get(number)
            where = f"row {first}" if first else "an earlier row"
            one = len(rows) == 1
            if self.summed:
                message = (
                    f"{rows_text(rows).capitalize()} {'belongs' if one else 'belong'} to invoice "
                    f"{number}, whose lines start on {where} of this file; an invoice that is "
                    "the sum of its lines needs its rows one after the other."
                )
            else:
                message = (
                    f"{rows_text(rows).capitalize()} {'repeats' if one else 'repeat'} invoice "
                    f"{number} of {where} of this file but {'disagrees' if one else 'disagree'} "
                    "with it on the invoice's customer, dates, currency, total, amount due or "
                    "status."
                )
            error = validate.RowError("invoice_number", "conflicting_lines", message)
            self.reject(pending.line, pending.cells, error)
            for line, cells in pending.members:
                self.reject(line, cells, error)
        return kept, merged

    def _remember_first_line(self, number: str, line: int) -> None:
        if len(self.first_lines) >= FIRST_LINES_KEPT:
            self.first_lines.pop(next(iter(self.first_lines)))
        self.first_lines.setdefault(number, line)

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
