"""A workflow version compiled into one shared ``transitions`` machine; ``step`` returns effects.

There is exactly one :class:`transitions.Machine` per workflow version, never one per case. A
step borrows the machine with a throw-away :class:`_Step` record as its model: the case's state
and a copy of its data go in, ``transitions`` picks the transition (first whose ``when`` holds),
runs the callbacks in its documented order (the transition's ``actions``, then the source
state's ``on_exit``, then the target's ``on_enter``) and the step's effects come out as a
:class:`~svcflow.effects.StepResult`. The case record itself is never touched, so a step that
raises leaves nothing half-applied, and steps of different cases can run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from transitions import EventData, Machine, State

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

    __slots__ = ("data", "now", "result", "state")

    def __init__(self, state: str, data: dict[str, Any], now: datetime, result: StepResult):
        self.state = state
        self.data = data
        self.now = now
        self.result = result

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
        self._enter: dict[str, _Runner] = {}
        states = []
        for name, state in spec.states.items():
            enter = self._runner(("states", name, "on_enter"), state.on_enter)
            leave = self._runner(("states", name, "on_exit"), state.on_exit)
            self._enter[name] = enter
            states.append(
                State(
                    name, on_enter=[_callback(enter)], on_exit=[_callback(leave)], final=state.final
                )
            )
        self.machine = Machine(
            model=None,
            states=states,
            initial=self.initial,
            auto_transitions=False,
            send_event=True,
            name=f"{spec.workflow}@v{spec.version}",
        )
        self._conditions: dict[tuple[str, str], list[Expression | None]] = {}
        for index, transition in enumerate(spec.transitions):
            condition = loaded.expressions.get(("transitions", index, "when"))
            actions = self._runner(("transitions", index, "actions"), transition.actions)
            for source in expand_sources(transition, spec):
                self.machine.add_transition(
                    transition.trigger,
                    source,
                    transition.to,
                    conditions=[_condition(condition)] if condition else None,
                    before=[_taken(actions, external=transition.to is not None)],
                )
                self._conditions.setdefault((transition.trigger, source), []).append(condition)
        self.triggers = sorted({t.trigger for t in spec.transitions})

    # -- running ------------------------------------------------------------------------------

    def start(self, data: Mapping[str, Any] | None, now: datetime) -> StepResult:
        """Validate the initial data and run the initial state's ``on_enter`` actions."""
        validated = self.schema.initial(data)
        result = StepResult(None, None, self.initial, validated, changed=dict(validated))
        self._enter[self.initial](_Step(self.initial, validated, now, result))
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
        new_data = dict(data)
        changed: dict[str, Any] = {}
        if payload:
            changed = self.schema.validate_changes(payload, origin="payload")
            new_data.update(changed)
        result = StepResult(trigger, state, state, new_data, changed=dict(changed), payload=changed)
        step = _Step(state, new_data, now, result)
        if not event.trigger(step):
            conditions = " / ".join(
                f"`{c.source}`" for c in self._conditions[(trigger, state)] if c is not None
            )
            raise ConditionNotMet(
                case_id,
                state,
                trigger,
                self.allowed_triggers(state, new_data, now),
                f"its condition {conditions} is false",
            )
        result.target = step.state
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

    def accepts(self, state: str, trigger: str) -> bool:
        """Whether some transition for ``trigger`` leaves ``state`` (ignoring conditions)."""
        return (trigger, state) in self._conditions

    # -- compiling actions -------------------------------------------------------------------

    def _runner(self, base: KeyPath, actions: Sequence[Action]) -> _Runner:
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
            step.data.update(values)
            step.result.changed.update(values)

        return assign


def _is_expr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"expr"}


def _step_of(event: EventData) -> _Step:
    return cast(_Step, event.model)


def _callback(run: _Runner) -> Callable[[EventData], None]:
    return lambda event: run(_step_of(event))


def _taken(run: _Runner, *, external: bool) -> Callable[[EventData], None]:
    def callback(event: EventData) -> None:
        step = _step_of(event)
        step.result.left_state = step.state if external else None
        run(step)

    return callback


def _condition(expression: Expression) -> Callable[[EventData], bool]:
    return lambda event: expression.test(_step_of(event))
