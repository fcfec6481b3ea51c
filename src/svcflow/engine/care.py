"""Customer journeys: customer-scoped workflows started and ended by customer events, and
``signals`` from other workflows' cases (see :mod:`svcflow.spec.care`).

How it works. ``engine.customers`` tells :meth:`Journeys.customer_changed` about every customer
record added, changed or marked as left; the workflows whose ``start_on`` matches start a case
for that customer (``customer_created``, ``customer_changed``, ``segment_changed``), and
``end_on`` fires its trigger on the customer's open case (``customer_left``, ``segment_left``).
While the case writer builds each event's change it asks :meth:`Journeys.raised_by` for the
``signals`` that listen to that event (``<workflow>.<trigger>``, ``.started``, ``.closed``):
their ``when`` and start data are evaluated then, and each signal that holds is written with
the event, in its transaction, as a pending signal (``CaseChange.signals``). Right after the
commit :meth:`Journeys.case_committed` delivers them: a case started for the same customer (or
for nobody, when the event's case has no customer), or a trigger fired on their open case. A
process that dies between the two leaves them pending, and the next ``advance`` (the runner,
``svcflow worker``) delivers the ones older than :data:`SIGNAL_GRACE`.

Each delivery is its own unit of work, after the event that caused it committed: a start or a
trigger that is refused (``CaseAlreadyOpen``, a trigger the case does not take now, bad data)
is logged and leaves the causing event as it was. The store keeps one open case per customer
and customer-scoped workflow, so two processes reacting to the same event start one case.
What a delivery does carries an idempotency key made of the event (case, history entry) and
the signal, so a signal delivered twice (its process and a runner) acts once. Signals that
cause signals stop after :data:`MAX_SIGNAL_DEPTH` rounds (a loop between workflows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from svcflow.core.machine import CompiledWorkflow
from svcflow.engine.registry import WorkflowRegistry
from svcflow.engine.units import scope_key
from svcflow.errors import (
    CaseAlreadyOpen,
    Problem,
    SvcflowError,
    UnknownWorkflow,
    WorkflowDefinitionError,
    did_you_mean,
)
from svcflow.messaging.customers import customer_variables
from svcflow.privacy import masked_logger
from svcflow.records import Case, Customer, PendingSignal
from svcflow.rules.expressions import Expression
from svcflow.spec.care import CUSTOMER_EVENTS, SignalSpec
from svcflow.spec.yamlsource import KeyPath
from svcflow.store.base import CaseChange, Store

__all__ = [
    "DEFAULT_RECENT_WINDOW",
    "MAX_SIGNAL_DEPTH",
    "SIGNAL_GRACE",
    "CaseActions",
    "Journeys",
]

DEFAULT_RECENT_WINDOW = timedelta(days=90)
"""The window ``recent`` counts a customer's cases in when a signal gives no ``within``."""
MAX_SIGNAL_DEPTH = 4
"""How many rounds of signals one event may cause (a signal's case signalling another...)."""
SIGNAL_GRACE = timedelta(minutes=1)
"""How long ``advance`` leaves a pending signal to the process that committed its event (which
delivers it at once) before delivering it itself: a signal pending longer lost its process."""

_LOG = masked_logger("svcflow.care")
_DEPTH: ContextVar[int] = ContextVar("svcflow_signal_depth", default=0)


@dataclass(frozen=True, slots=True)
class CaseActions:
    """What journeys may do to cases: the engine's own start and fire (never the facade)."""

    start: Callable[[str, Mapping[str, Any], str, str | None, str | None], Case]
    """(workflow, data, actor, customer id or None, idempotency key) -> the new case."""
    fire: Callable[[str, str, str, str | None], Case]
    """(case id, trigger, actor, idempotency key) -> the case after the step."""
    reschedule: Callable[[str], Case]
    """(case id) -> the case with its running schedules counted again from now."""
    now: Callable[[], datetime]


class Journeys:
    """Starts, ends and signals customer-scoped and signalled workflows (module docs)."""

    def __init__(self, registry: WorkflowRegistry, store: Store, actions: CaseActions) -> None:
        self.registry, self.store, self.actions = registry, store, actions
        self._listeners: dict[str, list[tuple[CompiledWorkflow, int, SignalSpec]]] = {}
        problems: list[Problem] = []
        for compiled in registry.current.values():
            for index, signal in enumerate(compiled.spec.signals):
                problems.extend(_signal_problems(registry, compiled, index, signal))
                entry = (compiled, index, signal)
                self._listeners.setdefault(signal.source_workflow, []).append(entry)
        if problems:
            raise WorkflowDefinitionError(problems)

    # -- customer events --

    def customer_changed(self, previous: Customer | None, current: Customer) -> None:
        """A customer record was added (``previous`` None), changed or marked as left."""
        for compiled in self.registry.current.values():
            if compiled.spec.scope != "customer":
                continue
            try:
                self._customer_event(compiled, previous, current)
            except SvcflowError as error:
                _LOG.error("workflow '%s' on customer %s: %s", compiled.workflow, current.id, error)

    def _customer_event(
        self, compiled: CompiledWorkflow, previous: Customer | None, current: Customer
    ) -> None:
        spec = compiled.spec
        end_on, start_on = spec.end_on, spec.start_on
        if current.left_at is not None:
            just_left = previous is not None and previous.left_at is None
            if end_on is not None and end_on.customer_left and just_left:
                self._fire_open(compiled, current.id, end_on.customer_left)
            return
        if previous is not None and spec.schedules and _dates_changed(previous, current):
            holder = self.store.open_scope_case(scope_key(compiled.workflow, current.id))
            if holder is not None:
                self.actions.reschedule(holder)
        if start_on is None:
            return
        if previous is None and start_on.customer_created is not None:
            created = start_on.customer_created
            base: KeyPath = ("start_on", "customer_created")
            if self._holds(compiled, (*base, "when"), current):
                self._start(compiled, current, self._data(compiled, base, created.data, current))
            return
        if previous is None:
            return
        if start_on.customer_changed is not None:
            self._start_when_matched(compiled, previous, current)
        change = start_on.segment_changed
        if change is None or previous.segment == current.segment:
            return
        joined = current.segment in change.to and (
            change.source is None or previous.segment in change.source
        )
        if joined:
            base = ("start_on", "segment_changed")
            self._start(compiled, current, self._data(compiled, base, change.data, current))
        elif previous.segment in change.to and end_on is not None and end_on.segment_left:
            self._fire_open(compiled, current.id, end_on.segment_left)

    def _start_when_matched(
        self, compiled: CompiledWorkflow, previous: Customer, current: Customer
    ) -> None:
        """``start_on.customer_changed``: start when ``when`` holds now and did not before."""
        changed = compiled.spec.start_on.customer_changed if compiled.spec.start_on else None
        if changed is None:
            return
        base: KeyPath = ("start_on", "customer_changed")
        path: KeyPath = (*base, "when")
        if self._holds(compiled, path, current) and not self._holds(compiled, path, previous):
            self._start(compiled, current, self._data(compiled, base, changed.data, current))

    def _holds(self, compiled: CompiledWorkflow, path: KeyPath, customer: Customer) -> bool:
        expression = compiled.loaded.expressions.get(path)
        if expression is None:
            return True
        variables = {"customer": customer_variables(customer), "now": self.actions.now()}
        return expression.evaluate(variables) is True

    def _data(
        self,
        compiled: CompiledWorkflow,
        base: KeyPath,
        fields: Mapping[str, str],
        customer: Customer,
    ) -> dict[str, Any]:
        variables = {"customer": customer_variables(customer), "now": self.actions.now()}
        expressions = compiled.loaded.expressions
        return {name: expressions[(*base, "data", name)].evaluate(variables) for name in fields}

    def _start(
        self,
        compiled: CompiledWorkflow,
        customer: Customer | None,
        data: Mapping[str, Any],
        key: str | None = None,
    ) -> Case | None:
        owner = None if customer is None else customer.id
        try:
            return self.actions.start(compiled.workflow, data, "care", owner, key)
        except CaseAlreadyOpen:
            return None

    def _fire_open(self, compiled: CompiledWorkflow, customer_id: str, trigger: str) -> None:
        holder = self.store.open_scope_case(scope_key(compiled.workflow, customer_id))
        if holder is not None:
            self.actions.fire(holder, trigger, "care", None)

    # -- signals --

    @property
    def raises_signals(self) -> bool:
        """Whether any loaded workflow listens for signals (else no event raises one)."""
        return bool(self._listeners)

    def raised_by(self, change: CaseChange) -> list[PendingSignal]:
        """The signals the event of ``change`` raises, evaluated before it commits so they are
        written in its own transaction (``CaseChange.signals``); none past
        :data:`MAX_SIGNAL_DEPTH` rounds. A signal whose expression fails is logged and left out:
        the event itself goes ahead."""
        listeners = self._listeners.get(change.case.workflow)
        if not listeners:
            return []
        depth = _DEPTH.get()
        if depth >= MAX_SIGNAL_DEPTH:
            _LOG.warning(
                "signals stopped after %d rounds at case %s (a loop between workflows?)",
                depth,
                change.case.id,
            )
            return []
        events = self._events(change)
        matching = [entry for entry in listeners if entry[2].source_trigger in events]
        if not matching:
            return []
        case = change.case
        owner = change.customer_id or self.store.case_customer(case.id)
        customer = None if owner is None else self.store.load_customer(owner)
        if customer is not None and customer.left_at is not None:
            return []
        raised: list[PendingSignal] = []
        for compiled, index, signal in matching:
            try:
                found = self._raise(compiled, index, signal, change, customer)
            except SvcflowError as error:
                _LOG.error(
                    "signals[%d] of workflow '%s' on case %s: %s",
                    index,
                    compiled.workflow,
                    case.id,
                    error,
                )
            else:
                raised.extend(found)
        return raised

    def case_committed(self, change: CaseChange) -> None:
        """Deliver the signals the committed event raised, at once, in this process."""
        if not change.signals:
            return
        token = _DEPTH.set(_DEPTH.get() + 1)
        try:
            for signal in change.signals:
                self.deliver(signal)
        finally:
            _DEPTH.reset(token)

    def deliver_pending(self, before: datetime, limit: int = 100) -> int:
        """Deliver the signals still pending that were raised before ``before`` (their process
        died between committing the event and delivering them); how many."""
        pending = [s for s in self.store.pending_signals(limit) if s.created_at < before]
        for signal in pending:
            self.deliver(signal)
        return len(pending)

    def deliver(self, signal: PendingSignal) -> None:
        """Start the signal's case, or fire its trigger on the customer's open one, then forget
        it. What delivery does carries the signal's key as its idempotency key, so a signal
        delivered twice (by two processes) acts once. A refusal is logged and the signal is
        forgotten, as the event that raised it stands."""
        try:
            self._act_on(signal)
        except SvcflowError as error:
            _LOG.error("signal %s to workflow '%s': %s", signal.key, signal.workflow, error)
        self.store.signal_done(signal.key)

    def _act_on(self, signal: PendingSignal) -> None:
        compiled = self.registry.current.get(signal.workflow)
        if compiled is None:
            raise UnknownWorkflow(signal.workflow, sorted(self.registry.current))
        holder = None
        if compiled.spec.scope == "customer" and signal.customer_id is not None:
            holder = self.store.open_scope_case(scope_key(signal.workflow, signal.customer_id))
        if holder is not None:
            if signal.fire is not None:
                self.actions.fire(holder, signal.fire, "signal", signal.key)
            return
        if signal.start is not None:
            try:
                self.actions.start(
                    signal.workflow, signal.start, "care", signal.customer_id, signal.key
                )
            except CaseAlreadyOpen:
                return

    def _events(self, change: CaseChange) -> set[str]:
        """What happened to the case: ``started``, the trigger that fired, ``closed``."""
        history = change.history
        events: set[str] = set()
        if history.kind == "started":
            events.add("started")
        elif history.kind in ("transition", "timer") and history.trigger:
            events.add(history.trigger)
        states = self.registry.get(change.case.workflow, change.case.version).spec.states
        entered = history.from_state != change.case.state or history.kind == "started"
        if states[change.case.state].final and entered:
            events.add("closed")
        return events

    def _raise(
        self,
        compiled: CompiledWorkflow,
        index: int,
        signal: SignalSpec,
        change: CaseChange,
        customer: Customer | None,
    ) -> list[PendingSignal]:
        base: KeyPath = ("signals", index)
        if customer is None and compiled.spec.scope == "customer":
            return []  # a journey belongs to a customer; this case has none
        variables = self._signal_variables(compiled, base, signal, change, customer)
        condition = compiled.loaded.expressions.get((*base, "when"))
        if condition is not None and condition.evaluate(variables) is not True:
            return []
        start = None
        if signal.start is not None:
            expressions = compiled.loaded.expressions
            start = {
                name: expressions[(*base, "start", name)].evaluate(variables)
                for name in signal.start
            }
        case = change.case
        pending = PendingSignal(
            key=f"signal:{case.id}:{change.history.seq}:{compiled.workflow}:{index}",
            workflow=compiled.workflow,
            customer_id=None if customer is None else customer.id,
            start=start,
            fire=signal.fire,
            created_at=case.updated_at,
        )
        return [pending]

    def _signal_variables(
        self,
        compiled: CompiledWorkflow,
        base: KeyPath,
        signal: SignalSpec,
        change: CaseChange,
        customer: Customer | None,
    ) -> dict[str, Any]:
        case, history = change.case, change.history
        now = self.actions.now()
        variables: dict[str, Any] = {
            "event": {
                "workflow": case.workflow,
                "trigger": history.trigger or "",
                "case_id": case.id,
                "state": case.state,
            },
            "data": dict(case.data),
            "payload": dict(history.payload) if isinstance(history.payload, Mapping) else {},
            "customer": customer_variables(customer),
            "now": now,
        }
        if _reads(compiled, base, signal, "recent"):
            variables["recent"] = self._recent(signal, change, customer, now)
        return variables

    def _recent(
        self,
        signal: SignalSpec,
        change: CaseChange,
        customer: Customer | None,
        now: datetime,
    ) -> dict[str, int]:
        """The customer's cases started within the signal's window, by workflow, the event's
        own case included (it is not committed yet when a start raises the signal)."""
        counts = {name: 0 for name in self.registry.current}
        if customer is None:
            return counts
        since = now - (signal.within or DEFAULT_RECENT_WINDOW)
        counts.update(self.store.customer_case_counts(customer.id, since))
        if change.expected_revision is None:
            counts[change.case.workflow] = counts.get(change.case.workflow, 0) + 1
        return counts


def _dates_changed(previous: Customer, current: Customer) -> bool:
    """Whether what schedules count from changed: the dates, or the time zone they keep."""
    fields = ("birthday", "since", "timezone")
    return any(getattr(previous, name) != getattr(current, name) for name in fields)


def _signal_problems(
    registry: WorkflowRegistry, compiled: CompiledWorkflow, index: int, signal: SignalSpec
) -> list[Problem]:
    """A signal must name a workflow the engine runs and one of its triggers (or ``started``,
    ``closed``); a name that matches nothing would never fire."""
    where = compiled.loaded.source_map
    path: KeyPath = ("signals", index, "event")
    source = registry.current.get(signal.source_workflow)
    if source is None:
        known = sorted(registry.current)
        message = f"unknown workflow '{signal.source_workflow}'" + did_you_mean(
            signal.source_workflow, known, noun="workflow"
        )
        return [where.problem(path, message)]
    events = [*source.triggers, *CUSTOMER_EVENTS]
    if signal.source_trigger in events:
        return []
    message = (
        f"workflow '{source.workflow}' has no trigger '{signal.source_trigger}'"
        + did_you_mean(signal.source_trigger, events, noun="event")
    )
    return [where.problem(path, message)]


def _reads(compiled: CompiledWorkflow, base: KeyPath, signal: SignalSpec, name: str) -> bool:
    """Whether any expression of the signal reads the variable ``name``."""
    expressions = compiled.loaded.expressions
    paths = [(*base, "when"), *((*base, "start", field) for field in signal.start or {})]
    found: list[Expression | None] = [expressions.get(path) for path in paths]
    return any(expression is not None and name in expression.names for expression in found)
