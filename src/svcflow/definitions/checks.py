"""Meaning checks on a workflow whose shape is valid; pure, no I/O.

Everything a process owner can get wrong by naming something is checked here, with a position
and a "did you mean": states and triggers that do not exist, states nobody can reach or leave,
transitions that can never be taken, fields that are not declared, values of the wrong type and
CEL expressions that do not compile. Expressions are compiled once, here, and handed on.
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from svcflow.definitions.care import check_care
from svcflow.errors import ExpressionError, Problem, did_you_mean
from svcflow.rules.expressions import Expression, compile_expression
from svcflow.rules.tables.compiler import workflow_tables
from svcflow.spec.actions import CallSpec
from svcflow.spec.datamodel import sample_value, value_problem
from svcflow.spec.extensions import current_extensions
from svcflow.spec.kpi import KpiSpec
from svcflow.spec.models import MESSAGE_FIELDS, Action, IntakeSpec, TransitionSpec, WorkflowSpec
from svcflow.spec.sla import ConditionSpec, EscalationSpec, MetricSpec
from svcflow.spec.yamlsource import KeyPath, SourceMap, format_key_path

__all__ = ["RESERVED_NAMES", "check_workflow", "expand_sources"]

RESERVED_NAMES = frozenset({"now", "state", "actor"})
_SAMPLE_ACTOR = {"id": "agent-1", "roles": ["agent"]}
_SAMPLE_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
_CEL_KEYWORDS = frozenset(
    [
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
        "true",
        "false",
        "null",
    ]
)


def expand_sources(transition: TransitionSpec, spec: WorkflowSpec) -> list[str]:
    """The states a transition leaves from; ``*`` means every non-final state."""
    if transition.is_wildcard:
        return [name for name, state in spec.states.items() if not state.final]
    return transition.sources


class _Checker:
    def __init__(self, spec: WorkflowSpec, source_map: SourceMap) -> None:
        self.spec = spec
        self.map = source_map
        self.problems: list[Problem] = []
        self.expressions: dict[KeyPath, Expression] = {}
        self.states = list(spec.states)
        self.triggers = sorted({t.trigger for t in spec.transitions})
        self.variables = [*spec.data, *sorted(RESERVED_NAMES)]
        self.tables = workflow_tables(spec, source_map)  # each table is a variable too
        self.problems.extend(self.tables.problems)
        self.variables.extend(self.tables.names)

    def report(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.map.problem(path, message, at_key=at_key))

    def run(self) -> None:
        self.check_fields()
        self.check_roles()
        self.check_initial()
        for name, state in self.spec.states.items():
            self.check_actions(("states", name, "on_enter"), state.on_enter)
            self.check_actions(("states", name, "on_exit"), state.on_exit)
        for index, transition in enumerate(self.spec.transitions):
            self.check_transition(index, transition)
        if self.spec.sla is not None:
            for name, metric in self.spec.sla.metrics.items():
                self.check_metric(("sla", "metrics", name), metric)
        for name, chain in self.spec.escalations.items():
            self.check_escalation(("escalations", name), chain)
        if self.spec.intake is not None:
            self.check_intake(self.spec.intake)
        if self.spec.kpi is not None:
            self.check_kpi(self.spec.kpi)
        check_care(self)
        if not self.problems:
            self.check_graph()
            self.check_shadowed_transitions()

    def check_fields(self) -> None:
        for name, field in self.spec.data.items():
            if name in RESERVED_NAMES or name in _CEL_KEYWORDS:
                self.report(
                    ("data", name),
                    f"'{name}' is a reserved name in expressions; choose another field name",
                    at_key=True,
                )
            if "default" in field.model_fields_set:
                why = value_problem(field, field.default)
                if why:
                    self.report(("data", name, "default"), f"invalid default: {why}")

    def check_initial(self) -> None:
        initial = [name for name, state in self.spec.states.items() if state.initial]
        if not initial:
            self.report(
                ("states",),
                "no initial state; mark the state every case starts in with 'initial: true'",
            )
        for extra in initial[1:]:
            self.report(
                ("states", extra, "initial"),
                f"more than one initial state ({', '.join(initial)}); exactly one state has "
                "'initial: true'",
            )

    def check_state_name(self, path: KeyPath, name: str) -> bool:
        if name in self.spec.states:
            return True
        self.report(path, f"unknown state '{name}'" + did_you_mean(name, self.states, noun="state"))
        return False

    def check_transition(self, index: int, transition: TransitionSpec) -> None:
        base: KeyPath = ("transitions", index)
        if not transition.is_wildcard:
            listed = isinstance(transition.source, list)
            for position, source in enumerate(transition.sources):
                path = (*base, "from", position) if listed else (*base, "from")
                if self.check_state_name(path, source) and self.spec.states[source].final:
                    self.report(
                        path,
                        f"state '{source}' is final, so no transition may leave it; remove "
                        "'final: true' from it or remove this transition",
                    )
        if transition.to is not None:
            self.check_state_name((*base, "to"), transition.to)
        if transition.when is not None:
            self.compile((*base, "when"), transition.when, condition=True)
        self.check_authority(base, transition)
        self.check_actions((*base, "actions"), transition.actions)

    def check_roles(self) -> None:
        for name, role in self.spec.roles.items():
            for position, included in enumerate(role.includes):
                self.check_role(("roles", name, "includes", position), included)

    def check_role(self, path: KeyPath, role: str) -> None:
        """A role named in the file must be declared under ``roles:`` once that section exists
        (without it, roles are whatever the host's identity system says)."""
        if self.spec.roles and role not in self.spec.roles:
            self.report(
                path,
                f"unknown role '{role}'" + did_you_mean(role, self.spec.roles, noun="role"),
            )

    def check_authority(self, base: KeyPath, transition: TransitionSpec) -> None:
        """``by`` names roles, or computes them; ``not_by`` computes the excluded actors."""
        by = transition.by
        if isinstance(by, str):
            self.check_role((*base, "by"), by)
        elif isinstance(by, list):
            for position, role in enumerate(by):
                self.check_role((*base, "by", position), role)
        elif by is not None:
            self.compile((*base, "by", "expr"), by.expr)
        if transition.not_by is not None:
            self.compile((*base, "not_by", "expr"), transition.not_by.expr)

    def compile(self, path: KeyPath, source: str, *, condition: bool = False) -> None:
        result = self.compile_with(path, source, self.variables)
        if result is not None:
            self.probe(path, result, condition=condition)

    def compile_with(self, path: KeyPath, source: str, names: Sequence[str]) -> Expression | None:
        """Compile an expression reading ``names``; keep it by path, or report its problems."""
        line, column = self.map.position(path)
        result = compile_expression(source, names, f"{self.map.file}:{line}:{column}")
        if isinstance(result, Expression):
            unknown = self.tables.unknown_outputs(result)
            if not unknown:
                self.expressions[path] = self.tables.bind(result)
                return result
            result = unknown
        for problem in result:
            at_line, at_column = self.map.expression_position(path, problem.line, problem.column)
            self.problems.append(
                Problem(self.map.file, at_line, at_column, format_key_path(path), problem.message)
            )
        return None

    def probe(self, path: KeyPath, expression: Expression, *, condition: bool) -> None:
        """Evaluate once on typical values of the declared types to catch type mismatches
        (``priority > 3`` on an enum) at load rather than on a live case. Only type errors are
        reported: a probe value may legitimately fail in other ways (a division by zero)."""
        outcome: object = None
        for use_default in (True, False):
            variables = {
                name: sample_value(spec, use_default=use_default)
                for name, spec in self.spec.data.items()
            }
            variables |= {
                "now": _SAMPLE_NOW,
                "state": next(iter(self.spec.states)),
                "actor": _SAMPLE_ACTOR,
            }
            variables |= self.tables.samples()
            try:
                outcome = expression.evaluate(variables)
                break
            except ExpressionError as error:
                if "overload" not in error.cause and "Unsupported operation" not in error.cause:
                    return
                cause = error.cause
        else:
            reads = ", ".join(
                f"{name} ({self.spec.data[name].type})" if name in self.spec.data else name
                for name in expression.names
            )
            self.report(
                path,
                f"type mismatch in `{expression.source}`: {cause.split('. ')[0]}; CEL "
                f"does not convert between types (write 3.0 for a number, quote strings); "
                f"it reads: {reads}",
            )
            return
        if condition and not isinstance(outcome, bool):
            self.report(
                path,
                f"a condition must be true or false, but `{expression.source}` gives "
                f"{_cel_type(outcome)}; compare it, e.g. `{expression.source} == ...`",
            )

    def check_metric(self, base: KeyPath, metric: MetricSpec) -> None:
        for kind in ("start", "stop", "pause", "resume", "cancel", "reset"):
            self.check_conditions((*base, kind), getattr(metric, kind))
        default: int | None = None
        for index, target in enumerate(metric.targets):
            path = (*base, "targets", index)
            if default is not None:
                self.report(
                    path,
                    f"targets[{default}] has no 'when', so it applies to every case and this "
                    "target is never chosen; targets are tried in order, put the catch-all last",
                )
            if target.when is None:
                default = index if default is None else default
            else:
                self.compile((*path, "when"), target.when, condition=True)
        if default is None:
            self.report(
                (*base, "targets"),
                "no target applies when none of the 'when' conditions hold; end the list with "
                "a target without 'when' (the default)",
            )
        for index, warning in enumerate(metric.warnings):
            self.check_actions((*base, "warnings", index, "actions"), warning.actions, fire=True)
        self.check_actions((*base, "on_breach"), metric.on_breach, fire=True)

    def check_kpi(self, kpi: KpiSpec) -> None:
        """The metrics ``kpi:`` names exist in ``sla.metrics`` (defaults are not checked: a
        workflow without a ``first_response`` metric simply has no first response)."""
        metrics = list(self.spec.sla.metrics) if self.spec.sla is not None else []
        named: list[tuple[KeyPath, str]] = [
            (("kpi", key), getattr(kpi, key))
            for key in ("first_response", "resolution")
            if key in kpi.model_fields_set
        ]
        if isinstance(kpi.sla_attainment, dict):
            named += [(("kpi", "sla_attainment", name), name) for name in kpi.sla_attainment]
        for path, name in named:
            if name not in metrics:
                self.report(
                    path,
                    f"unknown SLA metric '{name}'" + did_you_mean(name, metrics, noun="SLA metric"),
                    at_key=path[-1] == name,
                )

    def check_escalation(self, base: KeyPath, chain: EscalationSpec) -> None:
        for kind in ("start", "stop", "cancel"):
            self.check_conditions((*base, kind), getattr(chain, kind))
        for index, level in enumerate(chain.levels):
            if level.fire is not None:
                self.check_trigger((*base, "levels", index, "fire"), level.fire)

    def written(self, path: KeyPath) -> KeyPath:
        """``path``, or without its list index where the file wrote one item without a list
        (``stop: {leave: received}`` for ``stop: [{leave: [received]}]``)."""
        if path in self.map.values or path in self.map.keys:
            return path
        return path[:-1]

    def check_conditions(self, base: KeyPath, conditions: list[ConditionSpec]) -> None:
        for index, condition in enumerate(conditions):
            path = self.written((*base, index))
            for kind in ("enter", "leave"):
                names = getattr(condition, kind)
                for position, state in enumerate(names or ()):
                    self.check_state_name(self.written((*path, kind, position)), state)
            for position, trigger in enumerate(condition.trigger or ()):
                self.check_trigger(self.written((*path, "trigger", position)), trigger)
            if condition.when is not None:
                self.compile((*path, "when"), condition.when, condition=True)

    def check_actions(
        self, base: KeyPath, actions: Iterable[Action], *, fire: bool = False
    ) -> None:
        for index, action in enumerate(actions):
            path = (*base, index)
            if action.fire is not None:
                if fire:
                    self.check_trigger((*path, "fire"), action.fire)
                else:
                    self.report(
                        (*path, "fire"),
                        "'fire' is only for SLA warnings and breaches; in a transition, move "
                        "the case with 'to' or schedule the trigger with 'schedule'",
                        at_key=True,
                    )
            elif (action.schedule is not None or action.cancel is not None) and fire:
                self.report(
                    (*path, action.kind),
                    f"SLA actions are set, notify, note and fire; '{action.kind}' belongs to "
                    "states and transitions",
                    at_key=True,
                )
            elif action.set is not None:
                self.check_set((*path, "set"), action.set)
            elif action.call is not None:
                self.check_call((*path, "call"), action.call)
            elif action.schedule is not None:
                self.check_trigger((*path, "schedule", "trigger"), action.schedule.trigger)
            elif action.cancel is not None:
                self.check_trigger((*path, "cancel"), action.cancel)

    def check_call(self, path: KeyPath, call: CallSpec) -> None:
        known = current_extensions().actions
        if call.action not in known:
            self.report(
                (*path, "action"),
                f"unknown action '{call.action}'"
                + did_you_mean(call.action, known, noun="plugin action")
                + " (actions come from plugins: install or register the plugin that provides it)",
            )
        for name, value in call.arguments.items():
            if isinstance(value, dict) and set(value) == {"expr"}:
                self.compile((*path, "with", name, "expr"), value["expr"])

    def check_intake(self, intake: IntakeSpec) -> None:
        """Intake fields must be declared, the reply trigger must exist, and the expressions
        read the inbound ``message``, its ``customer`` (and ``now``), not case fields."""
        for section in ("data", "payload"):
            for name, source in getattr(intake, section).items():
                path: KeyPath = ("intake", section, name)
                if name not in self.spec.data:
                    self.report(
                        path,
                        f"unknown field '{name}'"
                        + did_you_mean(name, self.spec.data, noun="declared field"),
                        at_key=True,
                    )
                if self.compile_with(path, source, ("message", "now", "customer")) is not None:
                    self.check_message_fields(path, source)
        if intake.when is not None:
            path = ("intake", "when")
            if self.compile_with(path, intake.when, ("message", "now", "customer")) is not None:
                self.check_message_fields(path, intake.when)
        if intake.reply is not None:
            self.check_trigger(("intake", "reply"), intake.reply)

    def check_message_fields(self, path: KeyPath, source: str) -> None:
        """``message`` is a map, so CEL cannot catch ``message.sendr``; check it here."""
        for match in re.finditer(r"\bmessage\.([A-Za-z_]\w*)", source):
            name = match.group(1)
            if name in MESSAGE_FIELDS:
                continue
            offset = match.start(1)
            line = source.count("\n", 0, offset) + 1
            column = offset - (source.rfind("\n", 0, offset) + 1) + 1
            at_line, at_column = self.map.expression_position(path, line, column)
            self.problems.append(
                Problem(
                    self.map.file,
                    at_line,
                    at_column,
                    format_key_path(path),
                    f"unknown message field '{name}'"
                    + did_you_mean(name, MESSAGE_FIELDS, noun="message field"),
                )
            )

    def check_trigger(self, path: KeyPath, trigger: str) -> None:
        if trigger not in self.triggers:
            self.report(
                path,
                f"unknown trigger '{trigger}'"
                + did_you_mean(trigger, self.triggers, noun="trigger"),
            )

    def check_set(self, path: KeyPath, assignments: Mapping[str, Any]) -> None:
        for name, value in assignments.items():
            if name not in self.spec.data:
                self.report(
                    (*path, name),
                    f"unknown field '{name}'" + did_you_mean(name, self.spec.data, noun="field"),
                    at_key=True,
                )
                continue
            if isinstance(value, dict) and set(value) == {"expr"}:
                self.compile((*path, name, "expr"), value["expr"])
                continue
            why = value_problem(self.spec.data[name], value)
            if why:
                self.report((*path, name), f"invalid value for field '{name}': {why}")

    def check_graph(self) -> None:
        initial = next((n for n, s in self.spec.states.items() if s.initial), None)
        if initial is None:
            return
        edges: dict[str, set[str]] = defaultdict(set)
        for transition in self.spec.transitions:
            for source in expand_sources(transition, self.spec):
                edges[source].add(transition.to or source)
        reached = {initial}
        queue = deque([initial])
        while queue:
            for target in edges[queue.popleft()] - reached:
                reached.add(target)
                queue.append(target)
        for name, state in self.spec.states.items():
            if name not in reached:
                self.report(
                    ("states", name),
                    f"state '{name}' cannot be reached from the initial state '{initial}'; add a "
                    "transition to it or remove it",
                    at_key=True,
                )
            elif not state.final and not (edges[name] - {name}):
                self.report(
                    ("states", name),
                    f"state '{name}' is not final but no transition leaves it, so its cases "
                    "would be stuck; add a transition out of it or mark it 'final: true'",
                    at_key=True,
                )

    def check_shadowed_transitions(self) -> None:
        unguarded: dict[tuple[str, str], int] = {}
        for index, transition in enumerate(self.spec.transitions):
            for source in expand_sources(transition, self.spec):
                earlier = unguarded.get((transition.trigger, source))
                if earlier is not None:
                    first_line = self.map.position(("transitions", earlier))[0]
                    kind = "also has no 'when'" if transition.when is None else "comes after it"
                    self.report(
                        ("transitions", index),
                        f"trigger '{transition.trigger}' from state '{source}' is already "
                        f"handled by transitions[{earlier}] (line {first_line}), which has no "
                        f"'when' condition, and this transition {kind}, so it can never be "
                        "taken; add a 'when' condition to the earlier one or remove this one",
                    )
                elif transition.when is None:
                    unguarded[(transition.trigger, source)] = index


def _cel_type(value: object) -> str:
    names = {str: "a string", int: "an int", float: "a double", list: "a list", dict: "a map"}
    return names.get(type(value), f"a {type(value).__name__}")


def check_workflow(
    spec: WorkflowSpec, source_map: SourceMap
) -> tuple[dict[KeyPath, Expression], list[Problem]]:
    """Check a shape-valid workflow; return its compiled expressions and every problem."""
    checker = _Checker(spec, source_map)
    checker.run()
    return checker.expressions, checker.problems
