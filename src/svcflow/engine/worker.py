"""A long-running worker process: fire due timers and deliver the outbox until told to stop.

``svcflow worker`` runs one. Any number of workers, on any number of machines, share one store
without knowing about each other: each round claims at most ``batch`` due timers and ``batch``
due deliveries with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two workers never
take the same row, and a worker that dies loses nothing (its leases run out).

Between rounds an idle worker waits ``poll`` seconds, unless the store can wake it
(:class:`~svcflow.store.base.WakesWorkers`: PostgreSQL's ``LISTEN/NOTIFY``): then a commit
anywhere that schedules a timer or delivery due before the next poll brings the worker back at
that moment. Stopping (``stop()``, or SIGTERM/SIGINT for ``svcflow worker``) lets the current
round finish the batch it claimed, then returns; nothing is left claimed.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from svcflow.clock import as_utc
from svcflow.engine.facade import Engine
from svcflow.privacy import masked_logger
from svcflow.store.base import WakesWorkers

__all__ = ["DEFAULT_BATCH", "DEFAULT_POLL", "Worker", "WorkerRound"]

DEFAULT_POLL = 5.0
"""Seconds an idle worker waits before looking again (a wake-up comes sooner)."""
DEFAULT_BATCH = 256
"""Timers (and, separately, deliveries) one round claims at most."""
_STOP_CHECK = 0.5  # the longest a stop request waits while the worker is idle

_LOG = masked_logger("svcflow.worker")


@dataclass(frozen=True, slots=True)
class WorkerRound:
    """What one round did."""

    fired: int
    retrying: int
    failed: int
    delivered: int
    delivery_retrying: int
    dead: int

    @property
    def busy(self) -> bool:
        """True when the round took work: look again at once, more may be waiting."""
        return self.fired + self.retrying + self.failed + self.delivered > 0 or (
            self.delivery_retrying + self.dead > 0
        )


class Worker:
    """Rounds of ``engine.advance`` and ``engine.dispatch`` until :meth:`stop`."""

    def __init__(
        self, engine: Engine, *, poll: float = DEFAULT_POLL, batch: int = DEFAULT_BATCH
    ) -> None:
        if poll <= 0 or batch <= 0:
            raise ValueError(f"a worker needs a positive poll and batch, got {poll!r}, {batch!r}")
        self.engine, self.poll, self.batch = engine, poll, batch
        self.rounds = 0
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Finish the current round, then return from :meth:`run` (safe from a signal handler)."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def round(self) -> WorkerRound:
        """Fire up to ``batch`` due timers, then deliver up to ``batch`` due outbox entries."""
        fired = self.engine.advance(limit=self.batch)
        sent = self.engine.dispatch(limit=self.batch)
        self.rounds += 1
        return WorkerRound(
            fired=len(fired),
            retrying=len(fired.retrying),
            failed=len(fired.failed),
            delivered=len(sent.delivered),
            delivery_retrying=len(sent.retrying),
            dead=len(sent.dead),
        )

    def run(self) -> int:
        """Run rounds until stopped; the number of rounds. A failing round (the database is
        unreachable, say) is logged, and the worker waits a poll interval and tries again."""
        while not self._stopping.is_set():
            try:
                busy = self.round().busy
            except Exception:  # a round must never end the worker
                _LOG.exception("svcflow worker round failed; trying again in %g s", self.poll)
                busy = False
            if not busy:
                self._idle()
        return self.rounds

    def _idle(self) -> None:
        """Wait ``poll`` seconds, or less when the store says work falls due sooner."""
        store = self.engine.store
        wakes = store if isinstance(store, WakesWorkers) else None
        until = time.monotonic() + self.poll
        while not self._stopping.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return
            if wakes is None:
                self._stopping.wait(min(left, _STOP_CHECK))
                continue
            due = wakes.wait_for_work(min(left, _STOP_CHECK))
            if due is not None:
                delay = (due - as_utc(self.engine.clock.now())).total_seconds()
                if delay <= 0:
                    return
                until = min(until, time.monotonic() + delay)
