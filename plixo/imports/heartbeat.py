"""The sign of life of a running import, visible to other processes while it runs.

The pipeline commits once per chunk (see `pipeline.run`), and the progress written with each
chunk already tells other processes that the import moves. That is not enough on its own: a
chunk, the detection pass over a large file or the single transaction of an "all or nothing"
load can each take longer than the silence after which an import is presumed dead, and what the
import writes inside a transaction is invisible to others until it commits. So while an import
runs, a thread of the same process stamps `ImportBatch.heartbeat_at` every `HEARTBEAT_EVERY`,
in autocommit on its own database connection (Django gives each thread its own). The thread
lives exactly as long as the process: when the worker is killed the stamps stop, and
`imports_fail_stalled` declares the batch dead once the last one is `DEAD_AFTER` old.

SQLite has one writer at a time. The thread waits for the write lock like any other writer (the
connection's busy timeout), so between chunks its stamp lands within a chunk's time; during the
one long transaction of an "all or nothing" load it cannot, and the stamp goes stale. Nothing
is wrongly failed because of it: declaring a batch dead needs the same write lock, which the
live import holds until it commits, and it commits its final status in that same transaction
(see `imports_fail_stalled`).
"""

import datetime as dt
import threading

import structlog
from django.db import DatabaseError, connections
from django.utils import timezone

from plixo.imports.models import ImportBatch, ImportStatus

log = structlog.get_logger("plixo.imports")

# How often a running import stamps its heartbeat, and how long a silence means the process
# running it is gone: several missed stamps, so one slow stamp (a busy database) is not death.
HEARTBEAT_EVERY = dt.timedelta(seconds=20)
DEAD_AFTER = dt.timedelta(minutes=2)


def heartbeat_stamp(batch_pk: int) -> bool:
    """Stamp the batch's heartbeat now; False when the batch is no longer running (finished,
    or declared dead by `imports_fail_stalled`)."""
    return bool(
        ImportBatch.objects.filter(pk=batch_pk, status=ImportStatus.VALIDATING).update(
            heartbeat_at=timezone.now()
        )
    )


class Heartbeat:
    """`with Heartbeat(batch):` stamps the batch's heartbeat from a background thread until the
    block ends."""

    def __init__(self, batch: ImportBatch, *, every: dt.timedelta | None = None):
        self.batch_pk = batch.pk
        self.batch_ref = str(batch.public_id)
        self.every = (every or HEARTBEAT_EVERY).total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"import-heartbeat-{batch.pk}", daemon=True
        )

    def __enter__(self) -> "Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.every):
                try:
                    running = heartbeat_stamp(self.batch_pk)
                    # Not running: declared dead while still running (silent too long), and
                    # the import itself stops at its next chunk (see `services._progress`);
                    # or not visible to this connection yet (a caller's transaction holds it
                    # uncommitted), and the next stamp may land.
                    gone = not running and ImportBatch.objects.filter(pk=self.batch_pk).exists()
                except DatabaseError as exc:
                    # SQLite's write lock held past the busy timeout, a PostgreSQL restart:
                    # try again at the next stamp; the silence rule allows for a few misses.
                    log.warning("imports.heartbeat_missed", batch=self.batch_ref, error=str(exc))
                    continue
                if gone:
                    log.warning("imports.heartbeat_batch_not_running", batch=self.batch_ref)
                    return
        finally:
            connections.close_all()
