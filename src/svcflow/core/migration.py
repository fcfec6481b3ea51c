"""One case moved to another version of its workflow, as data: pure, nothing is written here.

:func:`migrate_case` reads a migration plan, the case's two compiled versions, the case and its
pending timers, and returns the :class:`~svcflow.core.effects.StepResult` of the move (new
state, data and SLA state; every pending timer cancelled and the ones that still apply planned
again) or raises :class:`CannotMigrate` saying why the case must stay where it is. The engine
commits each move as one unit of work.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from svcflow.core.effects import StepResult, TimerRequest
from svcflow.core.machine import CompiledWorkflow, decode_service, encode_service
from svcflow.definitions.migration import LoadedMigration
from svcflow.errors import CaseDataError, ExpressionError
from svcflow.records import Case, Timer
from svcflow.rules.expressions import CaseVariables
from svcflow.sla.clocks import SlaOutcome, StepFacts

__all__ = ["CannotMigrate", "migrate_case"]


class CannotMigrate(Exception):
    """Why a case cannot move (its state has no mapping, its data does not fit...)."""


def migrate_case(
    plan: LoadedMigration,
    old: CompiledWorkflow,
    new: CompiledWorkflow,
    case: Case,
    timers: Sequence[Timer],
    now: datetime,
) -> StepResult:
    """The move of ``case`` from ``old`` to ``new`` at ``now`` (``CannotMigrate`` if it can't)."""
    variables = CaseVariables(case.data, case.state, now)
    target = _target_state(plan, new, case.state, variables)
    data = _new_data(plan, new, case.data, variables)
    clocks, chains = decode_service(case.sla)
    facts = StepFacts(
        trigger=None, left=None, entered=None, state=target, before=data, after=data, now=now
    )
    outcome = SlaOutcome()
    if new.sla is not None:
        spec = plan.spec
        outcome = new.sla.migrate(clocks, spec.clocks, spec.default_clock, facts, old.sla)
    kept_chains = {name: chain for name, chain in chains.items() if name in new.spec.escalations}
    result = StepResult(
        trigger=None,
        source=case.state,
        target=target,
        data=data,
        changed={k: v for k, v in data.items() if k not in case.data or case.data[k] != v},
        cancel_triggers=sorted({timer.trigger for timer in timers}),
        service=encode_service(outcome.clocks, kept_chains) or {},
        service_events=outcome.events,
    )
    result.timers.extend(_kept_timers(new, timers, kept_chains))
    result.timers.extend(TimerRequest(t, due, keep=True) for t, due in outcome.schedule)
    dropped = sorted(set(case.data) - set(new.schema.fields))
    if dropped:
        result.notes.append(f"fields v{new.version} does not have: {', '.join(dropped)}")
    return result


def _target_state(
    plan: LoadedMigration, new: CompiledWorkflow, state: str, variables: CaseVariables
) -> str:
    rules = plan.spec.states.get(state)
    if rules is None:
        if state in new.spec.states:
            return state
        raise CannotMigrate(
            f"state '{state}' has no mapping in {plan.file} and v{new.version} has no state "
            f"'{state}'; map it under 'states:'"
        )
    for index, rule in enumerate(rules):
        condition = plan.expressions.get(("states", state, index, "when"))
        try:
            if condition is None or condition.test(variables):
                return rule.to
        except ExpressionError as error:
            raise CannotMigrate(str(error)) from None
    conditions = " / ".join(f"`{rule.when}`" for rule in rules)
    raise CannotMigrate(f"no rule for state '{state}' holds: {conditions} are all false")


def _new_data(
    plan: LoadedMigration,
    new: CompiledWorkflow,
    data: Mapping[str, Any],
    variables: CaseVariables,
) -> dict[str, Any]:
    values = {name: value for name, value in data.items() if name in new.schema.fields}
    for name, value in plan.spec.data.items():
        expression = plan.expressions.get(("data", name, "expr"))
        try:
            values[name] = value if expression is None else expression.evaluate(variables)
        except ExpressionError as error:
            raise CannotMigrate(str(error)) from None
    try:
        return new.schema.initial(values)
    except CaseDataError as error:
        raise CannotMigrate(str(error)) from None


def _kept_timers(
    new: CompiledWorkflow, timers: Sequence[Timer], chains: Mapping[str, object]
) -> list[TimerRequest]:
    """The case's timers that still mean something on the new version, at their due times:
    state timers whose trigger it has and escalation timers of chains it has (SLA timers are
    planned again from the clocks)."""
    kept = []
    for timer in timers:
        kind, _, name = timer.trigger.partition(":")
        if kind == "sla" and name:
            continue
        if (kind == "esc" and name in chains) or timer.trigger in new.triggers:
            kept.append(TimerRequest(timer.trigger, timer.due_at, timer.keep))
    return kept
