"""The outbox dispatcher: delivers what committed steps queued, after the commit, at least once.

A step writes its rendered notifications into the outbox in the same transaction as the case
change, so a notification exists exactly when the change does. The dispatcher then claims due
entries with a lease (like due timers), hands each to the plugin owning its channel and records
the outcome: ``delivered``; a failure retried with exponential backoff; ``dead`` after
``max_attempts`` or a permanent failure. A dispatcher killed mid-delivery loses nothing: its
lease runs out and the entry is delivered again (receivers dedupe on the entry's key). A
failing plugin never touches the case.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from svcflow.clock import Clock, as_utc
from svcflow.errors import PermanentDeliveryError
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import Delivery, Recipient
from svcflow.privacy import masked_logger
from svcflow.records import OutboxEntry
from svcflow.store.base import Attempt, Store

__all__ = ["DispatchReport", "Dispatcher", "RetryPolicy"]

_log = masked_logger("svcflow.outbox")
_BATCH = 100


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a failed delivery is tried again: ``first_delay`` after the first failure, then
    multiplied by ``factor`` each time, at most ``max_delay``; dead after ``max_attempts``."""

    max_attempts: int = 6
    first_delay: timedelta = timedelta(seconds=30)
    factor: float = 2.0
    max_delay: timedelta = timedelta(hours=1)

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1-based)."""
        return min(self.first_delay * self.factor ** (attempts - 1), self.max_delay)


@dataclass(slots=True)
class DispatchReport:
    """What one ``dispatch`` round did, by outbox entry."""

    delivered: list[OutboxEntry] = field(default_factory=list)
    retrying: list[OutboxEntry] = field(default_factory=list)
    dead: list[OutboxEntry] = field(default_factory=list)

    @property
    def attempted(self) -> int:
        return len(self.delivered) + len(self.retrying) + len(self.dead)


class Dispatcher:
    """Delivers due outbox entries of ``store`` through ``plugins``.

    Several dispatchers (threads or processes) may share a store: each claims disjoint entries.
    ``timeout`` (seconds, default 30) bounds every delivery attempt, whether the plugin is
    synchronous or async (see :meth:`PluginHost.deliver`): an attempt past it counts as a
    failed one and is retried with backoff. It must be shorter than ``lease``. Outcomes are
    recorded ``record_batch`` at a time in one transaction. The default, 1, records each
    delivery as soon as it is made, so a dispatcher killed mid-round sends at most the one
    delivery in flight again; with N, up to N deliveries made but not yet recorded are sent
    again once their lease runs out (at least once, as ever; receivers dedupe on the entry's
    key) for N times fewer transactions. Invalid settings raise ``ValueError``.
    """

    def __init__(
        self,
        store: Store,
        plugins: PluginHost,
        clock: Clock,
        *,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=2),
        timeout: float = 30.0,
        record_batch: int = 1,
    ) -> None:
        if not timeout > 0:
            raise ValueError(
                f"the delivery timeout ({timeout:g} s) must be more than 0 s: it is how long one "
                "delivery attempt may take"
            )
        if not timeout < lease.total_seconds():
            raise ValueError(
                f"the delivery timeout ({timeout:g} s) must be shorter than the dispatcher's "
                f"lease ({lease.total_seconds():g} s), or another dispatcher would deliver the "
                "same notification meanwhile"
            )
        self.store, self.plugins, self.clock = store, plugins, clock
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.timeout = timeout
        self.record_batch = record_batch
        self.owner = f"dispatcher-{uuid.uuid4().hex[:12]}"

    def dispatch(self, now: datetime | None = None, limit: int | None = None) -> DispatchReport:
        """Attempt every entry due by ``now`` (default: the clock's now), oldest first."""
        report = DispatchReport()
        horizon = as_utc(now or self.clock.now())
        while limit is None or report.attempted < limit:
            size = _BATCH if limit is None else min(_BATCH, limit - report.attempted)
            batch = self.store.claim_deliveries(
                horizon, size, self.owner, as_utc(self.clock.now()) + self.lease
            )
            if not batch:
                break
            self._deliver(batch, report)
        return report

    def _deliver(self, batch: list[OutboxEntry], report: DispatchReport) -> None:
        """Attempt each claimed entry; record the outcomes ``record_batch`` at a time in one
        transaction, and at once when a quarter of the lease has passed since the oldest
        unrecorded one (so no entry is still unrecorded when its lease runs out)."""
        outcomes: list[Attempt] = []
        since = as_utc(self.clock.now())
        for entry in batch:
            outcomes.append(self._attempt(entry, report))
            now = as_utc(self.clock.now())
            if len(outcomes) >= self.record_batch or now - since >= self.lease / 4:
                self.store.record_attempts(outcomes)
                outcomes, since = [], now
        self.store.record_attempts(outcomes)

    def _failed(
        self, entry: OutboxEntry, attempts: int, error: Exception, report: DispatchReport
    ) -> Attempt:
        """A failed attempt's outcome: retried with backoff, or dead when it was the last or
        the failure is permanent."""
        now = as_utc(self.clock.now())
        reason = f"{type(error).__name__}: {error}"
        final = isinstance(error, PermanentDeliveryError) or (attempts >= self.retry.max_attempts)
        if final:
            why = (
                "permanent failure"
                if isinstance(error, PermanentDeliveryError)
                else (f"gave up after {attempts} attempts")
            )
            report.dead.append(entry)
            _log.error("notification %s dead-lettered: %s: %s", entry.key, why, reason)
            return Attempt(
                entry_id=entry.id,
                status="dead",
                attempts=attempts,
                at=now,
                error=f"{why}: {reason}",
            )
        retry_at = now + self.retry.delay(attempts)
        report.retrying.append(entry)
        _log.warning(
            "notification %s failed (attempt %d), retrying at %s: %s",
            entry.key,
            attempts,
            retry_at.isoformat(),
            reason,
        )
        return Attempt(
            entry_id=entry.id,
            status="pending",
            attempts=attempts,
            at=now,
            next_attempt_at=retry_at,
            error=reason,
        )

    def _attempt(self, entry: OutboxEntry, report: DispatchReport) -> Attempt:
        attempts = entry.attempts + 1
        delivery = Delivery(
            key=entry.key,
            case_id=entry.case_id,
            template=entry.template,
            recipient=Recipient(entry.address, entry.channel, entry.name, entry.locale, entry.role),
            subject=entry.subject,
            body=entry.body,
            locale=entry.locale,
            urgent=entry.urgent,
            attempt=attempts,
            created_at=entry.created_at,
        )
        try:
            receipt = self.plugins.deliver(delivery, self.timeout)
        except Exception as error:
            return self._failed(entry, attempts, error, report)
        report.delivered.append(entry)
        now = as_utc(self.clock.now())
        return Attempt(
            entry_id=entry.id,
            status="delivered",
            attempts=attempts,
            at=now,
            reference=receipt.reference,
        )
