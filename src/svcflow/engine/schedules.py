"""Recurring schedules on cases: arming their timers, and firing them after downtime once.

A workflow's ``schedules`` (:class:`~svcflow.spec.care.ScheduledTriggerSpec`) run while a case
is in one of their states. Each running schedule keeps one durable timer in the store, with
the trigger ``rec:<schedule>``, due at its next occurrence and remembering that occurrence's
nominal moment. The timer is added by the step that starts the case in (or moves it into) a
state the schedule runs in, replaced when a step changes the date it counts from, and
cancelled by the step that moves the case out.

When the timer is due, :meth:`ScheduleKeeper.timer_step` asks the compiled schedule
(:func:`svcflow.sla.recurrence.compile_schedule`) for the latest occurrence due by now
(``Recurrence.catch_up``): after downtime that is the latest missed one only, fired once, with
the number of earlier ones it stands for in the history entry (``skipped``). The same unit of
work that fires the trigger consumes the timer and adds the next one, so a crash leaves either
both or neither: an occurrence never fires twice and the schedule never stops.

Times are local to the customer record's ``timezone``, else the schedule's calendar's, else the
workflow's ``sla`` calendar's, else UTC.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from svcflow.core.effects import StepResult, TimerRequest
from svcflow.core.machine import CompiledWorkflow
from svcflow.definitions.care import active_states
from svcflow.errors import CaseDataError, ExpressionError, TransitionNotAllowed
from svcflow.records import Case, Customer, Timer
from svcflow.sla.recurrence import Occurrence, Recurrence, RecurrenceError, compile_schedule
from svcflow.spec.care import ScheduledTriggerSpec
from svcflow.spec.recurrence import EverySpec
from svcflow.store.base import Store

__all__ = [
    "RECURRENCE_CACHE_SIZE",
    "SCHEDULE_PREFIX",
    "ScheduleKeeper",
    "ScheduledFiring",
    "is_schedule_trigger",
    "schedule_trigger",
]

SCHEDULE_PREFIX = "rec:"
_UTC = ZoneInfo("UTC")
_JUST_BEFORE = timedelta(microseconds=1)


def schedule_trigger(name: str) -> str:
    """The trigger of a schedule's timer."""
    return SCHEDULE_PREFIX + name


def is_schedule_trigger(trigger: str) -> bool:
    return trigger.startswith(SCHEDULE_PREFIX)


RECURRENCE_CACHE_SIZE = 4096
"""How many compiled schedules a :class:`ScheduleKeeper` keeps (least recently used go)."""


class ScheduleKeeper:
    """Adds, replaces and cancels the schedule timers of each step, and fires them.

    A schedule compiled for a case (its RFC 5545 rule, anchor and calendars) is kept, keyed by
    the workflow version, the schedule and what the rule depends on (the case's start, the time
    zone and the dates it counts from), so arming and firing it again reuse the rule."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._compiled: OrderedDict[tuple[Any, ...], Recurrence] = OrderedDict()
        self._lock = threading.Lock()

    def amend(
        self,
        compiled: CompiledWorkflow,
        before: str | None,
        case: Case,
        result: StepResult,
        *,
        customer_id: str | None = None,
        fired: tuple[str, datetime] | None = None,
        rearm: bool = False,
    ) -> None:
        """Add to ``result`` the schedule timers its step arms and the ones it ends.

        ``before`` is the state the case was in (None for a start), ``case`` the case after the
        step, ``fired`` the schedule whose timer this step consumed and its occurrence's
        nominal moment (the next one counts from there); ``rearm`` replaces the timer of every
        running schedule (the customer's birthday, customer-since date or time zone changed)."""
        spec = compiled.spec
        if not spec.schedules:
            return
        finals = {name for name, state in spec.states.items() if state.final}
        customer: list[Customer | None] = []
        for name, schedule in spec.schedules.items():
            active = active_states(schedule, finals, list(spec.states))
            was, now = before in active, result.target in active
            trigger = schedule_trigger(name)
            refire = fired is not None and fired[0] == name
            if not now:
                if was and not refire:
                    result.cancel_triggers.append(trigger)
                continue
            moved = _anchor_moved(schedule, result)
            if refire and fired is not None:
                after = fired[1]
            elif not was or moved or rearm:
                after = case.updated_at
                if was:
                    result.cancel_triggers.append(trigger)
            else:
                continue
            if not customer:
                customer.append(self._customer(case, customer_id))
            self._arm(compiled, name, case, customer[0], after, result)

    def _arm(
        self,
        compiled: CompiledWorkflow,
        name: str,
        case: Case,
        customer: Customer | None,
        after: datetime,
        result: StepResult,
    ) -> None:
        schedule = compiled.spec.schedules[name]
        try:
            occurrence = self.recurrence(compiled, schedule, case, customer).next_after(after)
        except (RecurrenceError, StopIteration) as error:
            result.notes.append(f"schedule '{name}' is not running: {error or 'no occurrence'}")
            return
        result.timers.append(
            TimerRequest(
                trigger=schedule_trigger(name),
                due_at=occurrence.due,
                keep=True,
                nominal=occurrence.nominal,
            )
        )

    def recurrence(
        self,
        compiled: CompiledWorkflow,
        schedule: ScheduledTriggerSpec,
        case: Case,
        customer: Customer | None,
    ) -> Recurrence:
        """The schedule compiled for this case and its customer (``RecurrenceError`` when a
        date it counts from is missing)."""
        zone = _zone(compiled, schedule, customer)
        fields = _fields(case.data, customer)
        calendars = compiled.calendars
        quiet = compiled.spec.quiet_hours
        calendar = calendars[schedule.calendar] if schedule.calendar else None
        quiet_calendar = calendars[quiet.calendar] if quiet is not None else None
        dates = tuple(fields.get(name) for name in _date_fields(schedule))
        key = (
            (compiled.workflow, compiled.version, id(schedule)),
            (case.created_at, zone.key, dates),
            (id(calendar), id(quiet_calendar)),
        )
        with self._lock:
            found = self._compiled.get(key)
            if found is not None:
                self._compiled.move_to_end(key)
                return found
        recurrence = compile_schedule(
            schedule,
            start=case.created_at,
            zone=zone,
            fields=fields,
            calendar=calendar,
            quiet=quiet_calendar,
        )
        with self._lock:
            self._compiled[key] = recurrence
            if len(self._compiled) > RECURRENCE_CACHE_SIZE:
                self._compiled.popitem(last=False)
        return recurrence

    def timer_step(
        self, compiled: CompiledWorkflow, case: Case, timer: Timer, now: datetime
    ) -> ScheduledFiring:
        """Fire a due schedule timer: its trigger at the latest occurrence due by ``now``
        (see :class:`ScheduledFiring`). A trigger the case does not take now is recorded as
        ``timer_ignored``; the caller arms the next occurrence either way (``amend`` with
        ``fired``), so the schedule never stops."""
        name = timer.trigger.removeprefix(SCHEDULE_PREFIX)
        schedule = compiled.spec.schedules.get(name)
        unchanged = StepResult(
            trigger=timer.trigger, source=case.state, target=case.state, data=dict(case.data)
        )
        at = max(timer.due_at, case.updated_at)
        if schedule is None:
            missing = f"workflow '{case.workflow}' v{case.version} has no schedule '{name}'"
            return _ignored(unchanged, missing, at)
        try:
            recurrence = self.recurrence(compiled, schedule, case, self._customer(case, None))
        except RecurrenceError as error:
            return _ignored(unchanged, str(error), at)
        occurrence = _occurrence(recurrence, timer, now)
        details = {
            "schedule": name,
            "nominal": occurrence.nominal.isoformat(),
            "skipped": occurrence.skipped,
        }
        at = max(occurrence.due, case.updated_at)
        result, kind, reason = _scheduled_step(compiled, case, schedule.trigger, at, unchanged)
        return ScheduledFiring(
            result=result,
            kind=kind,
            reason=reason,
            details=details,
            at=at,
            fired=(name, occurrence.nominal),
        )

    def _customer(self, case: Case, customer_id: str | None) -> Customer | None:
        owner = customer_id or self.store.case_customer(case.id)
        return None if owner is None else self.store.load_customer(owner)


@dataclass(frozen=True, slots=True)
class ScheduledFiring:
    """What a due schedule timer does: the ``result`` of its trigger, the history ``kind``
    (``timer`` or ``timer_ignored`` with ``reason``), ``details`` for the history entry
    (``schedule``, ``nominal``, ``skipped``: the earlier occurrences missed while nobody
    advanced), the moment ``at`` it happens (the occurrence's due time) and ``fired`` (the
    schedule and nominal moment the next occurrence counts from; None when it stops)."""

    result: StepResult
    kind: str
    reason: str | None
    details: dict[str, Any]
    at: datetime
    fired: tuple[str, datetime] | None


def _ignored(unchanged: StepResult, reason: str, at: datetime) -> ScheduledFiring:
    """A schedule timer that no longer applies (its schedule or date is gone): it stops."""
    return ScheduledFiring(
        result=unchanged, kind="timer_ignored", reason=reason, details={}, at=at, fired=None
    )


def _occurrence(recurrence: Recurrence, timer: Timer, now: datetime) -> Occurrence:
    """The latest occurrence due by ``now`` from the timer's own (its nominal moment)."""
    nominal = timer.nominal or timer.due_at
    latest = recurrence.catch_up(nominal - _JUST_BEFORE, max(now, timer.due_at))
    return latest or Occurrence(due=timer.due_at, nominal=nominal)


def _scheduled_step(
    compiled: CompiledWorkflow, case: Case, trigger: str, at: datetime, unchanged: StepResult
) -> tuple[StepResult, str, str | None]:
    try:
        result = compiled.step(case.id, case.state, case.data, trigger, None, at, case.sla)
        return result, "timer", None
    except (TransitionNotAllowed, ExpressionError, CaseDataError) as error:
        unchanged.trigger = trigger
        return unchanged, "timer_ignored", str(error)


def _anchor_moved(schedule: ScheduledTriggerSpec, result: StepResult) -> bool:
    """Whether the step changed the case field the schedule counts from."""
    return schedule.after is not None and schedule.after in result.changed


def _date_fields(schedule: ScheduledTriggerSpec) -> list[str]:
    """The fields the schedule's rule counts from (``after``, a ``yearly`` date field)."""
    names = [schedule.after] if schedule.after is not None else []
    every = schedule.every
    if isinstance(every, EverySpec) and every.yearly is not None and "-" not in every.yearly:
        names.append(every.yearly)
    return names


def _fields(data: Mapping[str, Any], customer: Customer | None) -> dict[str, Any]:
    fields = dict(data)
    if customer is not None:
        fields["customer.birthday"] = customer.birthday
        fields["customer.since"] = customer.since
    return fields


def _zone(
    compiled: CompiledWorkflow, schedule: ScheduledTriggerSpec, customer: Customer | None
) -> ZoneInfo:
    if customer is not None and customer.timezone:
        return ZoneInfo(customer.timezone)
    spec = compiled.spec
    name = schedule.calendar or (spec.sla.calendar if spec.sla is not None else None)
    calendar = compiled.calendars.get(name) if name else None
    return calendar.zone if calendar is not None else _UTC
