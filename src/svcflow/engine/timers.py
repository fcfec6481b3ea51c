"""Due timers: firing them in due order, catching a case up before an event, recomputing
deadlines after a calendar changed.

Timers live in the store. ``advance`` claims the due ones with a lease (several engines or
processes may advance one store) and fires each as its own unit of work at its due time, so
chains of timers replay correctly after downtime; an SLA or escalation timer is answered by
the machine's service step, any other by the workflow's transition for its trigger. A timer
whose trigger no longer applies is recorded as ``timer_ignored`` with the reason, never lost.

A timer whose firing raises (a failing action plugin, a broken store row, anything) is contained
to its case: nothing of that firing is written, the timer is retried with the engine's
``timer_retry`` backoff, and after the last attempt it is parked as ``failed`` with the error,
until ``Engine.retry_timer`` releases it. Every other case's timers fire on time.

Firings are worked out in due order and committed ``commit_batch`` at a time in one transaction
(``Store.commit_many``), each under a savepoint of its own: a firing whose write fails is rolled
back alone and retried as above, one refused by another writer (a stale revision) is fired again
on its own. A runner killed before a batch's commit loses none of its timers: they are still in
the store under its lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from svcflow.clock import as_utc, iso_text
from svcflow.core.effects import StepResult
from svcflow.core.machine import CompiledWorkflow
from svcflow.engine.registry import WorkflowRegistry
from svcflow.engine.schedules import ScheduleKeeper, is_schedule_trigger
from svcflow.engine.units import CaseWriter, Event, advanced, history_entry
from svcflow.errors import (
    CaseDataError,
    ConcurrencyConflict,
    ExpressionError,
    TimerNotFailed,
    TransitionNotAllowed,
)
from svcflow.messaging.outbox import RetryPolicy
from svcflow.privacy import masked_logger
from svcflow.records import Case, HistoryEntry, Timer
from svcflow.sla.clocks import Kept
from svcflow.store.base import CaseChange, Store, TimerGone

__all__ = [
    "COMMIT_BATCH",
    "DEFAULT_TIMER_RETRY",
    "AdvanceReport",
    "TimerFiring",
    "TimerService",
    "is_service_trigger",
    "release_failed",
    "release_failed_timers",
    "service_due",
]

TIMER_BATCH = 256
COMMIT_BATCH = 64
"""How many due timers' firings ``advance`` commits in one transaction by default."""
RETRIES = 5
DEFAULT_TIMER_RETRY = RetryPolicy(
    max_attempts=4, first_delay=timedelta(minutes=1), factor=4.0, max_delay=timedelta(hours=1)
)
"""Three retries, 1, 4 and 16 minutes after a failed firing; parked as failed at the fourth."""

_LOG = masked_logger("svcflow.timers")


@dataclass(frozen=True, slots=True)
class TimerFiring:
    """What ``advance`` did with one due timer: the history entry it wrote."""

    timer: Timer
    entry: HistoryEntry

    @property
    def late_by(self) -> timedelta:
        return timedelta(seconds=float(self.entry.details.get("late_by_seconds", 0.0)))


class AdvanceReport(list[TimerFiring]):
    """What one ``advance`` did. It is the list of timers fired, in order; ``retrying`` holds
    the timers whose firing raised and will be tried again, ``failed`` those parked as failed
    (each as stored after the failure, with ``attempts`` and ``last_error``)."""

    def __init__(self) -> None:
        super().__init__()
        self.retrying: list[Timer] = []
        self.failed: list[Timer] = []


class Prepared(NamedTuple):
    """A due timer's firing, worked out and waiting for its batch's commit."""

    timer: Timer
    change: CaseChange
    firing: TimerFiring
    scheduled: list[datetime]


class StaleServiceTimer(Exception):
    """An SLA or escalation timer whose clock moved on (normally cancelled in the same unit of
    work that moved it; kept as a guard)."""

    def __str__(self) -> str:
        return f"the SLA/escalation timer {self.args[0]} no longer applies"


class TimerService:
    """Fires due timers through the engine's :class:`~svcflow.engine.units.CaseWriter`."""

    def __init__(
        self,
        writer: CaseWriter,
        registry: WorkflowRegistry,
        lease: timedelta,
        runner_id: str,
        retry: RetryPolicy = DEFAULT_TIMER_RETRY,
        commit_batch: int = COMMIT_BATCH,
    ) -> None:
        self.writer, self.registry = writer, registry
        self.store = writer.store
        self.lease, self.runner_id = lease, runner_id
        self.retry = retry
        self.keeper = ScheduleKeeper(self.store)
        self.commit_batch = commit_batch

    def advance(self, now: datetime | None = None, limit: int | None = None) -> AdvanceReport:
        """Fire every timer due at or before ``now`` in due order, at most ``limit`` of them
        (see ``Engine.advance``)."""
        horizon = as_utc(now or self.writer.clock.now())
        report = AdvanceReport()
        tried = 0
        while limit is None or tried < limit:
            lease_until = self.writer.now() + self.lease
            size = TIMER_BATCH if limit is None else min(TIMER_BATCH, limit - tried)
            batch = self.store.claim_due_timers(horizon, size, self.runner_id, lease_until)
            if not batch:
                return report
            taken, progressed = self._fire_claimed(batch, report)
            tried += taken
            if not progressed:
                return report  # every timer read was taken by another runner meanwhile
        return report

    def _fire_claimed(self, batch: list[Timer], report: AdvanceReport) -> tuple[int, bool]:
        """Fire claimed timers in due order, their changes committed ``commit_batch`` at a
        time; how many were tried, and whether any did something. Stops early when a firing
        schedules a timer due before the rest of the batch (the next claim re-reads in order).
        A case with two timers in the batch steps from its change not yet committed."""
        pending: list[Prepared] = []
        latest = self._load_cases(batch)
        progressed = False
        for position, timer in enumerate(batch):
            outcome = self._prepare_contained(timer, latest, report)
            progressed = progressed or outcome is not None
            early = False
            if isinstance(outcome, Prepared):
                pending.append(outcome)
                latest[timer.case_id] = outcome.change.case
                if outcome.scheduled and position + 1 < len(batch):
                    following = batch[position + 1].due_at
                    early = any(due < following for due in outcome.scheduled)
            if len(pending) >= self.commit_batch or early:
                progressed = self._commit(pending, report) or progressed
                for committed in pending:  # read again if another of its timers follows
                    latest.pop(committed.timer.case_id, None)
                pending = []
            if early:
                return position + 1, True
        progressed = self._commit(pending, report) or progressed
        return len(batch), progressed

    def _load_cases(self, batch: list[Timer]) -> dict[str, Case]:
        """The cases of a claimed batch, read in one go (each firing reads its own instead
        when this read fails)."""
        try:
            return self.store.load_cases([timer.case_id for timer in batch])
        except Exception:  # a broken row fails its own firing below, not the batch
            return {}

    def _prepare_contained(
        self, timer: Timer, latest: dict[str, Case], report: AdvanceReport
    ) -> Prepared | Timer | None:
        """The change firing ``timer`` makes (on the case as the batch read it, or as an
        earlier firing of the batch left it); the stored timer when preparing it raised
        (recorded, see ``fire_contained``); None when its case is gone."""
        try:
            case = latest.get(timer.case_id) or self.store.load_case(timer.case_id)
            return None if case is None else self._prepare(timer, case)
        except Exception as error:  # one case's fault must never stop the others
            return self._record_failure(timer, error, report)

    def _commit(self, pending: list[Prepared], report: AdvanceReport) -> bool:
        """Commit prepared firings in one transaction (each alone under a savepoint); a
        firing refused by a conflict is fired again on its own, one that failed is recorded
        as failed. Whether any did something."""
        if not pending:
            return False
        outcomes = self.store.commit_many([prepared.change for prepared in pending])
        progressed = False
        for prepared, outcome in zip(pending, outcomes, strict=True):
            if outcome is None:
                self.writer.committed(prepared.change)
                report.append(prepared.firing)
            elif isinstance(outcome, TimerGone):
                continue  # fired by another runner
            elif isinstance(outcome, ConcurrencyConflict):
                again = self.fire_contained(prepared.timer, report)
                if again is None:
                    continue
                if not isinstance(again, Timer):
                    report.append(again[0])
            else:
                self._record_failure(prepared.timer, outcome, report)
            progressed = True
        return progressed

    def catch_up(self, case: Case, now: datetime) -> Case:
        """Fire the case's overdue timers before an event, so that an SLA warning or breach
        (or escalation) that fell due while no runner was advancing happens before the event
        that follows it, exactly once, at its due time. A timer whose firing raises is
        recorded as failed (see ``fire_contained``) and the event goes on."""
        report = AdvanceReport()
        for _ in range(TIMER_BATCH):  # a firing may schedule a timer that is overdue too
            due = [timer for timer in self.store.timers(case.id) if _ready(timer, now)]
            if not due:
                break
            outcome = self.fire_contained(due[0], report)
            if outcome is None or isinstance(outcome, Timer):
                break
        return self.writer.get(case.id)

    def fire_contained(
        self, timer: Timer, report: AdvanceReport
    ) -> tuple[TimerFiring, list[datetime]] | Timer | None:
        """``fire``, with anything it raises contained to this timer: the failure is stored
        (retrying with backoff, or parked as failed) and the stored timer returned."""
        try:
            return self.fire(timer)
        except Exception as error:  # one case's fault must never stop the others
            return self._record_failure(timer, error, report)

    def _record_failure(
        self, timer: Timer, error: Exception, report: AdvanceReport
    ) -> Timer | None:
        attempts = timer.attempts + 1
        reason = f"{type(error).__name__}: {error}"
        retry_at = None
        if attempts < self.retry.max_attempts:
            retry_at = self.writer.now() + self.retry.delay(attempts)
        stored = self.store.timer_failed(timer.id, reason, retry_at)
        if stored is None:
            return None
        where = f"timer {timer.id} ({timer.trigger}) of case {timer.case_id}"
        if retry_at is None:
            report.failed.append(stored)
            _LOG.error("%s failed %d times, parked as failed: %s", where, attempts, reason)
        else:
            report.retrying.append(stored)
            _LOG.warning(
                "%s failed (attempt %d), retrying at %s: %s",
                where,
                attempts,
                retry_at.isoformat(),
                reason,
            )
        return stored

    def recompute_deadlines(self, workflow: str | None = None) -> int:
        """Recompute running SLA clocks' deadlines (see ``Engine.recompute_deadlines``)."""
        moved = 0
        now = self.writer.now()
        for case in self.store.find_cases(workflow=workflow):
            if self._recompute(case.id, now):
                moved += 1
        return moved

    def _recompute(self, case_id: str, now: datetime) -> bool:
        for _ in range(RETRIES):
            current = self.store.load_case(case_id)
            if current is None or not current.sla:
                return False
            compiled = self.registry.get(current.workflow, current.version)
            at = max(now, current.updated_at)
            result = compiled.recompute_deadlines(current.state, current.data, current.sla, at)
            if result is None:
                return False
            updated = advanced(current, result, at)
            event = Event("system", "sla_recomputed", from_state=current.state)
            entry = history_entry(updated, at, event, result)
            change = self.writer.change(updated, current.revision, entry, result)
            try:
                self.store.commit(change)
            except ConcurrencyConflict:
                continue
            self.writer.committed(change)
            return True
        return False

    def fire(self, timer: Timer) -> tuple[TimerFiring, list[datetime]] | None:
        """Fire one claimed timer as its own unit of work; None when it is gone (fired by
        another runner, or its case was removed)."""
        for _ in range(RETRIES):
            case = self.store.load_case(timer.case_id)
            if case is None:
                return None
            prepared = self._prepare(timer, case)
            try:
                self.store.commit(prepared.change)
            except TimerGone:
                return None
            except ConcurrencyConflict:
                continue
            self.writer.committed(prepared.change)
            return prepared.firing, prepared.scheduled
        return None

    def _prepare(self, timer: Timer, case: Case) -> Prepared:
        """What firing ``timer`` on ``case`` writes (pure: nothing is committed)."""
        at = max(timer.due_at, case.updated_at)
        fired_at = self.writer.now()
        timing = {
            "due_at": iso_text(timer.due_at),  # a batch's timers share their moments
            "fired_at": iso_text(fired_at),
            "late_by_seconds": max(0.0, (fired_at - timer.due_at).total_seconds()),
        }
        compiled = self.registry.get(case.workflow, case.version)
        fired: tuple[str, datetime] | None = None
        if is_schedule_trigger(timer.trigger):
            firing = self.keeper.timer_step(compiled, case, timer, fired_at)
            result, kind, reason, at = firing.result, firing.kind, firing.reason, firing.at
            timing, fired = {**timing, **firing.details}, firing.fired
        else:
            result, kind, reason = _step_for(compiled, case, timer, at)
        if reason is not None:
            timing = {**timing, "reason": reason}
        updated = advanced(case, result, at)
        self.keeper.amend(compiled, case.state, updated, result, fired=fired)
        trigger = result.trigger if fired is not None else timer.trigger
        event = Event.__new__(
            Event, actor="timer", kind=kind, trigger=trigger, from_state=case.state, extra=timing
        )
        entry = history_entry(updated, at, event, result)
        change = self.writer.change(
            updated, case.revision, entry, result, consume_timer=timer.id, compiled=compiled
        )
        scheduled = [t.due_at for t in result.timers] if result.timers else []
        return tuple.__new__(Prepared, (timer, change, TimerFiring(timer, entry), scheduled))


def _step_for(
    compiled: CompiledWorkflow, case: Case, timer: Timer, at: datetime
) -> tuple[StepResult, str, str | None]:
    """What a due timer does to the case: the step, the history kind, and why it was ignored."""
    try:
        if is_service_trigger(timer.trigger):
            kind = "sla" if timer.trigger.startswith("sla:") else "escalation"
            service = compiled.service_timer(
                case.id, case.state, case.data, case.sla, timer.trigger, timer.due_at, at
            )
            if service is None:
                raise StaleServiceTimer(timer.trigger)
            return service, kind, None
        result = compiled.step(case.id, case.state, case.data, timer.trigger, None, at, case.sla)
        return result, "timer", None
    except (TransitionNotAllowed, ExpressionError, CaseDataError, StaleServiceTimer) as error:
        unchanged = StepResult(
            trigger=timer.trigger, source=case.state, target=case.state, data=dict(case.data)
        )
        return unchanged, "timer_ignored", str(error)


def release_failed(store: Store, timer_id: int) -> Timer:
    """Make a failed timer due again (see ``Engine.retry_timer``); returns it as parked."""
    failed = {timer.id: timer for timer in store.failed_timers()}
    if timer_id not in failed or not store.release_timer(timer_id):
        raise TimerNotFailed(timer_id, sorted(failed))
    return failed[timer_id]


def release_failed_timers(store: Store) -> list[Timer]:
    """Make every failed timer due again; returns those released."""
    return [timer for timer in store.failed_timers() if store.release_timer(timer.id)]


def _ready(timer: Timer, now: datetime) -> bool:
    if timer.due_at > now or timer.status == "failed":
        return False
    return timer.retry_at is None or timer.retry_at <= now


def is_service_trigger(trigger: str) -> bool:
    return trigger.startswith(("sla:", "esc:"))


def service_due(case: Case, now: datetime) -> bool:
    """Whether an SLA clock or escalation chain of the case has a moment due by ``now``."""
    if not case.sla:
        return False
    for group in case.sla.values():
        for state in group.values():
            if type(state) is Kept and state.decoded is not None:  # as the last step wrote it
                moment = state.decoded.next_due
                if moment is not None and moment <= now:
                    return True
                continue
            due = state.get("next_due")
            if due is not None and datetime.fromisoformat(due) <= now:
                return True
    return False
