"""Due timers: firing them in due order, catching a case up before an event, recomputing
deadlines after a calendar changed.

Timers live in the store. ``advance`` claims the due ones with a lease (several engines or
processes may advance one store) and fires each as its own unit of work at its due time, so
chains of timers replay correctly after downtime; an SLA or escalation timer is answered by
the machine's service step, any other by the workflow's transition for its trigger. A timer
whose trigger no longer applies is recorded as ``timer_ignored`` with the reason, never lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from svcflow.clock import as_utc
from svcflow.core.effects import StepResult
from svcflow.core.machine import CompiledWorkflow
from svcflow.engine.registry import WorkflowRegistry
from svcflow.engine.units import CaseWriter, Event, advanced, history_entry
from svcflow.errors import (
    CaseDataError,
    ConcurrencyConflict,
    ExpressionError,
    TransitionNotAllowed,
)
from svcflow.records import Case, HistoryEntry, Timer
from svcflow.store.base import TimerGone

__all__ = ["TimerFiring", "TimerService", "is_service_trigger", "service_due"]

TIMER_BATCH = 256
RETRIES = 5


@dataclass(frozen=True, slots=True)
class TimerFiring:
    """What ``advance`` did with one due timer: the history entry it wrote."""

    timer: Timer
    entry: HistoryEntry

    @property
    def late_by(self) -> timedelta:
        return timedelta(seconds=float(self.entry.details.get("late_by_seconds", 0.0)))


class StaleServiceTimer(Exception):
    """An SLA or escalation timer whose clock moved on (normally cancelled in the same unit of
    work that moved it; kept as a guard)."""

    def __str__(self) -> str:
        return f"the SLA/escalation timer {self.args[0]} no longer applies"


class TimerService:
    """Fires due timers through the engine's :class:`~svcflow.engine.units.CaseWriter`."""

    def __init__(
        self, writer: CaseWriter, registry: WorkflowRegistry, lease: timedelta, runner_id: str
    ) -> None:
        self.writer, self.registry = writer, registry
        self.store = writer.store
        self.lease, self.runner_id = lease, runner_id

    def advance(self, now: datetime | None = None) -> list[TimerFiring]:
        """Fire every timer due at or before ``now`` in due order (see ``Engine.advance``)."""
        horizon = as_utc(now or self.writer.clock.now())
        fired: list[TimerFiring] = []
        while True:
            lease_until = self.writer.now() + self.lease
            batch = self.store.claim_due_timers(horizon, TIMER_BATCH, self.runner_id, lease_until)
            if not batch:
                return fired
            progressed = False
            for position, timer in enumerate(batch):
                outcome = self.fire(timer)
                if outcome is None:
                    continue
                progressed = True
                firing, scheduled = outcome
                fired.append(firing)
                following = batch[position + 1] if position + 1 < len(batch) else None
                if following is not None and any(due < following.due_at for due in scheduled):
                    break  # a new timer is due before the rest of this batch: re-read in order
            if not progressed:
                return fired  # every timer read was taken by another runner meanwhile

    def catch_up(self, case: Case, now: datetime) -> Case:
        """Fire the case's overdue timers before an event, so that an SLA warning or breach
        (or escalation) that fell due while no runner was advancing happens before the event
        that follows it, exactly once, at its due time."""
        for _ in range(TIMER_BATCH):  # a firing may schedule a timer that is overdue too
            due = [timer for timer in self.store.timers(case.id) if timer.due_at <= now]
            if not due or self.fire(due[0]) is None:
                break
        return self.writer.get(case.id)

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
            at = max(timer.due_at, case.updated_at)
            fired_at = self.writer.now()
            timing = {
                "due_at": timer.due_at.isoformat(),
                "fired_at": fired_at.isoformat(),
                "late_by_seconds": max(0.0, (fired_at - timer.due_at).total_seconds()),
            }
            compiled = self.registry.get(case.workflow, case.version)
            result, kind, reason = _step_for(compiled, case, timer, at)
            if reason is not None:
                timing = {**timing, "reason": reason}
            updated = advanced(case, result, at)
            event = Event(
                actor="timer", kind=kind, trigger=timer.trigger, from_state=case.state, extra=timing
            )
            entry = history_entry(updated, at, event, result)
            change = self.writer.change(
                updated, case.revision, entry, result, consume_timer=timer.id
            )
            try:
                self.store.commit(change)
            except TimerGone:
                return None
            except ConcurrencyConflict:
                continue
            self.writer.committed(change)
            return TimerFiring(timer, entry), [t.due_at for t in result.timers]
        return None


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


def is_service_trigger(trigger: str) -> bool:
    return trigger.startswith(("sla:", "esc:"))


def service_due(case: Case, now: datetime) -> bool:
    """Whether an SLA clock or escalation chain of the case has a moment due by ``now``."""
    if not case.sla:
        return False
    for group in case.sla.values():
        for state in group.values():
            due = state.get("next_due")
            if due is not None and datetime.fromisoformat(due) <= now:
                return True
    return False
