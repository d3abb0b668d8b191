"""The scheduler loop behind `plixo scheduler`.

Any number of scheduler processes may run (one per host for redundancy); the database lease
makes exactly one of them the leader, and only the leader enqueues due jobs. A standby takes
over when the leader stops renewing (crash) or releases the lease (clean shutdown).
"""

import os
import secrets
import signal
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from django.db import close_old_connections, connection
from django.utils import timezone

from plixo.ops import services

log = structlog.get_logger("plixo.ops.scheduler")

DEFAULT_INTERVAL = 5.0
MIN_LEASE_TTL = timedelta(seconds=30)


def holder_id() -> str:
    """Who holds the lease, readable on the Ops page: host and process, plus a random suffix
    because containers restart with the same host name and pid."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass
class TickOutcome:
    leader: bool
    enqueued: list[str] = field(default_factory=list)


class Scheduler:
    def __init__(self, *, interval: float = DEFAULT_INTERVAL, holder: str | None = None):
        if interval <= 0:
            raise ValueError("The tick interval must be positive.")
        self.interval = interval
        self.holder = holder or holder_id()
        # The lease outlives a few missed ticks, so a slow tick does not hand leadership over.
        self.lease_ttl = max(MIN_LEASE_TTL, timedelta(seconds=interval * 3))
        self.was_leader = False
        self._stop = threading.Event()

    def tick(self, *, now: datetime | None = None) -> TickOutcome:
        now = now or timezone.now()
        leader = services.lease_acquire(holder=self.holder, ttl=self.lease_ttl, now=now)
        if leader != self.was_leader:
            log.info("scheduler.leader" if leader else "scheduler.standby", holder=self.holder)
            self.was_leader = leader
        if not leader:
            return TickOutcome(leader=False)
        enqueued = services.jobs_enqueue_due(now=now)
        services.lease_tick_record(holder=self.holder, now=now)
        return TickOutcome(leader=True, enqueued=enqueued)

    def stop(self, signum=None, frame=None) -> None:
        if signum is not None:
            log.info("scheduler.stopping", signal=signal.Signals(signum).name)
        self._stop.set()

    def run(self) -> None:
        """Tick every `interval` seconds until SIGTERM or SIGINT; a tick that fails (database
        restarting, say) is logged and the loop carries on."""
        previous = {sig: signal.signal(sig, self.stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        services.jobs_sync()
        log.info("scheduler.started", holder=self.holder, interval=self.interval)
        try:
            while not self._stop.is_set():
                # Drop a connection the database closed while we slept; never inside a
                # transaction (tests run the loop in one).
                if not connection.in_atomic_block:
                    close_old_connections()
                try:
                    self.tick()
                except Exception:
                    log.exception("scheduler.tick_failed", holder=self.holder)
                self._stop.wait(self.interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            try:
                services.lease_release(holder=self.holder)
            except Exception:
                log.exception("scheduler.release_failed", holder=self.holder)
            log.info("scheduler.stopped", holder=self.holder)
