"""A worker killed mid-import: the batch's heartbeat goes silent and the imports job fails it
within minutes, saying how many rows stay loaded; a live import keeps stamping its heartbeat,
from another connection, while it runs."""

import datetime as dt
import threading

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from plixo.imports import heartbeat, services
from plixo.imports.models import ImportBatch, ImportedKey, ImportStatus
from plixo.imports.services import import_batch_run, imports_fail_stalled
from plixo.ops.jobs import JOBS

CUSTOMERS = "customer_external_id,customer_name,currency\nC-1,One Ltd,USD\nC-2,Two Ltd,USD\n"


def _batch(org, **fields) -> ImportBatch:
    batch = ImportBatch(organization=org, kind="customers", original_name="c.csv", **fields)
    batch.file.save("upload.csv", ContentFile(CUSTOMERS.encode()), save=False)
    batch.save()
    return batch


def test_a_batch_silent_for_three_minutes_is_failed_with_the_rows_it_loaded(org):
    # Given a batch whose worker last showed a sign of life 3 minutes ago, after committing
    # chunks holding 24,990 loaded rows of the 25,000 it read
    now = timezone.now()
    batch = _batch(
        org,
        started_at=now - dt.timedelta(minutes=20),
        heartbeat_at=now - dt.timedelta(minutes=3),
        rows_done=25_000,
        rows_loaded=24_990,
    )
    ImportedKey.objects.create(batch=batch, key="cust:C-1")

    # When the imports job runs
    assert imports_fail_stalled(now=now) == 1

    # Then the batch is failed, says what stays loaded, and its duplicate keys are gone
    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED
    assert batch.finished_at == now
    assert "went away (silent for 3 minutes)" in batch.error
    assert "It had read 25,000 rows: 24,990 of them were loaded and stay loaded" in batch.error
    assert "Upload the same file again" in batch.error
    assert not ImportedKey.objects.filter(batch=batch).exists()


def test_a_batch_with_a_fresh_heartbeat_is_left_alone(org):
    now = timezone.now()
    batch = _batch(
        org,
        started_at=now - dt.timedelta(hours=2),  # a long import, still alive
        heartbeat_at=now - dt.timedelta(seconds=30),
        rows_done=900_000,
    )

    assert imports_fail_stalled(now=now) == 0

    batch.refresh_from_db()
    assert batch.status == ImportStatus.VALIDATING and not batch.error


def test_a_batch_still_waiting_for_a_worker_is_not_declared_dead(org):
    """Queued behind another import: no heartbeat yet, and no worker died."""
    now = timezone.now()
    waiting = _batch(org, started_at=now - dt.timedelta(minutes=10))
    lost = _batch(org, started_at=now - services.NEVER_PICKED_UP_AFTER - dt.timedelta(minutes=1))

    assert imports_fail_stalled(now=now) == 1

    waiting.refresh_from_db()
    lost.refresh_from_db()
    assert waiting.status == ImportStatus.VALIDATING
    assert lost.status == ImportStatus.FAILED and "No worker picked this import up" in lost.error


def test_an_all_or_nothing_batch_that_died_loaded_nothing(org):
    now = timezone.now()
    batch = _batch(
        org,
        all_or_nothing=True,
        started_at=now - dt.timedelta(minutes=5),
        heartbeat_at=now - dt.timedelta(minutes=4),
        rows_done=5_000,
    )

    assert imports_fail_stalled(now=now) == 1

    batch.refresh_from_db()
    assert batch.status == ImportStatus.FAILED
    assert "Nothing was loaded (all or nothing)" in batch.error


def test_a_heartbeat_stamped_after_the_job_read_the_batch_keeps_it_alive(org, monkeypatch):
    """The job claims the batch on the heartbeat it read: a stamp landing in between (the
    import was slow, not dead) makes the claim miss."""
    now = timezone.now()
    batch = _batch(
        org,
        started_at=now - dt.timedelta(minutes=10),
        heartbeat_at=now - dt.timedelta(minutes=3),
    )
    declare = services._batch_declare_dead

    def stamped_meanwhile(stale, *, now):
        heartbeat.heartbeat_stamp(stale.pk)
        return declare(stale, now=now)

    monkeypatch.setattr(services, "_batch_declare_dead", stamped_meanwhile)

    assert imports_fail_stalled(now=now) == 0

    batch.refresh_from_db()
    assert batch.status == ImportStatus.VALIDATING


def test_a_run_declared_dead_stops_at_its_next_chunk_and_keeps_the_jobs_message(org):
    batch = _batch(org, started_at=timezone.now(), heartbeat_at=timezone.now())
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.FAILED, error="declared dead"
    )
    report = services._progress(batch)

    with pytest.raises(services.ImportAbandoned):
        report(5_000, 5_000)

    batch.refresh_from_db()
    assert batch.error == "declared dead" and batch.rows_done == 0


def test_progress_commits_with_each_chunk(org, monkeypatch):
    """Rows read and rows loaded are written inside the chunk's transaction, once per chunk."""
    monkeypatch.setattr("plixo.imports.pipeline.run.CHUNK_ROWS", 2)
    seen = []
    progress = services._progress

    def recording(batch):
        report = progress(batch)

        def record(rows_done, rows_loaded):
            from django.db import connection

            seen.append((rows_done, rows_loaded, connection.in_atomic_block))
            report(rows_done, rows_loaded)

        return record

    monkeypatch.setattr(services, "_progress", recording)
    text = CUSTOMERS + "C-3,Three Ltd,USD\nC-4,Bad Ltd,XXQ\nC-5,Five Ltd,USD\n"
    batch = ImportBatch(organization=org, kind="customers", original_name="c.csv")
    batch.file.save("upload.csv", ContentFile(text.encode()), save=False)
    batch.save()

    batch = import_batch_run(batch=batch)

    assert batch.status == ImportStatus.LOADED
    assert [(done, loaded) for done, loaded, _ in seen] == [(2, 2), (5, 4)]
    assert all(in_transaction for _, _, in_transaction in seen)


def test_the_job_runs_every_minute():
    assert JOBS["imports.fail_stalled"].every <= dt.timedelta(minutes=1)
    assert dt.timedelta(minutes=2) >= heartbeat.DEAD_AFTER
    assert heartbeat.HEARTBEAT_EVERY * 3 <= heartbeat.DEAD_AFTER


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_advances_while_an_import_runs(org, monkeypatch):
    """Stamped by another thread on its own connection, in autocommit: visible to every other
    process while the import itself is busy (here: blocked mid-run until two stamps landed)."""
    monkeypatch.setattr(heartbeat, "HEARTBEAT_EVERY", dt.timedelta(milliseconds=20))
    batch = _batch(org, started_at=timezone.now() - dt.timedelta(minutes=1))
    stamped = []
    two_stamps = threading.Event()
    stamp = heartbeat.heartbeat_stamp

    def recording_stamp(batch_pk):
        running = stamp(batch_pk)
        stamped.append(timezone.now())
        if len(stamped) >= 2:
            two_stamps.set()
        return running

    monkeypatch.setattr(heartbeat, "heartbeat_stamp", recording_stamp)

    def busy(batch, stream, passes):
        # The pipeline, busy: no database work of its own while the heartbeat stamps.
        busy.picked_up = batch.heartbeat_at  # the first stamp, written on being picked up
        assert two_stamps.wait(timeout=10), "the heartbeat never stamped"
        return batch

    monkeypatch.setattr(services, "_run", busy)

    import_batch_run(batch=batch)

    batch.refresh_from_db()
    assert len(stamped) >= 2
    assert batch.heartbeat_at > busy.picked_up
