"""The :class:`Engine`: the small API a host application embeds.

The engine orchestrates; it holds no case state of its own. Each ``start``, ``fire`` and due
timer is one unit of work: read the case, let the workflow's compiled machine decide (pure), then
commit the case, its history entry, timer changes, queued notifications and the idempotency
record in one store transaction. A retried event with the same idempotency key is answered with
the first result; a stale writer gets ``ConcurrencyConflict``; a disallowed trigger leaves the
case untouched.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType, TracebackType
from typing import Any

from svcflow.calendar import BusinessCalendar
from svcflow.clock import Clock, SystemClock, as_utc
from svcflow.definitions import load_definitions
from svcflow.effects import StepResult
from svcflow.errors import (
    CaseDataError,
    CaseNotFound,
    ConcurrencyConflict,
    ExpressionError,
    IdempotencyKeyReused,
    TransitionNotAllowed,
)
from svcflow.escalation import Chain
from svcflow.machine import CompiledWorkflow
from svcflow.records import NO_DETAILS, Case, HistoryEntry, Notification, Timer, plain
from svcflow.registry import WorkflowRegistry
from svcflow.slastatus import SlaStatus, sla_report
from svcflow.spec.loader import LoadedWorkflow
from svcflow.store.base import (
    CaseChange,
    IdempotencyRecord,
    IdempotentReplay,
    NewNotification,
    NewTimer,
    Store,
    TimerGone,
    open_store,
)

__all__ = ["Engine", "TimerFiring"]

_TIMER_BATCH = 256
_TIMER_RETRIES = 5


@dataclass(frozen=True, slots=True)
class TimerFiring:
    """What ``advance`` did with one due timer: the history entry it wrote."""

    timer: Timer
    entry: HistoryEntry

    @property
    def late_by(self) -> timedelta:
        return timedelta(seconds=float(self.entry.details.get("late_by_seconds", 0.0)))


class Engine:
    """Runs cases of loaded workflows against a store, on an injected clock.

    Build one with :meth:`from_directory`; it is safe to share between threads. Close it (or use
    it as a context manager) to release the store. ``timer_lease`` is how long this engine holds
    the due timers it claims in ``advance``: several engines (or processes) advancing one store
    share the due timers, and the timers of one that dies are claimed by another once its lease
    runs out.
    """

    def __init__(
        self,
        workflows: Iterable[LoadedWorkflow],
        store: Store | str = "memory://",
        clock: Clock | None = None,
        *,
        id_factory: Callable[[], str] | None = None,
        timer_lease: timedelta = timedelta(minutes=1),
        calendars: Iterable[BusinessCalendar] | Mapping[str, BusinessCalendar] = (),
    ) -> None:
        self.store: Store = open_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        by_id = (
            dict(calendars)
            if isinstance(calendars, Mapping)
            else {calendar.id: calendar for calendar in calendars}
        )
        self.registry = WorkflowRegistry(workflows, self.store, by_id)
        self.store.attach_codec(self.registry)
        self._new_id = id_factory or (lambda: uuid.uuid4().hex)
        self.timer_lease = timer_lease
        self.runner_id = f"engine-{uuid.uuid4().hex[:12]}"

    @classmethod
    def from_directory(
        cls,
        path: str | Path,
        store: Store | str = "sqlite:///cases.db",
        clock: Clock | None = None,
        **options: Any,
    ) -> Engine:
        """Load every workflow and calendar file under ``path`` (all problems reported at once)
        and open ``store`` (``"sqlite:///cases.db"`` by default, or ``"memory://"``)."""
        found = load_definitions(path)
        return cls(found.workflows, store, clock, calendars=found.calendars, **options)

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    @property
    def workflows(self) -> dict[str, CompiledWorkflow]:
        """The current (newest loaded) version of each workflow, by id."""
        return self.registry.current

    # -- events -----------------------------------------------------------------------------------

    def start(
        self,
        workflow: str,
        data: Mapping[str, Any] | None = None,
        actor: str = "system",
        idempotency_key: str | None = None,
    ) -> Case:
        """Start a case of the newest version of ``workflow`` with ``data``; return it.

        The data is validated against the workflow's ``data`` (``CaseDataError`` lists every
        problem); the initial state's ``on_enter`` actions run.
        """
        compiled = self.registry.newest(workflow)
        scope = f"start:{workflow}"
        if idempotency_key is not None:
            replayed = self._replayed(idempotency_key, scope)
            if replayed is not None:
                return replayed
        now = self._now()
        result = compiled.start(data, now)
        case = Case(
            self._new_id(),
            compiled.workflow,
            compiled.version,
            result.target,
            MappingProxyType(result.data),
            1,
            now,
            now,
            MappingProxyType(result.service) if result.service else NO_DETAILS,
        )
        given = {name: plain(result.data[name]) for name in data} if data else None
        entry = self._entry(case, now, actor, "started", None, None, result, given)
        return self._commit(self._change(case, None, entry, result, idempotency_key, scope))

    def fire(
        self,
        case_id: str,
        trigger: str,
        payload: Mapping[str, Any] | None = None,
        actor: str = "system",
        idempotency_key: str | None = None,
        *,
        expected_revision: int | None = None,
    ) -> Case:
        """Fire ``trigger`` on a case; return the case after the transition.

        ``payload`` sets data fields (validated). ``expected_revision`` makes the call fail with
        ``ConcurrencyConflict`` unless the case is still at that revision (for a person acting
        on what they last saw). Raises ``TransitionNotAllowed`` (or its subclasses
        ``UnknownTrigger``/``ConditionNotMet``) naming the triggers allowed now; in every error
        case nothing is written.
        """
        scope = ""
        if idempotency_key is not None:
            scope = f"fire:{case_id}:{trigger}"
            replayed = self._replayed(idempotency_key, scope)
            if replayed is not None:
                return replayed
        case = self.get(case_id)
        if expected_revision is not None and case.revision != expected_revision:
            raise ConcurrencyConflict(case_id, expected_revision, case.revision)
        compiled = self.registry.get(case.workflow, case.version)
        now = self._now()
        if _service_due(case, now):
            case = self._catch_up(case, now)
        if now < case.updated_at:
            now = case.updated_at
        result = compiled.step(case.id, case.state, case.data, trigger, payload, now, case.sla)
        updated = self._advanced(case, result, now)
        given = plain(result.payload) if payload else None
        entry = self._entry(updated, now, actor, "transition", trigger, case.state, result, given)
        change = self._change(updated, case.revision, entry, result, idempotency_key, scope)
        return self._commit(change)

    def advance(self, now: datetime | None = None) -> list[TimerFiring]:
        """Fire every timer due at or before ``now`` (default: the clock's now), in due order.

        Due timers are claimed with a lease first (see ``timer_lease``). Each timer fires once, as
        its own unit of work, at its due time (so chains of timers
        replay correctly after downtime); the history entry records ``due_at``, when it actually
        fired (``fired_at``) and ``late_by_seconds``. Timers scheduled by a firing that are
        already due fire in the same call. Returns what was fired, in order.
        """
        horizon = as_utc(now or self.clock.now())
        fired: list[TimerFiring] = []
        while True:
            lease_until = self._now() + self.timer_lease
            batch = self.store.claim_due_timers(horizon, _TIMER_BATCH, self.runner_id, lease_until)
            if not batch:
                return fired
            progressed = False
            for position, timer in enumerate(batch):
                outcome = self._fire_timer(timer)
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

    def _catch_up(self, case: Case, now: datetime) -> Case:
        """Fire the case's overdue timers before an event, so that an SLA warning or breach
        (or escalation) that fell due while no runner was advancing happens before the event
        that follows it, exactly once, at its due time."""
        for _ in range(_TIMER_BATCH):  # a firing may schedule a timer that is overdue too
            due = [timer for timer in self.store.timers(case.id) if timer.due_at <= now]
            if not due or self._fire_timer(due[0]) is None:
                break
        return self.get(case.id)

    def recompute_deadlines(self, workflow: str | None = None) -> int:
        """Recompute the deadlines of running SLA clocks (after a calendar file changed),
        keeping the business time each clock has used; returns how many cases moved. Each case
        is one unit of work with a ``sla_recomputed`` history entry."""
        moved = 0
        now = self._now()
        for case in self.store.find_cases(workflow=workflow):
            for _ in range(_TIMER_RETRIES):
                current = self.store.load_case(case.id)
                if current is None or not current.sla:
                    break
                compiled = self.registry.get(current.workflow, current.version)
                at = max(now, current.updated_at)
                result = compiled.recompute_deadlines(current.state, current.data, current.sla, at)
                if result is None:
                    break
                updated = self._advanced(current, result, at)
                entry = self._entry(
                    updated, at, "system", "sla_recomputed", None, current.state, result
                )
                try:
                    self.store.commit(
                        self._change(updated, current.revision, entry, result, None, "")
                    )
                except ConcurrencyConflict:
                    continue
                moved += 1
                break
        return moved

    # -- reads ------------------------------------------------------------------------------------

    def sla(self, case_id: str) -> list[SlaStatus]:
        """Each SLA metric of the case that has started: status (running, paused, met,
        breached, cancelled), target, business time used and remaining, deadline, warnings."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        if compiled.sla is None:
            return []
        return sla_report(compiled.sla, case.sla, self._now())

    def escalations(self, case_id: str) -> dict[str, Chain]:
        """The state of each escalation chain the case has started, by name."""
        case = self.get(case_id)
        return {
            name: Chain.from_json(chain) for name, chain in case.sla.get("escalations", {}).items()
        }

    def get(self, case_id: str) -> Case:
        """The case as last committed; ``CaseNotFound`` if there is none."""
        case = self.store.load_case(case_id)
        if case is None:
            raise CaseNotFound(case_id)
        return case

    def history(self, case_id: str) -> list[HistoryEntry]:
        """Every committed event of the case, oldest first."""
        self.get(case_id)
        return self.store.history(case_id)

    def triggers(self, case_id: str) -> list[str]:
        """The triggers that may fire now: a transition leaves the state and its condition holds."""
        case = self.get(case_id)
        compiled = self.registry.get(case.workflow, case.version)
        return compiled.allowed_triggers(case.state, case.data, self._now())

    def find(self, workflow: str | None = None, state: str | None = None) -> list[Case]:
        """Cases of a workflow and/or in a state, oldest first."""
        return self.store.find_cases(workflow=workflow, state=state)

    def timers(self, case_id: str) -> list[Timer]:
        """The case's pending timers, earliest first."""
        return self.store.timers(case_id)

    def notifications(
        self, case_id: str | None = None, status: str | None = None
    ) -> list[Notification]:
        """Queued notifications (the outbox), optionally of one case or status."""
        return self.store.notifications(case_id=case_id, status=status)

    # -- units of work ----------------------------------------------------------------------------

    def _replayed(self, key: str, scope: str) -> Case | None:
        record = self.store.idempotency(key)
        return None if record is None else _first_result(record, scope)

    def _commit(self, change: CaseChange) -> Case:
        try:
            self.store.commit(change)
        except IdempotentReplay as replay:  # the same key committed meanwhile (a racing retry)
            return _first_result(replay.record, change.idempotency_scope or "")
        return change.case

    @staticmethod
    def _advanced(case: Case, result: StepResult, now: datetime) -> Case:
        data = MappingProxyType(result.data) if result.changed else case.data
        service = case.sla if result.service is None else MappingProxyType(result.service)
        return Case(
            case.id,
            case.workflow,
            case.version,
            result.target,
            data,
            case.revision + 1,
            case.created_at,
            now,
            service,
        )

    def _now(self) -> datetime:
        moment = self.clock.now()
        return moment if moment.tzinfo is UTC else as_utc(moment)

    @staticmethod
    def _entry(
        case: Case,
        at: datetime,
        actor: str,
        kind: str,
        trigger: str | None,
        from_state: str | None,
        result: StepResult,
        payload: Any = None,
        extra: Mapping[str, Any] | None = None,
    ) -> HistoryEntry:
        details: dict[str, Any] = {}
        if result.changed and kind != "started":
            details["set"] = plain(result.changed)
        if result.timers:
            details["timers"] = [
                {"trigger": t.trigger, "due_at": t.due_at.isoformat(), "keep": t.keep}
                for t in result.timers
            ]
        if result.left_state is not None:
            details["left"] = result.left_state
        if result.cancel_triggers:
            details["cancelled"] = list(result.cancel_triggers)
        if result.notifications:
            details["notifications"] = [
                {"template": n.template, "to": list(n.recipients)} for n in result.notifications
            ]
        if result.notes:
            details["notes"] = list(result.notes)
        if result.service_events:
            details["sla"] = list(result.service_events)
        if extra:
            details.update(extra)
        return HistoryEntry(
            case.id,
            case.revision,
            at,
            actor,
            kind,
            trigger,
            from_state,
            case.state,
            payload,
            case.version,
            details or NO_DETAILS,
        )

    @staticmethod
    def _change(
        case: Case,
        expected_revision: int | None,
        entry: HistoryEntry,
        result: StepResult,
        idempotency_key: str | None,
        scope: str,
        consume_timer: int | None = None,
    ) -> CaseChange:
        timers = (
            [NewTimer(t.trigger, t.due_at, case.state, t.keep) for t in result.timers]
            if result.timers
            else ()
        )
        notifications = (
            [
                NewNotification(
                    f"{case.id}:{case.revision}:{index}",
                    n.template,
                    n.recipients,
                    n.channel,
                    n.urgent,
                    deliver_after=n.hold_until,
                )
                for index, n in enumerate(result.notifications, start=1)
            ]
            if result.notifications
            else ()
        )
        return CaseChange(
            case,
            expected_revision,
            entry,
            timers,
            result.left_state,
            result.cancel_triggers,
            consume_timer,
            notifications,
            idempotency_key,
            scope if idempotency_key else None,
        )

    def _fire_timer(self, timer: Timer) -> tuple[TimerFiring, list[datetime]] | None:
        for _ in range(_TIMER_RETRIES):
            case = self.store.load_case(timer.case_id)
            if case is None:
                return None
            compiled = self.registry.get(case.workflow, case.version)
            at = max(timer.due_at, case.updated_at)
            fired_at = self._now()
            timing = {
                "due_at": timer.due_at.isoformat(),
                "fired_at": fired_at.isoformat(),
                "late_by_seconds": max(0.0, (fired_at - timer.due_at).total_seconds()),
            }
            try:
                if is_service_trigger(timer.trigger):
                    kind = "sla" if timer.trigger.startswith("sla:") else "escalation"
                    service = compiled.service_timer(
                        case.id, case.state, case.data, case.sla, timer.trigger, timer.due_at, at
                    )
                    if service is None:
                        raise StaleServiceTimer(timer.trigger)
                    result = service
                else:
                    result = compiled.step(
                        case.id, case.state, case.data, timer.trigger, None, at, case.sla
                    )
                    kind = "timer"
            except (
                TransitionNotAllowed,
                ExpressionError,
                CaseDataError,
                StaleServiceTimer,
            ) as error:
                result = StepResult(timer.trigger, case.state, case.state, dict(case.data))
                kind = "timer_ignored"
                timing = {**timing, "reason": str(error)}
            updated = self._advanced(case, result, at)
            entry = self._entry(
                updated,
                at,
                "timer",
                kind,
                timer.trigger,
                case.state,
                result,
                extra=timing,
            )
            change = self._change(
                updated, case.revision, entry, result, None, "", consume_timer=timer.id
            )
            try:
                self.store.commit(change)
            except TimerGone:
                return None
            except ConcurrencyConflict:
                continue
            return TimerFiring(timer, entry), [t.due_at for t in result.timers]
        return None


class StaleServiceTimer(Exception):
    """An SLA or escalation timer whose clock moved on (normally cancelled in the same unit of
    work that moved it; kept as a guard)."""

    def __str__(self) -> str:
        return f"the SLA/escalation timer {self.args[0]} no longer applies"


def is_service_trigger(trigger: str) -> bool:
    return trigger.startswith(("sla:", "esc:"))


def _service_due(case: Case, now: datetime) -> bool:
    """Whether an SLA clock or escalation chain of the case has a moment due by ``now``."""
    if not case.sla:
        return False
    for group in case.sla.values():
        for state in group.values():
            due = state.get("next_due")
            if due is not None and datetime.fromisoformat(due) <= now:
                return True
    return False


def _first_result(record: IdempotencyRecord, scope: str) -> Case:
    """The first result of an idempotent event, unless the key was used for another event."""
    if record.scope != scope:
        raise IdempotencyKeyReused(
            record.key, _describe_scope(record.scope), _describe_scope(scope)
        )
    return record.case


def _describe_scope(scope: str) -> str:
    kind, _, rest = scope.partition(":")
    if kind == "start":
        return f"starting a '{rest}' case"
    case_id, _, trigger = rest.partition(":")
    return f"trigger '{trigger}' on case {case_id}"
