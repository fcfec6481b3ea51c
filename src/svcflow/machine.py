"""A workflow version compiled into one shared ``transitions`` machine; ``step`` returns effects.

There is exactly one :class:`transitions.Machine` per workflow version, never one per case. A
step borrows the machine with a throw-away :class:`_Step` record as its model: the case's state
and its data go in, ``transitions`` picks the transition (the first whose ``when`` holds) and
moves the state; then the actions run in UML order (the source state's ``on_exit``, the
transition's ``actions``, the target's ``on_enter``) and the step's effects come out as a
:class:`~svcflow.effects.StepResult`. The case record itself is never touched, so a step that
raises leaves nothing half-applied, and steps of different cases can run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from transitions import EventData, Machine, State, Transition

from svcflow.datamodel import CaseDataSchema
from svcflow.effects import NotificationRequest, StepResult, TimerRequest
from svcflow.errors import (
    ConditionNotMet,
    ExpressionError,
    TransitionNotAllowed,
    UnknownTrigger,
    did_you_mean,
)
from svcflow.rules.expressions import Expression
from svcflow.spec.checks import expand_sources
from svcflow.spec.loader import LoadedWorkflow
from svcflow.spec.models import Action
from svcflow.spec.yamlsource import KeyPath

__all__ = ["CompiledWorkflow"]


class _Step:
    """The model a shared machine works on during one step; also the variables of CEL."""

    __slots__ = ("data", "now", "owned", "result", "state", "taken")

    def __init__(self, state: str, data: Mapping[str, Any], now: datetime, result: StepResult):
        self.state = state
        self.data = data
        self.now = now
        self.result = result
        self.owned = False
        self.taken: Transition | None = None

    def write(self, values: Mapping[str, Any]) -> None:
        """Set fields on a private copy of the data (copied on the first write only)."""
        if not self.owned:
            self.data = dict(self.data)
            self.owned = True
        self.data.update(values)  # type: ignore[attr-defined]
        self.result.changed.update(values)

    def get(self, name: str, default: Any = None) -> Any:
        if name == "now":
            return self.now
        if name == "state":
            return self.state
        return self.data.get(name, default)


_Runner = Callable[[_Step], None]


class CompiledWorkflow:
    """One workflow version, ready to run: data schema, expressions and the shared machine."""

    def __init__(self, loaded: LoadedWorkflow) -> None:
        self.loaded = loaded
        self.spec = spec = loaded.spec
        self.workflow, self.version = spec.workflow, spec.version
        self.schema = CaseDataSchema(spec.workflow, spec.version, spec.data)
        self.initial = next(name for name, state in spec.states.items() if state.initial)
        self._enter: dict[str, _Runner | None] = {}
        self._exit: dict[str, _Runner | None] = {}
        for name, state in spec.states.items():
            self._enter[name] = self._runner(("states", name, "on_enter"), state.on_enter)
            self._exit[name] = self._runner(("states", name, "on_exit"), state.on_exit)
        self.machine = Machine(
            model=None,
            states=[State(name, final=state.final) for name, state in spec.states.items()],
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            finalize_event=[_record_taken],
            name=f"{spec.workflow}@v{spec.version}",
        )
        self._conditions: dict[tuple[str, str], list[Expression | None]] = {}
        self._actions: dict[int, _Runner | None] = {}
        for index, transition in enumerate(spec.transitions):
            condition = loaded.expressions.get(("transitions", index, "when"))
            actions = self._runner(("transitions", index, "actions"), transition.actions)
            for source in expand_sources(transition, spec):
                self.machine.add_transition(
                    transition.trigger,
                    source,
                    transition.to,
                    conditions=[_condition(condition)] if condition else None,
                )
                added = self.machine.events[transition.trigger].transitions[source][-1]
                self._actions[id(added)] = actions
                self._conditions.setdefault((transition.trigger, source), []).append(condition)
        self.triggers = sorted({t.trigger for t in spec.transitions})

    # -- running ------------------------------------------------------------------------------

    def start(self, data: Mapping[str, Any] | None, now: datetime) -> StepResult:
        """Validate the initial data and run the initial state's ``on_enter`` actions."""
        validated = self.schema.initial(data)
        result = StepResult(None, None, self.initial, validated, changed=dict(validated))
        step = _Step(self.initial, validated, now, result)
        step.owned = True
        enter = self._enter[self.initial]
        if enter is not None:
            enter(step)
        return result

    def step(
        self,
        case_id: str,
        state: str,
        data: Mapping[str, Any],
        trigger: str,
        payload: Mapping[str, Any] | None,
        now: datetime,
    ) -> StepResult:
        """Fire ``trigger`` on a case in ``state`` with ``data``; return the effects.

        Raises ``UnknownTrigger``, ``TransitionNotAllowed`` or ``ConditionNotMet`` (naming the
        triggers allowed now) without changing anything; ``CaseDataError`` for a bad payload.
        """
        event = self.machine.events.get(trigger)
        if event is None:
            raise UnknownTrigger(
                case_id,
                state,
                trigger,
                self.allowed_triggers(state, data, now),
                f"the workflow '{self.workflow}' v{self.version} has no trigger '{trigger}'"
                + did_you_mean(trigger, self.triggers, noun="trigger"),
            )
        if state not in event.transitions:
            raise TransitionNotAllowed(
                case_id, state, trigger, self.allowed_triggers(state, data, now)
            )
        result = StepResult(trigger, state, state, data)
        step = _Step(state, data, now, result)
        if payload:
            result.payload = self.schema.validate_changes(payload, origin="payload")
            step.write(result.payload)
        if not event.trigger(step):
            conditions = " / ".join(
                f"`{c.source}`" for c in self._conditions[(trigger, state)] if c is not None
            )
            raise ConditionNotMet(
                case_id,
                state,
                trigger,
                self.allowed_triggers(state, step.data, now),
                f"its condition {conditions} is false",
            )
        taken = cast(Transition, step.taken)
        if taken.dest is not None:
            result.left_state = state
            leave = self._exit[state]
            if leave is not None:
                leave(step)
        actions = self._actions[id(taken)]
        if actions is not None:
            actions(step)
        if taken.dest is not None:
            enter = self._enter[step.state]
            if enter is not None:
                enter(step)
        result.target = step.state
        result.data = step.data
        return result

    def allowed_triggers(self, state: str, data: Mapping[str, Any], now: datetime) -> list[str]:
        """Triggers that would succeed now: a transition from ``state`` whose condition holds."""
        probe = _Step(state, dict(data), now, StepResult(None, state, state, {}))
        allowed = []
        for trigger in self.triggers:
            for condition in self._conditions.get((trigger, state), ()):
                try:
                    if condition is None or condition.test(probe):
                        allowed.append(trigger)
                        break
                except ExpressionError:
                    continue
        return allowed

    # -- compiling actions -------------------------------------------------------------------

    def _runner(self, base: KeyPath, actions: Sequence[Action]) -> _Runner | None:
        if not actions:
            return None
        runners = [self._action((*base, index), action) for index, action in enumerate(actions)]

        def run(step: _Step) -> None:
            for runner in runners:
                runner(step)

        return run

    def _action(self, path: KeyPath, action: Action) -> _Runner:
        where = "{}:{}:{}".format(self.loaded.file, *self.loaded.source_map.position(path))
        if action.set is not None:
            return self._set_action(path, action.set, where)
        if action.notify is not None:
            spec = action.notify
            request = NotificationRequest(spec.template, tuple(spec.to), spec.channel, spec.urgent)
            return lambda step: step.result.notifications.append(request)
        if action.schedule is not None:
            schedule = action.schedule
            return lambda step: step.result.timers.append(
                TimerRequest(schedule.trigger, step.now + schedule.after, schedule.keep)
            )
        if action.cancel is not None:
            cancelled = action.cancel

            def cancel(step: _Step) -> None:
                step.result.cancel_triggers.append(cancelled)
                step.result.timers[:] = [t for t in step.result.timers if t.trigger != cancelled]

            return cancel
        note = action.note or ""
        return lambda step: step.result.notes.append(note)

    def _set_action(self, path: KeyPath, assignments: Mapping[str, Any], where: str) -> _Runner:
        literals = self.schema.validate_changes(
            {k: v for k, v in assignments.items() if not _is_expr(v)}, origin=f"set at {where}"
        )
        computed = {
            name: self.loaded.expressions[(*path, "set", name, "expr")]
            for name, value in assignments.items()
            if _is_expr(value)
        }

        def assign(step: _Step) -> None:
            values = dict(literals)
            if computed:
                results = {name: expr.evaluate(step) for name, expr in computed.items()}
                values.update(self.schema.validate_changes(results, origin=f"set at {where}"))
            step.write(values)

        return assign


def _is_expr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"expr"}


def _step_of(event: EventData) -> _Step:
    return cast(_Step, event.model)


def _record_taken(event: EventData) -> None:
    """Machine-wide ``finalize_event``: remember which transition the step took, so its
    actions and the states' ``on_exit``/``on_enter`` run in svcflow's order, outside the
    machine (one callback per step instead of one per action list)."""
    if event.result:
        _step_of(event).taken = event.transition


def _condition(expression: Expression) -> Callable[[EventData], bool]:
    return lambda event: expression.test(_step_of(event))
