"""Reads for the Imports pages and API: batches of the active organization, and the mapping
preview of an uploaded file (its header and first rows only)."""

import itertools
from dataclasses import dataclass, field

from django.db.models import QuerySet

from plixo.core.models import Organization
from plixo.core.selectors import one_or_404
from plixo.imports.models import DateFormat, ImportBatch, NumberFormat
from plixo.imports.pipeline import decode, detect, headers
from plixo.imports.pipeline.profile import file_notes
from plixo.imports.pipeline.report import ReportLayout
from plixo.imports.pipeline.validate import ERROR_CODES

PREVIEW_ROWS = 5
# Rows the preview reads to find how dates and amounts are written; the import itself reads
# as far as it takes.
PREVIEW_SCAN_ROWS = 20_000


def import_batch_list(*, organization: Organization) -> QuerySet[ImportBatch]:
    return ImportBatch.objects.filter(organization=organization).select_related("created_by")


def import_batch_for(*, organization: Organization, public_id) -> ImportBatch:
    """The batch with that public id in the organization, else 404."""
    return one_or_404(
        ImportBatch.objects.filter(organization=organization).select_related(
            "organization", "created_by"
        ),
        public_id=public_id,
    )


def import_date_format_default(*, organization: Organization) -> str:
    """The date format the organization used last, so each upload need not choose again."""
    last = (
        ImportBatch.objects.filter(organization=organization)
        .order_by("-created_at", "-id")
        .values_list("date_format", flat=True)
        .first()
    )
    return last or DateFormat.AUTO


@dataclass
class Preview:
    ok: bool
    problem: str = ""
    encoding: str = ""
    delimiter: str = ""
    columns: list[dict] = field(default_factory=list)  # name, required, header, samples
    missing: list[str] = field(default_factory=list)
    unmapped: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    sample: list[list[str]] = field(default_factory=list)
    skipped_lines: int = 0
    is_reject_log: bool = False
    notes: list[str] = field(default_factory=list)  # what stands in for missing columns …
    dates: str = ""  # how dates are read, in words
    numbers: str = ""  # how amounts are read, in words
    # The readings to choose from when every value the preview saw reads both ways.
    ask_dates: list[tuple[str, str]] = field(default_factory=list)
    ask_numbers: list[tuple[str, str]] = field(default_factory=list)
    ambiguous_dates: str = ""  # the example that reads both ways
    ambiguous_numbers: str = ""

    @property
    def delimiter_label(self) -> str:
        return {",": "comma", ";": "semicolon", "\t": "tab"}.get(self.delimiter, self.delimiter)


def import_batch_preview(*, batch: ImportBatch) -> Preview:
    """How the file's header maps to Plixo's columns, from the first lines alone (the full
    encoding check happens when the import runs)."""
    schema = headers.SCHEMAS[batch.kind]
    with batch.file.open("rb") as stream:
        try:
            dialect = decode.head_dialect(stream)
        except decode.UndecodableFile as exc:
            return Preview(ok=False, problem=str(exc))
        reader = decode.records(stream, dialect)
        first = list(itertools.islice(reader, headers.HEADER_SEARCH_LINES + PREVIEW_ROWS))
        reader.close()
        found = headers.find_header(
            schema, [r.cells or [] for r in first[: headers.HEADER_SEARCH_LINES]]
        )
        if found is None:
            return Preview(ok=False, problem="The file is empty: it has no header row.")
        index, mapping = found
        formats = _preview_formats(batch, stream, dialect, index, mapping)
    positions = dict(mapping.positions)
    if mapping.customer_from_group:
        positions["customer_name"] = 0
    order = [positions.get(c["name"]) for c in mapping.rows()]
    sample = []
    layout = ReportLayout(mapping, batch.kind)
    for record in first[index + 1 :]:
        cells = record.cells or []
        if not "".join(cells).strip() or layout.is_furniture(cells):
            continue  # headings and totals of a report are not rows
        cells = layout.as_logged(cells)
        sample.append([cells[i] if i is not None and i < len(cells) else "" for i in order])
        if len(sample) == PREVIEW_ROWS:
            break
    columns = mapping.rows()
    for position, column in enumerate(columns):
        column["samples"] = [row[position] for row in sample]
    return Preview(
        ok=not mapping.missing,
        problem=(
            f"{headers.missing_columns_text(mapping)} The file would be rejected whole."
            + headers.substitutes_text(mapping)
            if mapping.missing
            else ""
        ),
        encoding={"utf-8-sig": "UTF-8 (with BOM)", "utf-8": "UTF-8", "cp1252": "Windows-1252"}[
            dialect.encoding
        ],
        delimiter=dialect.delimiter,
        columns=columns,
        missing=mapping.missing,
        unmapped=mapping.unmapped,
        duplicates=sorted(set(mapping.duplicates)),
        headers=mapping.headers,
        sample=sample,
        skipped_lines=index,
        is_reject_log=mapping.is_reject_log,
        notes=file_notes(mapping, base_currency=batch.organization.base_currency),
        **formats,
    )


def _preview_formats(batch, stream, dialect, index, mapping) -> dict:
    """How the first rows write dates and amounts, or the readings to choose from."""
    dates = batch.date_format == DateFormat.AUTO
    numbers = batch.number_format == NumberFormat.AUTO
    out = {
        "dates": detect.DATE_LABELS.get(batch.date_format, "") if not dates else "",
        "numbers": detect.NUMBER_LABELS.get(batch.number_format, "") if not numbers else "",
    }
    if not (dates or numbers) or mapping.missing:
        return out
    reader = decode.records(stream, dialect)
    try:
        found = detect.detect(
            itertools.islice(reader, index + 1, None),
            mapping,
            dates=dates,
            numbers=numbers,
            limit=PREVIEW_SCAN_ROWS,
        )
    finally:
        reader.close()
    if dates:
        if found.dates.ambiguous:
            out["ask_dates"] = [
                (DateFormat.DMY, DateFormat.DMY.label),
                (DateFormat.MDY, DateFormat.MDY.label),
            ]
            out["ambiguous_dates"] = (
                f"{found.dates.ambiguous_example} on line {found.dates.ambiguous_line}"
            )
        else:
            out["dates"] = detect.described(found.dates, detect.DATE_LABELS) or "ISO 8601"
    if numbers:
        if found.numbers.ambiguous:
            out["ask_numbers"] = [
                (NumberFormat.POINT, NumberFormat.POINT.label),
                (NumberFormat.COMMA, NumberFormat.COMMA.label),
            ]
            out["ambiguous_numbers"] = (
                f"{found.numbers.ambiguous_example} on line {found.numbers.ambiguous_line}"
            )
        else:
            out["numbers"] = detect.described(found.numbers, detect.NUMBER_LABELS) or "1,234.56"
    return out


def error_code_rows(summary: dict) -> list[dict]:
    """Per-code counts with their labels, most frequent first."""
    counts = (summary or {}).get("errors_by_code") or {}
    return [
        {"code": code, "label": ERROR_CODES.get(code, code), "count": count}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def reject_log_open(batch):
    """The batch's reject log opened for reading; a 404 when there is none or its file is gone
    (a storage restored without it), never a 500."""
    from django.http import Http404

    if not batch.reject_log:
        raise Http404("This import has no reject log: no row was rejected.")
    try:
        return batch.reject_log.open("rb")
    except FileNotFoundError as exc:
        raise Http404("This import's reject log is no longer in storage.") from exc
