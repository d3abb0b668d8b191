"""Reads for the Imports pages and API: batches of the active organization, and the mapping
preview of an uploaded file (its header and first rows only)."""

import itertools
from dataclasses import dataclass, field

from django.db.models import QuerySet

from plixo.core.models import Organization
from plixo.core.selectors import one_or_404
from plixo.imports.models import DateFormat, ImportBatch
from plixo.imports.pipeline import decode, headers
from plixo.imports.pipeline.validate import ERROR_CODES

PREVIEW_ROWS = 5


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
    return last or DateFormat.ISO


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
    order = [mapping.positions.get(c["name"]) for c in mapping.rows()]
    sample = []
    for record in first[index + 1 : index + 1 + PREVIEW_ROWS]:
        cells = record.cells or []
        sample.append([cells[i] if i is not None and i < len(cells) else "" for i in order])
    columns = mapping.rows()
    for position, column in enumerate(columns):
        column["samples"] = [row[position] for row in sample]
    return Preview(
        ok=not mapping.missing,
        problem=(
            f"Required column{'s' if len(mapping.missing) > 1 else ''} missing: "
            f"{', '.join(mapping.missing)}. The file would be rejected whole."
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
    )


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
