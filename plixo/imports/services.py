"""Every write of an import: store the upload, start it, run the pipeline, record the outcome.

A run that stops part-way (an error, or the worker being killed) leaves the batch `failed`
with the chunks loaded before the failure committed and the failing chunk rolled back: never
half an invoice. A killed worker is noticed by `imports_fail_stalled` once the batch's
heartbeat (see `heartbeat`) has been silent for `DEAD_AFTER`. A dead batch is failed, not
resumed: the reject log and counts of the rows it read died with the process, and a file that
killed its worker would kill the next one too. Uploading the same file again finishes the job,
because rows already loaded are recognised and left alone (never loaded twice).
"""

import datetime as dt
import math
from pathlib import Path

import structlog
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from plixo.core.models import Membership, Organization, User
from plixo.core.permissions import Cap, role_can
from plixo.imports.heartbeat import DEAD_AFTER, Heartbeat
from plixo.imports.models import (
    DateFormat,
    ImportBatch,
    ImportedKey,
    ImportKind,
    ImportStatus,
    NumberFormat,
)
from plixo.imports.pipeline import decode, detect
from plixo.imports.pipeline.profile import file_notes
from plixo.imports.pipeline.run import (
    FileRejected,
    Formats,
    Opened,
    Pass,
    Stats,
    body_records,
    open_file,
)
from plixo.imports.pipeline.validate import SKIP_REASONS
from plixo.ops.queue import task_enqueue

log = structlog.get_logger("plixo.imports")

MAX_UPLOAD_BYTES = 2 * 1024**3
# A started batch that no worker has picked up (no heartbeat yet) this long after it was
# queued is presumed to have lost its task (a wiped queue): a task waiting in the queue
# survives worker restarts, so only a queue busy for longer than this fails one wrongly (its
# worker then finds it failed and skips it).
NEVER_PICKED_UP_AFTER = dt.timedelta(minutes=30)
IMPORT_BATCH_TASK = "plixo.imports.tasks.import_batch_task"
# An uploaded file waiting for its mapping to be confirmed is kept this long.
PREVIEW_EXPIRES = dt.timedelta(days=1)


class ImportsError(ValueError):
    """An import request that cannot be honoured; the message is meant for the user."""


class ImportAbandoned(Exception):
    """The batch stopped being this run's to finish: `imports_fail_stalled` declared it dead
    while it was still running (silent for too long), and its message stands."""


def import_batch_create(
    *,
    organization: Organization,
    kind: str,
    upload,
    actor: User | None,
    all_or_nothing: bool = False,
    date_format: str = DateFormat.ISO,
    number_format: str = NumberFormat.POINT,
) -> ImportBatch:
    """Keep the uploaded file with a batch waiting to run (status validating)."""
    if kind not in ImportKind.values:
        raise ImportsError(f"Unknown import kind {kind!r}; use one of {', '.join(ImportKind)}.")
    _check_formats(date_format, number_format)
    _check_kind_allowed(organization, kind, actor)
    size = getattr(upload, "size", None) or 0
    if size > MAX_UPLOAD_BYTES:
        raise ImportsError(f"The file is larger than {MAX_UPLOAD_BYTES // 1024**3} GB.")
    name = Path(getattr(upload, "name", "") or "upload.csv").name[:255] or "upload.csv"
    batch = ImportBatch(
        organization=organization,
        kind=kind,
        original_name=name,
        size=size,
        created_by=actor,
        all_or_nothing=all_or_nothing,
        date_format=date_format,
        number_format=number_format,
    )
    batch.file.save("upload.csv", upload if isinstance(upload, File) else File(upload), save=False)
    batch.size = batch.file.size
    batch.save()
    return batch


# What each kind of import does beyond creating and updating records (every importer has
# `ledger.edit`): a payments file records payments. Row effects (voiding, settling) are checked
# per row by the loaders.
KIND_CAPABILITIES = {
    ImportKind.PAYMENTS: (Cap.PAYMENTS_RECORD, "record payments"),
    ImportKind.EXCHANGE_RATES: (Cap.RATES_MANAGE, "manage exchange rates"),
}


def _check_kind_allowed(organization: Organization, kind: str, actor: User | None) -> None:
    needed = KIND_CAPABILITIES.get(kind)
    if actor is None or needed is None:
        return
    membership = Membership.objects.filter(
        organization=organization, user=actor, is_active=True
    ).first()
    if membership is None or not role_can(membership.role, needed[0]):
        role = membership.get_role_display() if membership else "no role"
        raise ImportsError(
            f"Your role ({role}) may not {needed[1]}, so it cannot import a {kind} file."
        )


def _check_formats(date_format: str | None, number_format: str | None) -> None:
    if date_format is not None and date_format not in DateFormat.values:
        raise ImportsError(
            f"Unknown date format {date_format!r}; use one of {', '.join(DateFormat.values)}."
        )
    if number_format is not None and number_format not in NumberFormat.values:
        raise ImportsError(
            f"Unknown number format {number_format!r}; use one of {', '.join(NumberFormat.values)}."
        )


def import_batch_start(
    *, batch: ImportBatch, date_format: str | None = None, number_format: str | None = None
) -> ImportBatch:
    """Hand a confirmed batch to the worker. A batch starts once; a second call is refused.
    The formats, when given, settle what the preview found ambiguous in the file."""
    _check_formats(date_format, number_format)
    chosen = {}
    if date_format:
        chosen["date_format"] = date_format
    if number_format:
        chosen["number_format"] = number_format
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, started_at__isnull=True, status=ImportStatus.VALIDATING
    ).update(started_at=timezone.now(), **chosen)
    if claimed != 1:
        raise ImportsError("This import has already been started.")
    # The database task queue writes in the same transaction, so the worker sees the task
    # only once the batch is committed.
    task_enqueue(IMPORT_BATCH_TASK, str(batch.public_id))
    batch.refresh_from_db()
    return batch


def _summary(
    batch: ImportBatch, stats: Stats, reject_log: str | None, notes: list[str] | None = None
) -> dict:
    summary = {
        "batch_id": str(batch.public_id),
        "rows": stats.rows,
        "accepted": stats.accepted,
        "rejected": stats.rejected,
        "created": stats.created,
        "updated": stats.updated,
        "errors_by_code": dict(sorted(stats.errors.items())),
        "reject_log": reject_log,
        "skipped": sum(stats.skipped.values()),
        "skipped_by_reason": dict(sorted(stats.skipped.items())),
        "merged_lines": stats.merged,
        "notes": list(notes or []),
    }
    if stats.report_lines:
        summary["notes"].append(
            f"{_count(stats.report_lines, 'report line')} (group headings, totals, the footer) "
            "skipped: they are not rows."
        )
    if stats.skipped:
        reasons = ", ".join(
            f"{SKIP_REASONS.get(reason, reason)} {count:,}"
            for reason, count in sorted(stats.skipped.items())
        )
        summary["notes"].append(
            f"{_count(sum(stats.skipped.values()), 'row')} skipped, not receivables ({reasons}): "
            "counted as accepted, not loaded."
        )
    if stats.merged:
        summary["notes"].append(
            f"{_count(stats.merged, 'row')} merged into the invoice they are a further line of."
        )
    return summary


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _save_reject_log(batch: ImportBatch, run: Pass) -> str | None:
    handle = run.log.close()
    if handle is None:
        return None
    with handle:
        data = handle.read().encode("utf-8-sig")
    batch.reject_log.save(
        f"imports/{batch.organization_id}/{batch.public_id}/reject-log.csv",
        ContentFile(data),
        save=False,
    )
    return batch.reject_log.name


def _progress(batch: ImportBatch):
    """Called by the pipeline inside each chunk's transaction (see `Pass.run`), so the counts
    commit with the rows they count."""

    def report(rows_done: int, rows_loaded: int) -> None:
        running = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.VALIDATING).update(
            rows_done=rows_done,
            rows_loaded=rows_loaded,
            rows_total=max(batch.rows_total, rows_done + 1),
            heartbeat_at=timezone.now(),
        )
        if not running:
            # Rolls this chunk back: the rows declared loaded stay exactly those committed.
            raise ImportAbandoned(str(batch.public_id))

    return report


def _finish(
    batch: ImportBatch,
    *,
    status: str,
    stats: Stats,
    run: Pass | None,
    error: str = "",
    notes: list[str] | None = None,
):
    reject_log = _save_reject_log(batch, run) if run is not None else None
    batch.status = status
    batch.summary = _summary(batch, stats, reject_log, notes)
    batch.rows_done = batch.rows_total = stats.rows
    batch.error = error
    batch.finished_at = timezone.now()
    batch.save()
    log.info("imports.finished", batch=str(batch.public_id), status=status, **batch.summary)
    return batch


def import_batch_run(*, batch: ImportBatch) -> ImportBatch:
    """The whole pipeline for one batch; sets its status, summary and reject log."""
    if batch.is_finished:
        raise ImportsError("This import has already run.")
    # The first heartbeat: a worker has picked the batch up (until then it waits in the queue).
    batch.heartbeat_at = timezone.now()
    batch.started_at = batch.started_at or batch.heartbeat_at
    picked_up = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.VALIDATING).update(
        started_at=batch.started_at, heartbeat_at=batch.heartbeat_at
    )
    if not picked_up:
        raise ImportsError("This import has already run.")
    passes: list[Pass] = []
    try:
        with batch.file.open("rb") as stream, Heartbeat(batch):
            return _run(batch, stream, passes)
    except ImportAbandoned:
        log.warning("imports.abandoned", batch=str(batch.public_id))
        batch.refresh_from_db()
        return batch
    except Exception as exc:
        log.exception("imports.failed", batch=str(batch.public_id))
        batch.refresh_from_db()
        # All or nothing rolls back everything; otherwise the committed chunks stay.
        keep = passes and not batch.all_or_nothing
        stats = passes[-1].committed if keep else Stats()
        return _finish(
            batch,
            status=ImportStatus.FAILED,
            stats=stats,
            run=None,
            error=(
                f"The import stopped after {stats.rows:,} rows ({type(exc).__name__}). "
                + (
                    "Rows loaded before that stay loaded; no row was half-written. "
                    if keep
                    else "Nothing was loaded. "
                )
                + "Upload the same file again to finish: rows already loaded are recognised "
                "and left as they are."
            ),
        )
    finally:
        ImportedKey.objects.filter(batch=batch).delete()


def _run(batch: ImportBatch, stream, passes: list[Pass]) -> ImportBatch:
    try:
        opened = open_file(stream, batch.kind)
        formats, notes = _formats(batch, stream, opened)
    except FileRejected as rejected:
        stats = Stats()
        stats.errors[rejected.code] += 1
        return _finish(
            batch, status=ImportStatus.REJECTED, stats=stats, run=None, error=rejected.message
        )
    notes = file_notes(opened.mapping, base_currency=batch.organization.base_currency) + notes
    estimate = math.ceil(batch.size / decode.average_line_bytes(stream))
    batch.rows_total = max(estimate - opened.header_index - 1, 1)
    batch.save(update_fields=["rows_total"])
    progress = _progress(batch)

    def finish(**kwargs):
        return _finish(batch, notes=notes, **kwargs)

    if not batch.all_or_nothing:
        run = Pass(batch, opened, write=True, dedupe=True, formats=formats)
        passes.append(run)
        stats = run.run(body_records(stream, opened), progress)
        return finish(status=ImportStatus.LOADED, stats=stats, run=run)

    check = Pass(batch, opened, write=False, dedupe=True, formats=formats)
    stats = check.run(body_records(stream, opened), progress)
    if stats.rejected or not stats.rows:
        stats.created = stats.updated = 0
        return finish(
            status=ImportStatus.REJECTED, stats=stats, run=check, error=_nothing_loaded(stats)
        )
    with transaction.atomic():
        # The check pass's keys would make every row of the load pass look seen before.
        ImportedKey.objects.filter(batch=batch).delete()
        load = Pass(batch, opened, write=True, dedupe=False, formats=formats)
        passes.append(load)
        loaded = load.run(body_records(stream, opened))
        if not loaded.rejected:
            # The final status commits with the rows. On SQLite the heartbeat cannot be
            # written during this long transaction; `imports_fail_stalled` needs the write
            # lock to declare the batch dead and gets it only after this commit, when the
            # batch is no longer `validating`.
            return finish(status=ImportStatus.LOADED, stats=loaded, run=load)
        # Rows that only clash with rows before them in this same file (two payments for
        # more than an invoice's balance): still all or nothing.
        transaction.set_rollback(True)
    loaded.created = loaded.updated = 0
    return finish(
        status=ImportStatus.REJECTED, stats=loaded, run=load, error=_nothing_loaded(loaded)
    )


def _formats(batch: ImportBatch, stream, opened: Opened) -> tuple[Formats, list[str]]:
    """The batch's date and number formats, read from the file where the upload left them to
    it; a file whose every value reads both ways is refused whole rather than guessed at."""
    dates = batch.date_format == DateFormat.AUTO
    numbers = batch.number_format == NumberFormat.AUTO
    if not (dates or numbers):
        return Formats(batch.date_format, batch.number_format), []
    found = detect.detect(
        body_records(stream, opened), opened.mapping, dates=dates, numbers=numbers
    )
    if dates and found.dates.ambiguous:
        raise FileRejected("ambiguous_dates", detect.ambiguous_dates_message(found.dates))
    if numbers and found.numbers.ambiguous:
        raise FileRejected("ambiguous_amounts", detect.ambiguous_amounts_message(found.numbers))
    formats = Formats(
        found.date_format if dates else batch.date_format,
        found.number_format if numbers else batch.number_format,
    )
    notes = []
    if dates and found.dates.value and found.dates.example:
        notes.append(f"Dates read as {detect.described(found.dates, detect.DATE_LABELS)}.")
    if numbers and found.numbers.value and found.numbers.example:
        notes.append(f"Amounts read as {detect.described(found.numbers, detect.NUMBER_LABELS)}.")
    return formats, notes


def _nothing_loaded(stats: Stats) -> str:
    if not stats.rows:
        return "The file has a header but no rows; nothing was loaded."
    return (
        f"All or nothing: {stats.rejected:,} of {stats.rows:,} rows were rejected, so nothing "
        "was loaded. Fix the rows in the reject log and upload the whole file again."
    )


def import_file(
    *,
    organization: Organization,
    kind: str,
    path,
    actor: User | None = None,
    all_or_nothing: bool = False,
    date_format: str = DateFormat.ISO,
    number_format: str = NumberFormat.POINT,
) -> ImportBatch:
    """Create and run a batch from a file on disk, in this process (CLI, benchmarks)."""
    path = Path(path)
    with path.open("rb") as handle:
        batch = import_batch_create(
            organization=organization,
            kind=kind,
            upload=File(handle, name=path.name),
            actor=actor,
            all_or_nothing=all_or_nothing,
            date_format=date_format,
            number_format=number_format,
        )
    return import_batch_run(batch=batch)


def imports_fail_stalled(*, now: dt.datetime | None = None) -> int:
    """Fail imports whose process went away (heartbeat silent for `DEAD_AFTER`, or never
    picked up within `NEVER_PICKED_UP_AFTER`), and close previews nobody confirmed within
    `PREVIEW_EXPIRES` (their file is deleted). Returns how many batches it closed."""
    now = now or timezone.now()
    expired = list(
        ImportBatch.objects.filter(
            status=ImportStatus.VALIDATING,
            started_at__isnull=True,
            created_at__lt=now - PREVIEW_EXPIRES,
        )
    )
    for batch in expired:
        batch.file.delete(save=False)
        batch.status, batch.finished_at = ImportStatus.FAILED, now
        batch.error = (
            "Not confirmed within a day: the preview expired and nothing was loaded. Upload the "
            "file again to import it."
        )
        batch.save(update_fields=["status", "finished_at", "error", "file"])
    silent = ImportBatch.objects.filter(
        status=ImportStatus.VALIDATING, started_at__isnull=False
    ).filter(
        Q(heartbeat_at__lt=now - DEAD_AFTER)
        | Q(heartbeat_at__isnull=True, started_at__lt=now - NEVER_PICKED_UP_AFTER)
    )
    dead = sum(_batch_declare_dead(batch, now=now) for batch in silent)
    return len(expired) + dead


def _batch_declare_dead(batch: ImportBatch, *, now: dt.datetime) -> bool:
    """Fail one silent batch, saying how many rows stay loaded; False when it turned out to be
    alive after all."""
    again = (
        "Upload the same file again to finish: rows already loaded are recognised and left as "
        "they are."
    )
    if batch.heartbeat_at is None:
        error = (
            f"No worker picked this import up within {_minutes(NEVER_PICKED_UP_AFTER)} of it "
            "being queued, and nothing was loaded. Check that a worker runs (`plixo worker`), "
            "then upload the file again."
        )
    else:
        silence = _minutes(now - batch.heartbeat_at)
        stopped = f"The import stopped: the process running it went away (silent for {silence})."
        if batch.all_or_nothing:
            kept = " Nothing was loaded (all or nothing). "
        else:
            kept = (
                f" It had read {_count(batch.rows_done, 'row')}: {batch.rows_loaded:,} of them "
                "were loaded and stay loaded, and no row was half-written; the reject log of "
                "the rows it read was lost with the process. "
            )
        error = stopped + kept + again
    try:
        with transaction.atomic():
            # Claimed on the heartbeat read above: a stamp since then means the import lives
            # (and the counts read with it have moved), so the claim misses. On SQLite the
            # transaction takes the write lock first, so a live import holding it inside a
            # long transaction makes this wait, then fail (next run decides) or find the
            # batch finished.
            claimed = ImportBatch.objects.filter(
                pk=batch.pk, status=ImportStatus.VALIDATING, heartbeat_at=batch.heartbeat_at
            ).update(status=ImportStatus.FAILED, finished_at=now, error=error)
            if claimed:
                # The keys a finished run deletes itself; this one cannot any more.
                ImportedKey.objects.filter(batch=batch).delete()
    except OperationalError as exc:
        log.warning("imports.declare_dead_deferred", batch=str(batch.public_id), error=str(exc))
        return False
    if claimed:
        log.warning("imports.declared_dead", batch=str(batch.public_id), error=error)
    return bool(claimed)


def _minutes(span: dt.timedelta) -> str:
    minutes = max(1, int(span.total_seconds() // 60))
    return f"{minutes} minute{'' if minutes == 1 else 's'}"
