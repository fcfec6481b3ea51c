"""Tables in a workflow's CEL: a table's name is a variable whose value is its output map,
decided only when an expression that names it is evaluated (:meth:`TableSet.bind`), so
``when:``, ``set`` and SLA targets use tables without the machine knowing about them."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from svcflow.errors import Problem, did_you_mean
from svcflow.rules.expressions import CompileProblem, Expression, Variables
from svcflow.rules.tables.table import CompiledTable, table_sample
from svcflow.spec.tables import TableSpec

__all__ = ["TableExpression", "TableSet"]


class _WithTables:
    """Variables where a table's name reads the table's outputs, decided on first use."""

    __slots__ = ("tables", "variables")

    def __init__(self, variables: Variables, tables: Mapping[str, CompiledTable]) -> None:
        self.variables, self.tables = variables, tables

    def get(self, name: str, default: Any = None) -> Any:
        table = self.tables.get(name)
        if table is None:
            return self.variables.get(name, default)
        return table.evaluate(self.variables)


@dataclass(frozen=True, slots=True)
class TableExpression(Expression):
    """An expression that names tables: each named table decides over the same variables
    before the expression runs (only the tables it names, only when it is evaluated)."""

    tables: Mapping[str, CompiledTable] = field(default_factory=dict)

    def evaluate(
        self,
        variables: Variables,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> Any:
        return Expression.evaluate(self, _WithTables(variables, self.tables), functions)


@dataclass
class TableSet:
    """The tables of one file, compiled, with every problem (errors) and warning found."""

    tables: dict[str, CompiledTable] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    """Every declared table, compiled or not: expressions may name a table with a mistake in
    it without an echo of that mistake."""

    specs: dict[str, TableSpec] = field(default_factory=dict)

    def samples(self) -> dict[str, Any]:
        return {name: table_sample(spec) for name, spec in self.specs.items()}

    def unknown_outputs(self, expression: Expression) -> list[CompileProblem]:
        """A problem for every ``table.output`` in ``expression`` that names no output (the
        probe cannot tell: a missing key is not a type error)."""
        problems = []
        for name in expression.names:
            table = self.tables.get(name)
            if table is None:
                continue
            pattern = rf"\b{re.escape(name)}\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)"
            for match in re.finditer(pattern, expression.source):
                output = match.group(1)
                if output not in table.outputs:
                    offset = match.start(1)
                    line = expression.source.count("\n", 0, offset) + 1
                    column = offset - (expression.source.rfind("\n", 0, offset) + 1) + 1
                    problems.append(
                        CompileProblem(
                            line,
                            column,
                            f"table '{name}' has no output '{output}'"
                            + did_you_mean(output, table.outputs, noun="output"),
                        )
                    )
        return problems

    def bind(self, expression: Expression) -> Expression:
        """``expression``, made to decide the tables it names when it is evaluated."""
        used = {name: self.tables[name] for name in expression.names if name in self.tables}
        if not used:
            return expression
        kept = {f.name: getattr(expression, f.name) for f in fields(expression)}
        # no plain answer: it would read a table's name as a variable, not as the table
        return TableExpression(**(kept | {"tables": used, "plain": None}))
