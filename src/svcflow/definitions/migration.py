"""Migration plan files in, a :class:`LoadedMigration` checked against both versions out.

A plan is read like a workflow file (YAML with positions, then its shape), then checked against
the version its cases run on (``from``) and the one they move to (``to``): old states on the
left, new states on the right, fields and SLA metrics of the new version, and CEL expressions
over the old version's data (which is what a rule or a computed value reads). Every problem is
reported at once, at its ``file:line:col``, with a "did you mean".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svcflow.definitions.checks import RESERVED_NAMES
from svcflow.definitions.workflow import LoadedWorkflow, read_definition_file
from svcflow.errors import Problem, WorkflowDefinitionError, did_you_mean
from svcflow.rules.expressions import Expression, compile_expression
from svcflow.spec.datamodel import value_problem
from svcflow.spec.migration import MigrationSpec
from svcflow.spec.shape import parse_mapping, validate_shape
from svcflow.spec.yamlsource import KeyPath, SourceMap, format_key_path

__all__ = ["LoadedMigration", "check_migration", "load_migration_file", "read_migration_text"]


@dataclass(frozen=True)
class LoadedMigration:
    """A plan whose shape is valid and whose names were checked against both versions."""

    spec: MigrationSpec
    file: str
    source_map: SourceMap
    expressions: Mapping[KeyPath, Expression]

    @property
    def workflow(self) -> str:
        return self.spec.migration


@dataclass(frozen=True)
class MigrationText:
    """A plan file read and shape-checked, not yet checked against the versions."""

    spec: MigrationSpec
    file: str
    source_map: SourceMap


def read_migration_text(text: str, file: str = "<string>") -> MigrationText:
    """Parse a plan and check its shape (``WorkflowDefinitionError`` with positions)."""
    document = parse_mapping(
        text,
        file,
        "a migration plan is a mapping with keys migration, from, to, states, data and clocks",
    )
    spec = validate_shape(MigrationSpec, document.data, document.source_map)
    return MigrationText(spec, file, document.source_map)


def load_migration_file(path: str | Path) -> MigrationText:
    """Read a plan file (UTF-8) and check its shape."""
    return read_migration_text(*read_definition_file(path))


def check_migration(
    plan: MigrationText, old: LoadedWorkflow, new: LoadedWorkflow
) -> LoadedMigration:
    """Check ``plan`` against the version its cases run on and the one they move to."""
    checker = _Checker(plan, old, new)
    checker.run()
    if checker.problems:
        raise WorkflowDefinitionError(checker.problems)
    return LoadedMigration(plan.spec, plan.file, plan.source_map, checker.expressions)


class _Checker:
    def __init__(self, plan: MigrationText, old: LoadedWorkflow, new: LoadedWorkflow) -> None:
        self.spec, self.map, self.old, self.new = plan.spec, plan.source_map, old.spec, new.spec
        self.problems: list[Problem] = []
        self.expressions: dict[KeyPath, Expression] = {}
        self.names = [*self.old.data, *sorted(RESERVED_NAMES)]

    def report(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.map.problem(path, message, at_key=at_key))

    def run(self) -> None:
        for name, rules in self.spec.states.items():
            self.known(("states", name), name, self.old.states, f"v{self.spec.source} state")
            for index, rule in enumerate(rules):
                path = self.written(("states", name, index))
                self.known((*path, "to"), rule.to, self.new.states, f"v{self.spec.target} state")
                if rule.when is not None:
                    self.compile((*path, "when"), rule.when, ("states", name, index, "when"))
        for name, value in self.spec.data.items():
            path = ("data", name)
            field = self.new.data.get(name)
            if field is None:
                self.known(path, name, self.new.data, f"v{self.spec.target} field")
            elif isinstance(value, dict) and set(value) == {"expr"}:
                self.compile((*path, "expr"), value["expr"], (*path, "expr"))
            elif why := value_problem(field, value):
                self.report(path, f"invalid value for field '{name}': {why}")
        metrics = self.new.sla.metrics if self.new.sla is not None else {}
        for name in self.spec.clocks:
            self.known(("clocks", name), name, metrics, f"v{self.spec.target} SLA metric")

    def known(self, path: KeyPath, name: str, choices: Mapping[str, object], noun: str) -> None:
        if name not in choices:
            at_key = path[-1] == name
            self.report(
                path,
                f"unknown {noun} '{name}'" + did_you_mean(name, list(choices), noun=noun),
                at_key=at_key,
            )

    def written(self, path: KeyPath) -> KeyPath:
        """``path``, or without its index where one rule was written without a list."""
        if path in self.map.values or path in self.map.keys:
            return path
        return path[:-1]

    def compile(self, path: KeyPath, source: str, key: KeyPath) -> None:
        """Compile an expression over the old version's data; keep it under ``key`` (the
        path with every list index, whatever the file's short form)."""
        line, column = self.map.position(path)
        result = compile_expression(source, self.names, f"{self.map.file}:{line}:{column}")
        if isinstance(result, Expression):
            self.expressions[key] = result
            return
        for problem in result:
            at_line, at_column = self.map.expression_position(path, problem.line, problem.column)
            self.problems.append(
                Problem(self.map.file, at_line, at_column, format_key_path(path), problem.message)
            )
