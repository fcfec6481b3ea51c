"""A workflow version compiled once into a table of routes; ``step`` returns effects.

Each workflow version is compiled once, never per case: one :class:`transitions.Machine` (the
model of the workflow that diagrams and tools inspect) and, beside it, the same transitions as
a table of routes by trigger and source state, in the order the file gives them. A step works
on a throw-away :class:`_Step` record: the case's state and its data go in, the first route
whose ``when`` holds is taken (what ``transitions`` would choose; without its per-event
callback and logging machinery, which svcflow does not use) and the state moves; then the
actions run in UML order (the source state's ``on_exit``, the transition's ``actions``, the
target's ``on_enter``) and the step's effects come out as a
:class:`~svcflow.core.effects.StepResult`. The case record itself is never touched, so a step that
raises leaves nothing half-applied, and steps of different cases can run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple, NoReturn, TypeVar, cast

from transitions import EventData, Machine, State

from svcflow.compiled import raised_from
from svcflow.core.authority import Actor, Authority
from svcflow.core.effects import NotificationRequest, StepResult, TimerRequest, step_result
from svcflow.definitions import resolve_calendars
from svcflow.definitions.checks import expand_sources
from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.errors import (
    CaseDataError,
    ConditionNotMet,
    ExpressionError,
    NotAuthorized,
    PluginError,
    TransitionNotAllowed,
    UnknownTrigger,
    did_you_mean,
)
from svcflow.rules.expressions import NOBODY, CaseVariables, Expression
from svcflow.sla.calendar import BusinessCalendar
from svcflow.sla.clocks import (
    Clock,
    Encoded,
    Kept,
    Move,
    Reach,
    SlaOutcome,
    SlaPolicy,
    StepFacts,
)
from svcflow.sla.escalation import Chain, EscalationPolicy
from svcflow.spec.actions import CallSpec
from svcflow.spec.datamodel import CaseDataSchema
from svcflow.spec.extensions import ActionCall, current_extensions
from svcflow.spec.models import Action
from svcflow.spec.yamlsource import KeyPath

__all__ = ["CompiledWorkflow", "decode_service", "encode_service"]


class _Step(CaseVariables):
    """The record one step works on (and the machine's model, for tools that run it); also the
    variables of CEL."""

    __slots__ = ("case_id", "owned", "result")

    def __init__(
        self,
        state: str,
        data: Mapping[str, Any],
        now: datetime,
        result: StepResult,
        case_id: str = "",
        actor: Actor | None = None,
    ):
        # (the fields of CaseVariables set here: a super() call costs as much as the rest)
        self.data, self.state, self.now = data, state, now
        self._actor = NOBODY if actor is None else actor
        self.case_id = case_id
        self.result = result
        self.owned = False

    @property
    def actor(self) -> Mapping[str, Any]:
        """``actor`` as expressions read it, made when first read (most steps read none)."""
        found: Actor | Mapping[str, Any] = self._actor
        if isinstance(found, Actor):
            found = self._actor = found.variable()
        return found

    @actor.setter
    def actor(self, value: Mapping[str, Any]) -> None:
        self._actor = value

    def write(self, values: Mapping[str, Any]) -> None:
        """Set fields on a private copy of the data (copied on the first write only)."""
        if not self.owned:
            self.data = dict(self.data)
            self.owned = True
        self.data.update(values)  # type: ignore[attr-defined]
        self.result.changed.update(values)


_Runner = Callable[[_Step], None]


class _Route(NamedTuple):
    """One transition from one source state: its ``when`` (None: always), its target (None:
    an internal transition), its position in the file's ``transitions`` (for its
    ``by``/``not_by`` rules) and its actions."""

    condition: Expression | None
    dest: str | None
    position: int
    actions: _Runner | None


class CompiledWorkflow:
    """One workflow version, ready to run: data schema, expressions and the shared machine."""

    def __init__(
        self, loaded: LoadedWorkflow, calendars: Mapping[str, BusinessCalendar] | None = None
    ) -> None:
        self.loaded = loaded
        self.spec = spec = loaded.spec
        self.workflow, self.version = spec.workflow, spec.version
        self.schema = CaseDataSchema(spec.workflow, spec.version, spec.data)
        self.initial = next(name for name, state in spec.states.items() if state.initial)
        self.calendars = resolve_calendars(loaded, calendars or {})
        self.sla = SlaPolicy(spec.sla, loaded.expressions, self.calendars) if spec.sla else None
        self.escalations = (
            EscalationPolicy(spec.escalations, loaded.expressions, self.calendars)
            if spec.escalations
            else None
        )
        self._service_levels = self.sla is not None or self.escalations is not None
        self._service_reach: dict[Move, Reach] = {}
        self._held: dict[frozenset[str], frozenset[str]] = {}
        self._quiet = (
            self.calendars[spec.quiet_hours.calendar] if spec.quiet_hours is not None else None
        )
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
            name=f"{spec.workflow}@v{spec.version}",
        )
        self.authority = Authority(loaded)
        self.reads_roles = _reads_roles(loaded, self.authority)
        self._protected = frozenset(n for n, field in spec.data.items() if field.protected)
        self._routes: dict[tuple[str, str], list[_Route]] = {}
        self._add_transitions()
        self.triggers = sorted({t.trigger for t in spec.transitions})
        self._service_actions: dict[KeyPath, _Runner | None] = {}
        if spec.sla is not None:
            for name, metric in spec.sla.metrics.items():
                base: KeyPath = ("sla", "metrics", name)
                self._service_actions[(*base, "on_breach")] = self._runner(
                    (*base, "on_breach"), metric.on_breach
                )
                for index, warning in enumerate(metric.warnings):
                    path = (*base, "warnings", index, "actions")
                    self._service_actions[path] = self._runner(path, warning.actions)

    def _add_transitions(self) -> None:
        """Each transition into the machine and the route table, once per source state, with
        its condition, actions and index (for its ``by``/``not_by`` rules)."""
        loaded, spec = self.loaded, self.spec
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
                dest = self.machine.events[transition.trigger].transitions[source][-1].dest
                self._routes.setdefault((transition.trigger, source), []).append(
                    _Route(condition, dest, index, actions)
                )

    # -- running ------------------------------------------------------------------------------

    def start(
        self,
        data: Mapping[str, Any] | None,
        now: datetime,
        case_id: str = "",
        actor: Actor | None = None,
    ) -> StepResult:
        """Validate the initial data and run the initial state's ``on_enter`` actions (which
        read ``actor``, who started the case)."""
        validated = self.schema.initial(data)
        result = step_result(trigger=None, source=None, target=self.initial, data=validated)
        result.changed = dict(validated)
        seen = self._widened(actor) if self.reads_roles else None  # what expressions read
        step = _Step(self.initial, validated, now, result, case_id, seen)
        step.owned = True
        enter = self._enter[self.initial]
        if enter is not None:
            enter(step)
        result.data = step.data
        if self._service_levels:
            facts = (None, None, self.initial, self.initial, None, step.data, now)
            self._service_step(result, {}, tuple.__new__(StepFacts, facts))
        return result

    def step(
        self,
        case_id: str,
        state: str,
        data: Mapping[str, Any],
        trigger: str,
        payload: Mapping[str, Any] | None,
        now: datetime,
        service: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> StepResult:
        """Fire ``trigger`` on a case in ``state`` with ``data``; return the effects.

        ``service`` is the case's SLA and escalation state; the step's effect on it (clocks
        started, paused, stopped...) comes back in the result. ``actor`` is who fired it, with
        their roles: the transition's ``by``/``not_by`` rules are checked against them (None
        checks nothing: the engine passes it for its own timers and for workflows that read no
        roles) and expressions read them as ``actor``.

        Raises ``UnknownTrigger``, ``TransitionNotAllowed`` or ``ConditionNotMet`` (naming the
        triggers allowed now) or ``NotAuthorized`` without changing anything; ``CaseDataError``
        for a bad payload (or one that sets a ``protected`` field).
        """
        routes = self._routes.get((trigger, state))
        if routes is None:
            self._refuse_trigger(case_id, state, data, trigger, now)
        result = step_result(trigger=trigger, source=state, target=state, data=data)
        if actor is not None and self.authority.includes:
            actor = self._widened(actor)
        step = _Step(state, data, now, result, case_id, actor if self.reads_roles else None)
        if payload:
            if self._protected:
                self._refuse_protected(payload)
            result.payload = self.schema.validate_changes(payload, origin="payload")
            step.write(result.payload)
        for taken in routes:  # the first route whose `when` holds, as transitions chooses
            if taken.condition is None or taken.condition.test(step):
                break
        else:
            raise self._condition_not_met(step, routes, trigger, state, actor)
        if taken.dest is not None:
            step.state = taken.dest
        if actor is not None and self.authority.guards:
            self._authorize(step, taken.position, actor, trigger, state)
        self._run_transition(step, taken, state)
        result.target = step.state
        result.data = step.data
        if self._service_levels:
            entered = step.state if taken.dest is not None else None
            facts = (trigger, result.left_state, entered, step.state, data, step.data, now)
            # (the named tuple built without its keyword ``__new__``: a third of the cost)
            self._service_step(result, service or {}, tuple.__new__(StepFacts, facts))
        return result

    def _condition_not_met(
        self, step: _Step, routes: list[_Route], trigger: str, state: str, actor: Actor | None
    ) -> ConditionNotMet:
        conditions = " / ".join(f"`{r.condition.source}`" for r in routes if r.condition)
        return ConditionNotMet(
            step.case_id,
            state,
            trigger,
            self.allowed_triggers(state, step.data, step.now, actor),
            f"its condition {conditions} is false",
        )

    def _widened(self, actor: Actor | None) -> Actor | None:
        """The actor with the roles their roles include (``roles:`` of the workflow): the
        same actor when they include none it lacks (each set of roles widened once)."""
        if actor is None or not self.authority.includes:
            return actor
        roles = actor.roles
        held = self._held.get(roles)
        if held is None:
            if len(self._held) >= 256:
                self._held.clear()  # a bound, not a policy: a few role sets recur
            held = self._held[roles] = self.authority.holds(roles)
        return actor if held == roles else Actor(actor.id, held)

    def _refuse_protected(self, payload: Mapping[str, Any]) -> None:
        named = sorted(self._protected.intersection(payload))
        if named:
            raise CaseDataError(
                self.workflow,
                self.version,
                [
                    f"payload: field '{name}' is protected: only the workflow's own actions "
                    "set it (e.g. from actor.id), never a payload"
                    for name in named
                ],
            )

    def _authorize(self, step: _Step, index: int, actor: Actor, trigger: str, state: str) -> None:
        refused = self.authority.refusal(index, actor, step)
        if refused is not None:
            raise NotAuthorized(
                step.case_id,
                state,
                trigger,
                actor.id,
                sorted(self.authority.holds(actor.roles)),
                refused.required,
                refused.reason,
            )

    def _refuse_trigger(
        self, case_id: str, state: str, data: Mapping[str, Any], trigger: str, now: datetime
    ) -> NoReturn:
        """Raise the error that says ``trigger`` has no route from ``state`` and names the
        triggers allowed now."""
        if trigger not in self.machine.events:
            raise UnknownTrigger(
                case_id,
                state,
                trigger,
                self.allowed_triggers(state, data, now),
                f"the workflow '{self.workflow}' v{self.version} has no trigger '{trigger}'"
                + did_you_mean(trigger, self.triggers, noun="trigger"),
            )
        raise TransitionNotAllowed(case_id, state, trigger, self.allowed_triggers(state, data, now))

    def _run_transition(self, step: _Step, taken: _Route, state: str) -> None:
        """Exit actions of the state left, the transition's actions, entry actions of the state
        entered (an internal transition neither exits nor enters)."""
        if taken.dest is not None:
            step.result.left_state = state
            leave = self._exit[state]
            if leave is not None:
                leave(step)
        if taken.actions is not None:
            taken.actions(step)
        if taken.dest is not None:
            enter = self._enter[step.state]
            if enter is not None:
                enter(step)

    # -- service levels -------------------------------------------------------------------------

    @property
    def has_service_levels(self) -> bool:
        return self._service_levels

    def _service_step(
        self, result: StepResult, service: Mapping[str, Any], facts: StepFacts
    ) -> None:
        move: Move = facts[:3]
        reach = self._service_reach.get(move)
        if reach is None:
            reach = self._service_reach[move] = self._reach(move)
        if reach == "never" or (reach == "data" and facts.before is facts.after):
            return  # nothing this step did can change a clock or chain: nothing decoded
        clocks, chains = decode_service(service)
        outcome = SlaOutcome() if self.sla is None else self.sla.apply(clocks, facts)
        changed_chains: dict[str, Chain] = {}
        if self.escalations is not None:
            changed_chains = self.escalations.apply(chains, facts, outcome)
        if outcome.clocks or changed_chains:
            self._merge_service(result, outcome.clocks, changed_chains, outcome, service)

    def _reach(self, move: Move) -> Reach:
        """Whether a step of ``move`` can change a clock or a chain (once per move)."""
        found = {
            "never",
            *((self.sla.reach(move),) if self.sla is not None else ()),
            *((self.escalations.reach(move),) if self.escalations is not None else ()),
        }
        return "always" if "always" in found else "data" if "data" in found else "never"

    @staticmethod
    def _merge_service(
        result: StepResult,
        clocks: Mapping[str, Clock],
        chains: Mapping[str, Chain],
        outcome: SlaOutcome,
        service: Mapping[str, Any] | None = None,
    ) -> None:
        """Fold the outcome into the result; only changed clocks and chains are re-encoded."""
        result.service = encode_service(clocks, chains, service)
        result.service_events.extend(outcome.events)
        result.cancel_triggers.extend(outcome.cancel)
        timers = result.timers
        if timers:
            cancelled = set(outcome.cancel)
            timers[:] = [t for t in timers if t.trigger not in cancelled]
        for trigger, due in outcome.schedule:  # (without the named tuple's keyword ``__new__``)
            timers.append(tuple.__new__(TimerRequest, (trigger, due, True, None)))

    def recompute_deadlines(
        self, state: str, data: Mapping[str, Any], service: Mapping[str, Any], now: datetime
    ) -> StepResult | None:
        """New deadlines for the running clocks after a calendar changed (None if none moved)."""
        if self.sla is None:
            return None
        clocks, _ = decode_service(service)
        outcome = self.sla.recompute(clocks, now)
        if not outcome.clocks:
            return None
        result = StepResult(trigger=None, source=state, target=state, data=data)
        self._merge_service(result, outcome.clocks, {}, outcome, service)
        return result

    def service_timer(
        self,
        case_id: str,
        state: str,
        data: Mapping[str, Any],
        service: Mapping[str, Any],
        trigger: str,
        due_at: datetime,
        now: datetime,
    ) -> StepResult | None:
        """A due SLA warning or breach (``sla:...``) or escalation level (``esc:...``): run its
        actions and any trigger it fires; None when the timer no longer applies."""
        clocks, chains = decode_service(service)
        result = StepResult(trigger=trigger, source=state, target=state, data=data)
        step = _Step(state, data, now, result, case_id)
        changed_clocks: dict[str, Clock] = {}
        changed_chains: dict[str, Chain] = {}
        if trigger.startswith("sla:") and self.sla is not None:
            hit = self.sla.on_timer(clocks, trigger, due_at)
            if hit is None:
                return None
            changed_clocks[hit.metric] = hit.clock
            result.service_events.append(hit.event)
            actions = self._service_actions.get(hit.base)
            if actions is not None:
                actions(step)
        elif trigger.startswith("esc:") and self.escalations is not None:
            reached = self.escalations.on_timer(chains, trigger, due_at)
            if reached is None:
                return None
            changed_chains[reached.name] = reached.chain
            result.service_events.append(reached.event)
            if reached.schedule is not None:
                result.timers.append(TimerRequest(*reached.schedule, keep=True))
            level = reached.level
            if level is not None:
                result.notifications.append(
                    self._notification(level.template, tuple(level.notify), None, level.urgent, now)
                )
                if level.fire is not None:
                    result.fire.append(level.fire)
        else:
            return None
        result.data = step.data
        result.service = _reencode_service(service, changed_clocks, changed_chains)
        for fired in list(result.fire):
            try:
                nested = self.step(case_id, state, result.data, fired, None, now, result.service)
            except TransitionNotAllowed as error:
                result.notes.append(f"could not fire '{fired}': {error}")
                continue
            _absorb(result, nested)
            state = nested.target
        return result

    def _notification(
        self,
        template: str,
        recipients: tuple[str, ...],
        channel: str | None,
        urgent: bool,
        now: datetime,
    ) -> NotificationRequest:
        hold = None
        if self._quiet is not None and not urgent and not self._quiet.is_open(now):
            hold = self._quiet.next_open(now)
        return NotificationRequest(template, recipients, channel, urgent, hold)

    def allowed_triggers(
        self, state: str, data: Mapping[str, Any], now: datetime, actor: Actor | None = None
    ) -> list[str]:
        """Triggers that would succeed now: the first transition from ``state`` whose condition
        holds (and, given an ``actor``, which that actor may take)."""
        actor = self._widened(actor)
        probe = _Step(
            state,
            dict(data),
            now,
            StepResult(trigger=None, source=state, target=state, data={}),
            actor=actor,
        )
        allowed = []
        for trigger in self.triggers:
            for condition, _, index, _ in self._routes.get((trigger, state), ()):
                try:
                    if condition is None or condition.test(probe):
                        if actor is None or self.authority.refusal(index, actor, probe) is None:
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
            if self._quiet is None or spec.urgent:
                return lambda step: step.result.notifications.append(request)
            return lambda step: step.result.notifications.append(
                self._notification(
                    request.template, request.recipients, spec.channel, False, step.now
                )
            )
        if action.fire is not None:
            fired = action.fire
            return lambda step: step.result.fire.append(fired)
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
        if action.call is not None:
            return self._call_action(path, action.call, where)
        note = action.note or ""
        return lambda step: step.result.notes.append(note)

    def _call_action(self, path: KeyPath, call: CallSpec, where: str) -> _Runner:
        """A plugin action: arguments evaluated from the case, returned fields validated and
        set like a ``set``; a plugin exception fails the step (nothing is written)."""
        function = current_extensions().actions.get(call.action)
        computed = {
            name: self.loaded.expressions[(*path, "call", "with", name, "expr")]
            for name, value in call.arguments.items()
            if _is_expr(value)
        }
        literals = {k: v for k, v in call.arguments.items() if not _is_expr(v)}

        def run_call(step: _Step) -> None:
            if function is None:
                raise PluginError(
                    f"{where}: action '{call.action}' is not provided by any loaded plugin"
                )
            arguments = {**literals, **{n: e.evaluate(step) for n, e in computed.items()}}
            request = ActionCall(
                action=call.action,
                case_id=step.case_id,
                state=step.state,
                data=step.data,
                arguments=arguments,
                now=step.now,
            )
            try:
                returned = function(request)
            except Exception as error:
                failed = PluginError(
                    f"{where}: plugin action '{call.action}' failed: {type(error).__name__}: "
                    f"{error}; nothing was written"
                )
                raise raised_from(failed, error)  # noqa: B904 (svcflow.compiled)
            if returned:
                step.write(
                    self.schema.validate_changes(
                        dict(returned), origin=f"action '{call.action}' at {where}"
                    )
                )

        return run_call

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


def decode_service(
    service: Mapping[str, Any],
) -> tuple[Mapping[str, Clock], Mapping[str, Chain]]:
    """A case's SLA clocks and escalation chains, from the JSON kept with it: the records a
    step wrote when each still carries one (the stores give them back), else each decoded when
    first read (a step usually touches one or two of them)."""
    if not service:  # (a case's first step)
        return _NOTHING, _NOTHING
    return _records(service.get("metrics"), _clock_from_json), _records(
        service.get("escalations"), _chain_from_json
    )


_clock_from_json = Clock.from_json
_chain_from_json = Chain.from_json
"""(Bound once: reading a class method off its class makes a new bound method each time.)"""


_NOTHING: Mapping[str, Any] = MappingProxyType({})
_R = TypeVar("_R")


def _records(
    group: Mapping[str, Mapping[str, Any]] | None, decode: Callable[[Mapping[str, Any]], _R]
) -> Mapping[str, _R]:
    """``group``'s records: taken from the ``Kept`` of each (a loop over a handful of entries
    costs less than a lazy mapping and its look-ups), or decoded lazily."""
    if not group:
        return _NOTHING
    records: dict[str, _R] = {}
    for name, value in group.items():
        record = value.decoded if type(value) is Kept else None
        if record is None:
            return Encoded(group, decode)
        records[name] = record
    return records


def _reencode_service(
    service: Mapping[str, Any], clocks: Mapping[str, Clock], chains: Mapping[str, Chain]
) -> dict[str, Any]:
    """The service state after a timer: every clock and chain, ``metrics`` first, as when all
    were decoded and encoded again (the JSON of those that did not change is kept as is)."""
    encoded: dict[str, Any] = {}
    for key, changed in (("metrics", clocks), ("escalations", chains)):
        group = {**service.get(key, {}), **{name: v.to_json() for name, v in changed.items()}}
        if group:
            encoded[key] = group
    return encoded


def encode_service(
    clocks: Mapping[str, Clock],
    chains: Mapping[str, Chain],
    previous: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The case's service state: ``previous`` with ``clocks`` and ``chains`` replaced."""
    encoded: dict[str, Any] = dict(previous) if previous else {}
    for key, changed in (("metrics", clocks), ("escalations", chains)):
        if changed:  # (loops, not comprehensions: a step changes one or two)
            group = encoded[key] = dict(encoded.get(key) or ())
            for name, record in changed.items():
                group[name] = record.to_json()
    return encoded


def _absorb(result: StepResult, nested: StepResult) -> None:
    """Fold a trigger fired by an SLA action into the timer's result."""
    result.target = nested.target
    result.left_state = nested.left_state or result.left_state
    result.data = nested.data
    result.changed.update(nested.changed)
    result.timers.extend(nested.timers)
    result.cancel_triggers.extend(nested.cancel_triggers)
    result.notifications.extend(nested.notifications)
    result.notes.extend(nested.notes)
    result.service_events.extend(nested.service_events)
    if nested.service is not None:
        result.service = nested.service
    result.notes.append(f"fired '{nested.trigger}'")


def _reads_roles(loaded: LoadedWorkflow, authority: Authority) -> bool:
    """Whether a step of the workflow can depend on the roles its actor holds: a transition
    with ``by``/``not_by``, roles that include others, or an expression that reads ``actor``
    or consults a decision table (whose inputs may read it)."""
    if authority.guards or authority.includes:
        return True
    return any(
        "actor" in expression.names or getattr(expression, "tables", None)
        for expression in loaded.expressions.values()
    )


def _is_expr(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"expr"}


def _condition(expression: Expression) -> Callable[[EventData], bool]:
    """The ``when`` as a condition of the machine's transition, for tools that run the machine
    itself (the engine's steps go through the route table)."""
    return lambda event: expression.test(cast(_Step, event.model))
