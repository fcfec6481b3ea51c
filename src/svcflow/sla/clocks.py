"""SLA clocks: pure logic that turns what a step did into clock changes, events and timers.

A workflow's ``sla.metrics`` are compiled once into a :class:`SlaPolicy`. After every step the
engine asks :meth:`SlaPolicy.apply` what the step means for each clock (start, pause, resume,
stop, cancel, reset, re-target) and gets back the new clock states (plain JSON kept with the
case), the events to write into the step's history entry, and the warning and breach timers to
cancel and schedule; a due warning or breach timer comes back through :meth:`SlaPolicy.on_timer`.
Nothing here does I/O or reads a clock: ``now`` comes with the step.

The model (``docs/sla.md`` has diagrams and worked examples): a clock has a *budget* of
business time on its target's calendar and counts the business time *used* while it runs. A
pause keeps what was used; resuming continues with what remained. The deadline is always
``calendar.add(since, budget - used)``, so re-targeting (a priority change) keeps the time used
and only changes the budget, and a changed calendar moves open deadlines. Each warning and the
breach happen at most once per cycle; a reset or a new cycle re-arms them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeVar, cast

from svcflow.clock import iso_text
from svcflow.durations import format_duration
from svcflow.errors import ExpressionError
from svcflow.rules.expressions import CaseVariables, Expression
from svcflow.sla.calendar import BusinessCalendar
from svcflow.spec.sla import ConditionSpec, MetricSpec, SlaSpec, TargetSpec, Within
from svcflow.spec.yamlsource import KeyPath

__all__ = [
    "Clock",
    "ClockStatus",
    "ConditionSet",
    "Encoded",
    "Kept",
    "Kinds",
    "MetricMove",
    "Move",
    "Reach",
    "SlaOutcome",
    "SlaPolicy",
    "StepFacts",
    "TimerAction",
    "clock_changes",
]


_Decoded = TypeVar("_Decoded")
_Events = list[dict[str, Any]]


class StepFacts(NamedTuple):
    """What one step did, as conditions see it. ``before`` is None when the case starts.
    (A named tuple: built on every step, about 3x cheaper than a frozen dataclass.)"""

    trigger: str | None
    left: str | None
    entered: str | None
    state: str
    before: Mapping[str, Any] | None
    after: Mapping[str, Any]
    now: datetime


def holds(expression: Expression, data: Mapping[str, Any], state: str, now: datetime) -> bool:
    """Whether a condition holds on ``data``; one that cannot be evaluated (a field still null)
    does not hold."""
    try:
        return expression.test(CaseVariables(data, state, now))
    except ExpressionError:
        return False


class ConditionSet:
    """Compiled conditions of one kind (``start``, ``pause``...): any of them matching counts."""

    def __init__(
        self,
        conditions: Sequence[ConditionSpec],
        expressions: Mapping[KeyPath, Expression],
        base: KeyPath,
    ) -> None:
        self.enter = frozenset(s for c in conditions for s in c.enter or ())
        self.leave = frozenset(s for c in conditions for s in c.leave or ())
        self.trigger = frozenset(t for c in conditions for t in c.trigger or ())
        self.when = [
            expressions.get((*base, index, "when")) or expressions[(*base, "when")]
            for index, c in enumerate(conditions)
            if c.when is not None
        ]  # keyed as written: a single condition may be written without a list
        self.reads = [_fields_read(expression) for expression in self.when]

    def moved(self, trigger: str | None, left: str | None, entered: str | None) -> bool:
        """Whether a step firing ``trigger`` from ``left`` into ``entered`` matches a condition
        by the states and triggers it names (whatever the data)."""
        return (
            (entered is not None and entered in self.enter)
            or (left is not None and left in self.leave)
            or (trigger is not None and trigger in self.trigger)
        )

    def became_true(self, facts: StepFacts) -> bool:
        """Whether a ``when`` holds after the step and did not before it (not evaluated when
        the fields it reads kept their values: it gives what it gave before)."""
        before, after = facts.before, facts.after
        if before is after:
            return False  # the same data: no condition can start to hold
        for expression, fields in zip(self.when, self.reads, strict=True):
            if before is not None and fields is not None and _same(fields, before, after):
                continue
            if holds(expression, after, facts.state, facts.now) and not (
                before is not None and holds(expression, before, facts.state, facts.now)
            ):
                return True
        return False


def _fields_read(expression: Expression) -> tuple[str, ...] | None:
    """The case fields a condition reads, when its result depends on nothing else the step
    can change (``state`` and ``now`` are the same before and after); None for a condition
    that calls functions (a decision table reads its own inputs)."""
    if type(expression) is not Expression or expression.functions is not None:
        return None
    return tuple(name for name in expression.names if name not in ("state", "now", "actor"))


def _same(fields: tuple[str, ...], before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    for name in fields:
        old, new = before.get(name), after.get(name)
        if old is not new and (type(old) is not type(new) or old != new):
            return False
    return True


class Kinds:
    """Which condition kinds of a metric or chain a step matches. What can be decided once per
    move (trigger, state left, state entered) is decided when the move is first seen: the
    kinds its states and triggers match (``moved``), and whether any ``when`` could start to
    hold (``dynamic``; a ``when`` is evaluated only when the step changed the data)."""

    __slots__ = ("dynamic", "moved", "sets")

    def __init__(
        self,
        sets: Mapping[str, ConditionSet],
        trigger: str | None,
        left: str | None,
        entered: str | None,
    ) -> None:
        self.sets = sets
        self.moved = frozenset(k for k, c in sets.items() if c.moved(trigger, left, entered))
        self.dynamic = any(c.when for c in sets.values())

    def matches(self, kind: str, facts: StepFacts) -> bool:
        """Whether the step matches any of the ``kind`` conditions."""
        if kind in self.moved:
            return True
        conditions = self.sets[kind]
        return bool(conditions.when) and conditions.became_true(facts)

    def quiet(self, facts: StepFacts) -> bool:
        """Whether no condition can match: no state or trigger matched, and no ``when`` could
        start to hold (it has none, or the step left the data as it was)."""
        return not self.moved and not (self.dynamic and facts.before is not facts.after)


Move = tuple[str | None, str | None, str | None]
"""A step as the conditions' states and triggers see it: trigger, state left, state entered."""

Reach = Literal["always", "data", "never"]
"""Whether a move can change a clock or chain: whatever the data, only when the step changed
the data, or never (see :meth:`SlaPolicy.reach`)."""


_ACTIVE = ("running", "paused")
_STATUSES = (None, "running", "paused", "stopped", "cancelled")


def clock_changes(
    matched: frozenset[str], status: ClockStatus | None, reopen: str, retargets: bool
) -> tuple[str, ...]:
    """The changes a step makes to a clock in ``status`` (None: the metric has none yet), in
    order, given the condition kinds it matched: ``cancel`` and ``stop`` end an active clock;
    ``reset`` starts its next cycle; ``start`` (or ``continue``, for a stopped clock whose
    metric reopens with ``continue``) a clock that is not active, unless the step also
    cancels it; then ``resume`` and ``pause``, and ``retarget`` for a clock that was already
    active and whose metric chooses its target by conditions."""
    changes: list[str] = []
    fresh = False
    if status in _ACTIVE:
        if "cancel" in matched:
            return ("cancel",)
        if "stop" in matched:
            return ("stop",)
        if "reset" in matched:
            changes.append("reset")
            status, fresh = "running", True
    elif "start" in matched and "cancel" not in matched:
        changes.append("continue" if status == "stopped" and reopen == "continue" else "start")
        status, fresh = "running", True
    else:
        return ()
    if status == "paused" and "resume" in matched:
        changes.append("resume")
        status = "running"
    if status == "running" and "pause" in matched:
        changes.append("pause")
    if retargets and not fresh:
        changes.append("retarget")
    return tuple(changes)


class MetricMove:
    """What one move (trigger, state left, state entered) does to one metric's clock, worked
    out when the move is first seen: for each clock status, the list of changes when no
    ``when`` can start to hold (the step left the data as it was, or the metric has none);
    ``inert`` when that list is empty for every status and no target is chosen by a
    condition, so the step need not read the clock at all. A step that changed the data of a
    metric with ``when`` conditions evaluates the ones that could matter for the clock's
    status and looks up the changes for what matched (kept per status and kinds matched)."""

    __slots__ = (
        "_changes",
        "_reopen",
        "_retargets",
        "dynamic",
        "fixed",
        "inert",
        "kinds",
        "metric",
    )

    def __init__(self, metric: _Metric, move: Move) -> None:
        self.metric = metric
        self.kinds = kinds = Kinds(metric.conditions, *move)
        self.dynamic = kinds.dynamic
        self._reopen, self._retargets = metric.spec.reopen, metric.retargets
        self._changes: dict[tuple[ClockStatus | None, frozenset[str]], tuple[str, ...]] = {}
        self.fixed = {status: self.changes(status, kinds.moved) for status in _STATUSES}
        """The changes for each clock status when no ``when`` can start to hold."""
        self.inert = not metric.retargets and not any(self.fixed.values())

    def changes(self, status: ClockStatus | None, matched: frozenset[str]) -> tuple[str, ...]:
        """The changes for a clock in ``status`` when the step matched ``matched``."""
        key = (status, matched)
        found = self._changes.get(key)
        if found is None:
            found = self._changes[key] = clock_changes(
                matched, status, self._reopen, self._retargets
            )
        return found

    def matched(self, status: ClockStatus | None, facts: StepFacts) -> frozenset[str]:
        """The kinds a step that changed the data matches, for a clock in ``status``: the
        ``when`` of a kind that cannot change such a clock is not evaluated (a clock that is
        not active needs its ``cancel`` and ``pause`` only once it starts)."""
        kinds = self.kinds
        if status not in _ACTIVE and not kinds.matches("start", facts):
            return kinds.moved
        relevant = _WHEN_ACTIVE if status in _ACTIVE else _WHEN_STARTED
        found = {kind for kind in relevant if kinds.matches(kind, facts)}
        return kinds.moved.union(found, ("start",) if status not in _ACTIVE else ())


_WHEN_ACTIVE = ("cancel", "stop", "reset", "resume", "pause")
_WHEN_STARTED = ("cancel", "pause")


ClockStatus = str
"""``running``, ``paused``, ``stopped`` or ``cancelled`` (stored); :meth:`Clock.outcome` turns a
stopped clock into ``met`` or ``breached``."""


class Clock(NamedTuple):
    """One metric's clock in its current cycle, as kept with the case.

    ``used`` is business time used before ``since``; while running, time counts from ``since``
    on ``calendar``. ``deadline`` and ``next_due`` (the earliest pending warning or breach) are
    kept for reads and for the engine's "is anything overdue on this case" check. ``target`` is
    the index of the target the workflow version chose; a clock moved to another version with
    ``keep`` runs on the target it had, which it carries itself (``label``: the target's name
    or length as events show it, ``within``: its length, e.g. ``8h``) while the new version's
    target at ``target`` says otherwise. A named tuple: the SLA step changes clocks with
    ``_replace``, about 4x cheaper than ``dataclasses.replace``.
    """

    status: ClockStatus
    cycle: int
    started_at: datetime
    target: int
    budget: timedelta
    calendar: str
    used: timedelta
    since: datetime
    warned: tuple[int, ...] = ()
    breached_at: datetime | None = None
    deadline: datetime | None = None
    next_due: datetime | None = None
    label: str | None = None
    within: str | None = None

    @property
    def active(self) -> bool:
        return self.status in ("running", "paused")

    def outcome(self) -> str:
        """The status a person reads: running, paused, met, breached or cancelled."""
        if self.status == "cancelled":
            return "cancelled"
        if self.breached_at is not None:
            return "breached"
        return "met" if self.status == "stopped" else self.status

    # The changes a step makes on every event, built directly: ``_replace`` maps over all
    # fields in Python, about three times the cost for a record of this size.

    def halted(self, status: ClockStatus, used: timedelta, since: datetime) -> Clock:
        """Paused, stopped or cancelled at ``since`` with ``used``; nothing pending."""
        return _new_clock((status, *self[1:6], used, since, *self[8:11], None, *self[12:]))

    def running_since(self, since: datetime) -> Clock:
        """Running again from ``since`` (resumed, or continued after a reopen)."""
        return _new_clock(("running", *self[1:7], since, *self[8:]))  # 7 is ``since``

    def armed(self, deadline: datetime | None, next_due: datetime | None) -> Clock:
        """With the deadline and the next pending warning or breach worked out."""
        return _new_clock((*self[:10], deadline, next_due, self.label, self.within))

    def to_json(self) -> dict[str, Any]:
        """The clock as ``Case.sla`` keeps it (ISO moments, seconds), remembering this record.
        Built key by key into the ``Kept`` itself (a dict literal copied into it costs about
        half as much again); seconds of the usual budgets and times used are remembered."""
        (
            status,
            cycle,
            started_at,
            target,
            budget,
            calendar,
            used,
            since,
            warned,
            breached_at,
            deadline,
            next_due,
            label,
            within,
        ) = self
        encoded = Kept()
        encoded["status"] = status
        encoded["cycle"] = cycle
        encoded["started_at"] = started = iso_text(started_at)
        encoded["target"] = target
        encoded["budget"] = _seconds(budget)
        encoded["calendar"] = calendar
        encoded["used"] = _seconds(used)
        encoded["since"] = started if since is started_at else iso_text(since)
        encoded["warned"] = list(warned)
        encoded["breached_at"] = None if breached_at is None else iso_text(breached_at)
        encoded["deadline"] = text = None if deadline is None else iso_text(deadline)
        encoded["next_due"] = text if next_due is deadline else _iso(next_due)
        if within is not None:  # only a clock that carries its own target
            encoded["label"], encoded["within"] = label, within
        encoded.decoded = (
            self
            if started_at.tzinfo is UTC
            and since.tzinfo is UTC
            and (deadline is None or deadline.tzinfo is UTC)
            and (next_due is None or next_due.tzinfo is UTC)
            and (breached_at is None or breached_at.tzinfo is UTC)
            else None
        )
        return encoded

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Clock:
        if type(data) is Kept and data.decoded is not None:
            return cast(Clock, data.decoded)
        return cls(
            status=data["status"],
            cycle=data["cycle"],
            started_at=datetime.fromisoformat(data["started_at"]),
            target=data["target"],
            budget=timedelta(seconds=data["budget"]),
            calendar=data["calendar"],
            used=timedelta(seconds=data["used"]),
            since=datetime.fromisoformat(data["since"]),
            warned=tuple(data["warned"]),
            breached_at=_moment_or_none(data["breached_at"]),
            deadline=_moment_or_none(data["deadline"]),
            next_due=_moment_or_none(data["next_due"]),
            label=data.get("label"),
            within=data.get("within"),
        )


def _moment_or_none(value: str | None) -> datetime | None:
    """A stored optional moment (ISO text or null). A module function, not one nested in
    ``Clock.from_json``: mypyc cannot compile that (issue 16, ``benches/compiled.py``)."""
    return None if value is None else datetime.fromisoformat(value)


def _new_clock(fields: tuple[Any, ...]) -> Clock:
    return tuple.__new__(Clock, fields)


_ZERO = timedelta(0)


class Kept(dict[str, Any]):
    """The JSON of a clock or chain as a step wrote it, remembering the record it was written
    from. While a store hands back the very dict it was given (the memory store always), the
    next step takes the record instead of parsing the text again. It is a plain ``dict`` to
    everything else (JSON, comparisons, copies); ``decoded`` is None when reading the text
    back would not give the same record (a moment in a time zone other than UTC)."""

    __slots__ = ("decoded",)
    decoded: Any  # set by whoever builds one, right after (no Python ``__init__``: cheaper)


class Encoded(Mapping[str, _Decoded]):
    """Clocks or chains as kept with the case (JSON), each decoded when a step first reads it:
    most steps touch one or two of a workflow's metrics and need not decode the others."""

    __slots__ = ("_decode", "_decoded", "_encoded")

    def __init__(
        self,
        encoded: Mapping[str, Mapping[str, Any]],
        decode: Callable[[Mapping[str, Any]], _Decoded],
    ) -> None:
        self._encoded, self._decode = encoded, decode
        self._decoded: dict[str, _Decoded] = {}

    def __getitem__(self, name: str) -> _Decoded:
        if name in self._decoded:
            return self._decoded[name]
        value = self._decoded[name] = self._decode(self._encoded[name])
        return value

    def get(self, name: str, default: Any = None) -> Any:  # without Mapping's KeyError round trip
        decoded = self._decoded.get(name)
        if decoded is not None:
            return decoded
        encoded = self._encoded.get(name)
        if encoded is None:
            return default
        value = self._decoded[name] = self._decode(encoded)
        return value

    def __iter__(self) -> Iterator[str]:
        return iter(self._encoded)

    def __len__(self) -> int:
        return len(self._encoded)


class SlaOutcome:
    """What a step or timer did to the clocks: new states (only of changed metrics), history
    events, and timers to cancel (by trigger) and schedule (trigger, due). (A plain class: a
    dataclass's ``__init__`` with default factories costs half as much again, every step.)"""

    __slots__ = ("cancel", "clocks", "events", "schedule")

    def __init__(self) -> None:
        self.clocks: dict[str, Clock] = {}
        self.events: list[dict[str, Any]] = []
        self.cancel: list[str] = []
        self.schedule: list[tuple[str, datetime]] = []


@dataclass(frozen=True, slots=True)
class TimerAction:
    """A due warning or breach: the clock after it, its event, and where its actions are
    (``base``: the key path under which the machine compiled them)."""

    metric: str
    clock: Clock
    event: dict[str, Any]
    base: KeyPath


class _Metric:
    def __init__(
        self,
        name: str,
        spec: MetricSpec,
        expressions: Mapping[KeyPath, Expression],
        default_calendar: str,
    ) -> None:
        base: KeyPath = ("sla", "metrics", name)
        self.name, self.spec, self.base = name, spec, base
        self.conditions = {
            kind: ConditionSet(getattr(spec, kind), expressions, (*base, kind))
            for kind in ("start", "stop", "pause", "resume", "cancel", "reset")
        }
        self.targets = spec.targets
        self.target_conditions = [
            None if t.when is None else expressions[(*base, "targets", i, "when")]
            for i, t in enumerate(spec.targets)
        ]
        self.retargets = any(c is not None for c in self.target_conditions)
        self.calendars = [t.calendar or default_calendar for t in spec.targets]
        self.budgets = [
            (t.within.amount, calendar) if isinstance(t.within.amount, timedelta) else None
            for t, calendar in zip(spec.targets, self.calendars, strict=True)
        ]
        """Each target's budget and calendar, when its length is fixed (not in days)."""
        self.labels = [t.name or t.within.describe() for t in spec.targets]
        self.breach_trigger = f"sla:{name}:breach"
        self.warning_triggers = [f"sla:{name}:warning:{i}" for i in range(len(spec.warnings))]
        self.triggers = (self.breach_trigger, *self.warning_triggers)
        self._thresholds: dict[timedelta, tuple[timedelta, ...]] = {}

    def thresholds(self, budget: timedelta) -> tuple[timedelta, ...]:
        """How much of ``budget`` is used when each warning is due (worked out once per
        budget: a metric's targets have one or two; a target in business days has one per
        start, so only the latest are kept)."""
        found = self._thresholds.get(budget)
        if found is None:
            if len(self._thresholds) >= 64:
                self._thresholds.clear()
            found = self._thresholds[budget] = tuple(
                budget * warning.at
                if warning.at is not None
                else budget - (warning.before or timedelta(0))
                for warning in self.spec.warnings
            )
        return found

    def choose_target(self, facts: StepFacts) -> int:
        if not self.retargets:
            return 0  # no target has a condition: the first (the only one the checks allow)
        for index, condition in enumerate(self.target_conditions):
            if condition is None or holds(condition, facts.after, facts.state, facts.now):
                return index
        return len(self.targets) - 1  # unreachable: the checks demand a catch-all last


class SlaPolicy:
    """The compiled ``sla`` section of one workflow version."""

    def __init__(
        self,
        spec: SlaSpec,
        expressions: Mapping[KeyPath, Expression],
        calendars: Mapping[str, BusinessCalendar],
    ) -> None:
        self.spec = spec
        self.calendars = calendars
        self.metrics = {
            name: _Metric(name, metric, expressions, spec.calendar)
            for name, metric in spec.metrics.items()
        }
        self._plans: dict[Move, tuple[MetricMove, ...]] = {}
        self._change = {
            "cancel": self._cancel,
            "stop": self._stop,
            "reset": self._reset,
            "start": self._start,
            "continue": self._continue,
            "resume": self._resume,
            "pause": self._pause,
            "retarget": self._retarget_step,
        }

    def _plan(self, move: Move) -> tuple[MetricMove, ...]:
        """The metrics a move can touch, in file order, each with what the move does to its
        clock (worked out on the first step of each move, then kept: once per workflow
        version)."""
        plan = self._plans.get(move)
        if plan is None:
            found = (MetricMove(m, move) for m in self.metrics.values())
            plan = tuple(m for m in found if not m.inert or m.dynamic)
            self._plans[move] = plan
        return plan

    def reach(self, move: Move) -> Reach:
        """Whether a step of ``move`` can change a clock whatever the data (a state or trigger
        condition matches it, or a target is chosen by conditions), only if it changed the data
        (a ``when``), or never."""
        plan = self._plan(move)
        if any(not planned.inert for planned in plan):
            return "always"
        return "data" if any(planned.dynamic for planned in plan) else "never"

    # -- steps ---------------------------------------------------------------------------------

    def apply(self, clocks: Mapping[str, Clock], facts: StepFacts) -> SlaOutcome:
        """What ``facts`` does to every clock. Order within a step: cancel, stop, reset, start,
        resume, pause, then re-targeting (so re-entering a pausing state stays paused)."""
        outcome = SlaOutcome()
        same = facts.before is facts.after
        change = self._change
        for planned in self._plan(facts[:3]):  # the move: trigger, state left, state entered
            when = planned.dynamic and not same
            if planned.inert and not when:
                continue  # nothing this step did can change this clock
            metric = planned.metric
            before = clocks.get(metric.name)
            status = None if before is None else before.status
            changes = None if when else planned.fixed.get(status)
            if changes is None:  # (or a status this version does not know)
                matched = planned.matched(status, facts) if when else planned.kinds.moved
                changes = planned.changes(status, matched)
            clock = before
            for name in changes:
                clock = change[name](metric, clock, facts, outcome.events)
            if clock is not before and clock is not None:
                outcome.clocks[metric.name] = self._rearm(metric, clock, outcome)
        return outcome

    # The changes ``clock_changes`` lists, one method each (``clock`` is None only for
    # ``start``, on a metric without a clock yet).

    def _cancel(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        halted = self._halt(clock, "cancelled", facts.now)
        events.append(self._event(metric, halted, "cancelled", facts.now))
        return halted

    def _stop(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        now = facts.now
        halted = self._halt(clock, "stopped", now)
        missed = halted.deadline
        if halted.breached_at is None and missed is not None and missed < now:
            halted = halted._replace(breached_at=missed)
            events.append(self._event(metric, halted, "breached", missed))
        events.append(self._event(metric, halted, halted.outcome(), now))
        return halted

    def _reset(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        fresh = self._new_cycle(metric, clock.cycle + 1, facts)
        budget = format_duration(fresh.budget)
        events.append(self._event(metric, fresh, "reset", facts.now, budget=budget))
        return fresh

    def _start(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        fresh = self._new_cycle(metric, 1 if clock is None else clock.cycle + 1, facts)
        budget = format_duration(fresh.budget)
        events.append(self._event(metric, fresh, "started", facts.now, budget=budget))
        return fresh

    def _continue(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        running: Clock = clock.running_since(facts.now)
        events.append(self._event(metric, running, "continued", facts.now))
        return running

    def _resume(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        running: Clock = clock.running_since(facts.now)
        events.append(self._event(metric, running, "resumed", facts.now))
        return running

    def _pause(self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events) -> Clock:
        halted = self._halt(clock, "paused", facts.now)
        events.append(self._event(metric, halted, "paused", facts.now))
        return halted

    def _retarget_step(
        self, metric: _Metric, clock: Any, facts: StepFacts, events: _Events
    ) -> Clock:
        target = metric.choose_target(facts)
        if target == clock.target:
            return cast(Clock, clock)
        retargeted = self._retarget(metric, clock, target, facts.now)
        events.append(
            self._event(metric, retargeted, "retargeted", facts.now, previous=clock.target)
        )
        return retargeted

    def recompute(self, clocks: Mapping[str, Clock], now: datetime) -> SlaOutcome:
        """New deadlines for every running clock (after a calendar changed), keeping the time
        used so far; returns only the clocks whose deadline moved."""
        outcome = SlaOutcome()
        for name, clock in clocks.items():
            metric = self.metrics.get(name)
            if metric is None or clock.status != "running":
                continue
            moved = self._rearm(metric, clock, SlaOutcome())
            if moved.deadline != clock.deadline or moved.next_due != clock.next_due:
                outcome.clocks[name] = self._rearm(metric, clock, outcome)
                outcome.events.append(
                    self._event(
                        metric, moved, "recomputed", now, previous_deadline=_iso(clock.deadline)
                    )
                )
        return outcome

    # -- migration -----------------------------------------------------------------------------

    def migrate(
        self,
        clocks: Mapping[str, Clock],
        modes: Mapping[str, str],
        default: str,
        facts: StepFacts,
        previous: SlaPolicy | None = None,
    ) -> SlaOutcome:
        """The clocks of a case moving to this version (``facts``: the move, seen as a step;
        ``previous``: the version it moves from).

        A running or paused clock of a metric this version has is kept (``keep``: the time
        used, its budget and its target, which the clock carries while this version's target
        choice names another; re-targeted when that choice changes), started again
        (``restart``: a new cycle now) or re-targeted (``retarget``: the time used, the target
        this version chooses); a finished clock is carried over as it was; a clock of a metric
        this version lacks is dropped. Timers are planned for every running clock; returns
        every clock kept, changed or not.
        """
        outcome = SlaOutcome()
        for name, clock in clocks.items():
            metric = self.metrics.get(name)
            if metric is None:
                continue
            if not clock.active:
                outcome.clocks[name] = clock
                continue
            mode = modes.get(name, default)
            if clock.calendar not in self.calendars or clock.target >= len(metric.targets):
                mode = "retarget" if mode == "keep" else mode
            moved = self._moved(metric, clock, mode, facts, previous)
            outcome.events.append(self._event(metric, moved, "migrated", facts.now, mode=mode))
            outcome.clocks[name] = self._rearm(metric, moved, outcome)
        return outcome

    def _moved(
        self, metric: _Metric, clock: Clock, mode: str, facts: StepFacts, previous: SlaPolicy | None
    ) -> Clock:
        if mode == "restart":
            return self._new_cycle(metric, clock.cycle + 1, facts)
        used = self.used(clock, facts.now) if clock.calendar in self.calendars else clock.used
        target = metric.choose_target(facts)
        if mode == "retarget":
            budget, calendar = self._budget(metric, target, clock.started_at)
            clock = clock._replace(budget=budget, calendar=calendar, label=None, within=None)
        elif previous is not None and metric.name in previous.metrics:
            kept = previous.target_of(metric.name, clock)
            chosen = metric.targets[target]
            same = chosen.within == kept.within and chosen.name == kept.name
            label = None if same else kept.name or kept.within.describe()
            clock = clock._replace(label=label, within=None if same else kept.within.describe())
        else:
            target = clock.target  # the version moved from is unknown: as before
        return clock._replace(target=target, used=used, since=facts.now)

    # -- timers --------------------------------------------------------------------------------

    def on_timer(
        self, clocks: Mapping[str, Clock], trigger: str, due_at: datetime
    ) -> TimerAction | None:
        """The warning or breach a due SLA timer stands for, or None when it no longer applies
        (the clock paused, stopped or moved meanwhile; such timers are normally cancelled)."""
        _, name, kind, *rest = [*trigger.split(":"), ""]
        metric = self.metrics.get(name)
        clock = clocks.get(name)
        if metric is None or clock is None or clock.status != "running":
            return None
        if kind == "breach":
            if clock.breached_at is not None or clock.deadline != due_at:
                return None
            clock = clock._replace(breached_at=due_at)
            event = self._event(metric, clock, "breached", due_at)
            base: KeyPath = (*metric.base, "on_breach")
        else:
            index = int(rest[0]) if rest[0].isdigit() else -1
            if not 0 <= index < len(metric.spec.warnings) or index in clock.warned:
                return None
            clock = clock._replace(warned=(*clock.warned, index))
            event = self._event(metric, clock, "warned", due_at, warning=index)
            base = (*metric.base, "warnings", index, "actions")
        event["used"] = format_duration(self.used(clock, due_at))
        clock = clock._replace(next_due=self._next_due(metric, clock))
        return TimerAction(name, clock, event, base)

    # -- reading -------------------------------------------------------------------------------

    def used(self, clock: Clock, now: datetime) -> timedelta:
        """Business time used in the cycle up to ``now``."""
        if clock.status != "running":
            return clock.used
        return clock.used + self.calendars[clock.calendar].elapsed(
            clock.since, max(now, clock.since)
        )

    def target_of(self, name: str, clock: Clock) -> TargetSpec:
        """The target ``clock`` runs on: its own after a move with ``keep``, else the one this
        version chose."""
        if clock.within is not None:
            return _carried(clock.label, clock.within)
        return self.metrics[name].targets[clock.target]

    # -- helpers -------------------------------------------------------------------------------

    def _budget(self, metric: _Metric, target: int, start: datetime) -> tuple[timedelta, str]:
        spec = metric.targets[target]
        calendar_id = metric.calendars[target]
        calendar = self.calendars[calendar_id]
        within = spec.within
        if isinstance(within.amount, timedelta):
            return within.amount, calendar_id
        if within.unit == "business_days":
            end = calendar.add_business_days(start, within.amount)
        else:
            end = calendar.add_calendar_days(start, within.amount)
        return calendar.elapsed(start, end), calendar_id

    def _new_cycle(self, metric: _Metric, cycle: int, facts: StepFacts) -> Clock:
        target = metric.choose_target(facts)
        now = facts.now
        budget, calendar = metric.budgets[target] or self._budget(metric, target, now)
        # status, cycle, started_at, target, budget, calendar, used, since, warned; the rest None
        fields = ("running", cycle, now, target, budget, calendar, _ZERO, now, ())
        return _new_clock((*fields, None, None, None, None, None))

    def _halt(self, clock: Clock, status: ClockStatus, now: datetime) -> Clock:
        return clock.halted(status, self.used(clock, now), now)

    def _retarget(self, metric: _Metric, clock: Clock, target: int, now: datetime) -> Clock:
        used = self.used(clock, now)
        budget, calendar = self._budget(metric, target, clock.started_at)
        return clock._replace(
            target=target,
            budget=budget,
            calendar=calendar,
            used=used,
            since=now,
            label=None,
            within=None,
        )

    def _rearm(self, metric: _Metric, clock: Clock, outcome: SlaOutcome) -> Clock:
        """Cancel the metric's timers and schedule the ones the clock now needs."""
        outcome.cancel.extend(metric.triggers)
        if clock.status != "running":
            return clock if clock.deadline is None is clock.next_due else clock.armed(None, None)
        add = self.calendars[clock.calendar].add
        since, used, warned = clock.since, clock.used, clock.warned
        deadline = add(since, clock.budget - used)
        next_due = None
        schedule = outcome.schedule
        for index, threshold in enumerate(metric.thresholds(clock.budget)):
            if index not in warned:  # as ``_warning_moment``, with the look-ups done once
                moment = max(add(since, threshold - used), since)
                schedule.append((metric.warning_triggers[index], moment))
                next_due = moment if next_due is None or moment < next_due else next_due
        if clock.breached_at is None:
            schedule.append((metric.breach_trigger, deadline))
            next_due = deadline if next_due is None or deadline < next_due else next_due
        return clock.armed(deadline, next_due)

    def _warning_moment(self, metric: _Metric, clock: Clock, index: int) -> datetime:
        threshold = metric.thresholds(clock.budget)[index]
        moment = self.calendars[clock.calendar].add(clock.since, threshold - clock.used)
        return max(moment, clock.since)  # a threshold already passed is due at once, not before

    def _next_due(self, metric: _Metric, clock: Clock) -> datetime | None:
        if clock.status != "running" or clock.deadline is None:
            return None
        moments = [
            self._warning_moment(metric, clock, index)
            for index in range(len(metric.spec.warnings))
            if index not in clock.warned
        ]
        if clock.breached_at is None:
            moments.append(clock.deadline)
        return min(moments, default=None)

    def _event(
        self, metric: _Metric, clock: Clock, event: str, at: datetime, **extra: Any
    ) -> dict[str, Any]:
        label = metric.labels[clock.target] if clock.label is None else clock.label
        record: dict[str, Any] = {
            "metric": metric.name,
            "event": event,
            "at": iso_text(at),
            "cycle": clock.cycle,
            "target": label,
            "calendar": clock.calendar,
            "used": format_duration(clock.used),
        }
        if extra:
            record.update(extra)
        return record


@lru_cache(maxsize=64)
def _carried(label: str | None, within: str) -> TargetSpec:
    """The target a clock carries (see :attr:`Clock.label`), as a target of the workflow."""
    length = Within.model_validate(within)
    name = None if label == length.describe() else label
    return TargetSpec(within=length, name=name)


_seconds = lru_cache(maxsize=1024)(timedelta.total_seconds)
"""``timedelta.total_seconds`` remembered: a clock's budget and time used repeat from case to
case, and the method's exact division costs about four look-ups."""


def _iso(value: datetime | None) -> str | None:
    return None if value is None else iso_text(value)
