"""Compiling a file's tables: inputs typed and probed, cells parsed, outputs checked, each
problem at its ``file:line:col``; then the load-time checks of :mod:`.validation`."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from svcflow.errors import ExpressionError, Problem, did_you_mean
from svcflow.rules.expressions import Expression, compile_expression
from svcflow.rules.tables.binding import TableSet
from svcflow.rules.tables.cells import (
    CELL_FORMS,
    EVERYTHING,
    IDENTIFIER,
    Cell,
    CellKind,
    parse_cell,
)
from svcflow.rules.tables.index import CompiledInput, Row
from svcflow.rules.tables.table import CompiledTable, default_output
from svcflow.rules.tables.validation import analyse
from svcflow.spec.datamodel import field_annotation, sample_value, value_problem
from svcflow.spec.models import FieldSpec
from svcflow.spec.tables import NOTE_COLUMN, InputSpec, OutputSpec, TableSpec, ValueType
from svcflow.spec.yamlsource import KeyPath, SourceMap, format_key_path

if TYPE_CHECKING:
    from svcflow.spec.models import WorkflowSpec

__all__ = ["compile_tables", "workflow_tables"]


def compile_tables(
    specs: Mapping[str, TableSpec],
    scope: Mapping[str, FieldSpec],
    samples: dict[str, Any],
    source_map: SourceMap,
    base: KeyPath = ("tables",),
) -> TableSet:
    """Compile and check every table; ``scope`` is what inputs may read (the case's fields,
    ``now``...), ``samples`` typical values of it for type checks."""
    found = TableSet(names=list(specs), specs=dict(specs))
    for name, spec in specs.items():
        compiler = _TableCompiler(name, spec, scope, samples, source_map, (*base, name))
        table = compiler.run()
        found.problems.extend(compiler.problems)
        if table is not None:
            found.tables[name] = table
            found.warnings.extend(table.warnings)
    return found


def workflow_tables(spec: WorkflowSpec, source_map: SourceMap) -> TableSet:
    """The tables a workflow declares, compiled over its fields, ``now`` and ``state``.

    A table's name is a CEL variable in the workflow's expressions, so it may not be a field's
    name or a reserved one.
    """
    scope = {
        **spec.data,
        "now": FieldSpec(type="datetime", required=True),
        "state": FieldSpec(type="enum", values=list(spec.states), required=True),
    }
    samples = {name: sample_value(field) for name, field in scope.items()}
    found = compile_tables(spec.tables, scope, samples, source_map)
    for name in spec.tables:
        if name in scope:
            what = "a field" if name in spec.data else "a reserved name"
            found.problems.append(
                source_map.problem(
                    ("tables", name),
                    f"'{name}' is {what}; a table's name is a variable in expressions, so "
                    "give the table another name",
                    at_key=True,
                )
            )
    return found


class _TableCompiler:
    def __init__(
        self,
        name: str,
        spec: TableSpec,
        scope: Mapping[str, FieldSpec],
        samples: dict[str, Any],
        source_map: SourceMap,
        base: KeyPath,
    ) -> None:
        self.name, self.spec, self.scope, self.samples = name, spec, scope, samples
        self.map, self.base = source_map, base
        self.problems: list[Problem] = []
        self.adapters: dict[str, TypeAdapter[Any]] = {}

    def report(self, path: KeyPath, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.map.problem(path, message, at_key=at_key))

    def where(self, path: KeyPath) -> str:
        line, column = self.map.position(path, prefer_key=True)
        return f"{self.map.file}:{line}:{column}"

    def run(self) -> CompiledTable | None:
        spec = self.spec
        for name in set(spec.inputs) & set(spec.outputs):
            self.report(
                (*self.base, "outputs", name),
                f"'{name}' is both an input and an output; rename one, since a rule's cells are "
                "named by column",
                at_key=True,
            )
        for section in ("inputs", "outputs"):
            if NOTE_COLUMN in getattr(spec, section):
                self.report(
                    (*self.base, section, NOTE_COLUMN),
                    f"'{NOTE_COLUMN}' is the column for a rule's remark; give the "
                    f"{section[:-1]} another name",
                    at_key=True,
                )
        inputs = [self.compile_input(n, s) for n, s in spec.inputs.items()]
        outputs = {n: self.compile_output(n, s) for n, s in spec.outputs.items()}
        self.check_policy(outputs)
        if self.problems or None in inputs:
            return None
        kinds = [
            CellKind(i.name, i.field, TypeAdapter(field_annotation(i.field)))
            for i in inputs
            if i is not None
        ]
        compiled = [i for i in inputs if i is not None]
        rows = [
            self.compile_row(index, row, compiled, kinds, outputs)
            for index, row in enumerate(spec.rules)
        ]
        if self.problems:
            return None
        table = CompiledTable(
            self.name,
            spec,
            self.where(self.base),
            compiled,
            outputs,
            rows,
        )
        findings = analyse(table)
        for index, message in findings.errors:
            self.report(self.row_path(index), message)
        table.warnings = [
            self.map.problem((*self.base, "rules"), m, at_key=True) for m in findings.warnings
        ]
        return None if self.problems else table

    def row_path(self, index: int) -> KeyPath:
        return (*self.base, "rules", index)

    def compile_cel(self, path: KeyPath, source: str, names: Collection[str]) -> Expression | None:
        line, column = self.map.position(path)
        result = compile_expression(source, names, f"{self.map.file}:{line}:{column}")
        if isinstance(result, Expression):
            return result
        for problem in result:
            at_line, at_column = self.map.expression_position(path, problem.line, problem.column)
            self.problems.append(
                Problem(self.map.file, at_line, at_column, format_key_path(path), problem.message)
            )
        return None

    def probe(self, path: KeyPath, expression: Expression, samples: dict[str, Any]) -> Any:
        """Evaluate on typical values; report a type mismatch ("no such overload", "Unsupported
        operation") only: a probe value may fail in other ways (a division by zero)."""
        try:
            return expression.evaluate(samples)
        except ExpressionError as error:
            if "overload" in error.cause or "Unsupported operation" in error.cause:
                self.report(
                    path,
                    f"type mismatch in `{expression.source}`: {error.cause.split('. ')[0]}; CEL "
                    "does not convert between types (write 3.0 for a number, quote strings)",
                )
            return _UNKNOWN

    def compile_input(self, name: str, spec: InputSpec) -> CompiledInput | None:
        path: KeyPath = (*self.base, "inputs", name)
        written = (*path, "expr") if (*path, "expr") in self.map.values else path
        source = (spec.expr or name).strip()
        expression = self.compile_cel(written, source, self.scope)
        if expression is None:
            return None
        declared = self.scope.get(source) if IDENTIFIER.match(source) else None
        nullable = declared is not None and not declared.required and declared.default is None
        if spec.type is not None:
            typed = FieldSpec(type=spec.type, values=spec.values)
        elif declared is not None and declared.type in _VALUE_TYPES:
            typed = FieldSpec(type=declared.type, values=declared.values)
        else:
            outcome = self.probe(written, expression, self.samples)
            inferred = _PYTHON_TYPES.get(type(outcome))
            if outcome is _UNKNOWN:
                return None
            if inferred is None:
                self.report(
                    path,
                    f"input '{name}' gives {_cel_kind(outcome)}; an input is "
                    "a string, enum, integer, number, boolean, datetime or duration: declare "
                    "its 'type' or change the expression",
                )
                return None
            typed = FieldSpec(type=inferred)
        return CompiledInput(name, source, typed, expression, nullable)

    def compile_output(self, name: str, spec: OutputSpec) -> FieldSpec:
        output = FieldSpec(type=spec.type, values=spec.values)
        if spec.default is not None:
            why = value_problem(output, spec.default)
            if why:
                self.report(
                    (*self.base, "outputs", name, "default"),
                    f"invalid default for output '{name}': {why}",
                )
        return output

    def check_policy(self, outputs: Mapping[str, FieldSpec]) -> None:
        spec = self.spec
        if spec.hit == "priority" and not any(o.type == "enum" for o in outputs.values()):
            self.report(
                (*self.base, "hit"),
                "hit policy priority picks the matching rule whose output comes first in an "
                "enum output's 'values'; give the table an enum output (values highest first)",
            )
        if spec.aggregate in ("sum", "min", "max"):
            allowed = ("integer", "number", "duration") + (
                ("datetime",) if spec.aggregate != "sum" else ()
            )
            for name, output in outputs.items():
                if output.type not in allowed:
                    self.report(
                        (*self.base, "outputs", name),
                        f"aggregate {spec.aggregate} needs outputs of type "
                        f"{', '.join(allowed)}; output '{name}' is {output.type}",
                        at_key=True,
                    )

    def compile_row(
        self,
        index: int,
        row: Mapping[str, Any],
        inputs: list[CompiledInput],
        kinds: list[CellKind],
        outputs: Mapping[str, FieldSpec],
    ) -> Row:
        path = self.row_path(index)  # a mapping: the rules file's model refuses anything else
        columns = [*self.spec.inputs, *self.spec.outputs]
        for key in row:
            if key not in columns and key != NOTE_COLUMN:
                self.report(
                    (*path, key),
                    f"unknown column '{key}'"
                    + did_you_mean(str(key), [*columns, NOTE_COLUMN], noun="column"),
                    at_key=True,
                )
        note = row.get(NOTE_COLUMN, "")
        if not isinstance(note, str):
            self.report((*path, NOTE_COLUMN), "a note is text")
        result = Row(self.map.position(path)[0], note if isinstance(note, str) else "", {})
        cell_names = [*self.scope, *self.spec.inputs]
        cell_samples = {
            **self.samples,
            **{item.name: sample_value(item.field) for item in inputs},
        }
        for item, kind in zip(inputs, kinds, strict=True):
            raw = row.get(item.name, "-")
            cell_path = (*path, item.name)
            if isinstance(raw, dict):
                cell = self.expression_cell(cell_path, raw, cell_names, cell_samples)
            else:
                try:
                    cell = parse_cell(raw, kind)
                except ValueError as error:
                    self.report(cell_path, str(error))
                    cell = None
            if cell is not None:
                item.cells.append(cell)
                if cell.expression is not None:
                    result.conditions.append((item.name, cell.expression))
        for name, output in outputs.items():
            self.output_value(index, row, name, output, result, cell_names, cell_samples)
        return result

    def expression_cell(
        self,
        path: KeyPath,
        raw: Mapping[str, Any],
        names: Collection[str],
        samples: dict[str, Any],
    ) -> Cell | None:
        if set(raw) != {"expr"} or not isinstance(raw["expr"], str):
            self.report(path, CELL_FORMS)
            return None
        expression = self.compile_cel((*path, "expr"), raw["expr"], names)
        if expression is None:
            return None
        outcome = self.probe((*path, "expr"), expression, samples)
        if outcome is not _UNKNOWN and not isinstance(outcome, bool):
            self.report(
                (*path, "expr"),
                f"a CEL cell is a condition, but `{expression.source}` gives "
                f"{_cel_kind(outcome)}; compare it, e.g. `{expression.source} == ...`",
            )
            return None
        return Cell(f"`{expression.source}`", (EVERYTHING,), null=True, expression=expression)

    def output_value(
        self,
        index: int,
        row: Mapping[str, Any],
        name: str,
        output: FieldSpec,
        result: Row,
        names: Collection[str],
        samples: dict[str, Any],
    ) -> None:
        path = (*self.row_path(index), name)
        spec = self.spec.outputs[name]
        if name not in row:
            if "default" not in spec.model_fields_set:
                self.report(
                    self.row_path(index),
                    f"rules[{index}] gives no value for output '{name}', which has no default; "
                    f"add '{name}: ...' to the rule or 'default:' to the output",
                )
            result.outputs[name] = default_output(spec, output)
            return
        value = row[name]
        if isinstance(value, dict) and set(value) == {"expr"}:
            expression = self.compile_cel((*path, "expr"), str(value["expr"]), names)
            if expression is None:
                return
            outcome = self.probe((*path, "expr"), expression, samples)
            if outcome is not _UNKNOWN and output.type != "enum":
                why = value_problem(output, outcome)
                if why:
                    self.report(
                        (*path, "expr"),
                        f"output '{name}' is {output.type}, but `{expression.source}` gives "
                        f"{_cel_kind(outcome)}; convert it, e.g. with int(), double() or string()",
                    )
            result.outputs[name] = None
            result.computed[name] = expression
            return
        if isinstance(value, date) and not isinstance(value, datetime):
            value = value.isoformat()
        if name not in self.adapters:
            self.adapters[name] = TypeAdapter(field_annotation(output))
        try:
            result.outputs[name] = self.adapters[name].validate_python(value)
        except ValidationError:
            allowed = f"; values: {', '.join(output.values or [])}" if output.type == "enum" else ""
            why = value_problem(output, value)
            self.report(path, f"invalid value for output '{name}' ({output.type}): {why}{allowed}")


_UNKNOWN = object()


def _cel_kind(value: Any) -> str:
    """A value's CEL type, as a person reads it in an error."""
    if value is None:
        return "null"
    for kind, name in (
        (bool, "a bool"),
        (int, "an int"),
        (float, "a double"),
        (str, "a string"),
        (datetime, "a timestamp"),
        (timedelta, "a duration"),
        (list, "a list"),
        (dict, "a map"),
    ):
        if isinstance(value, kind):
            return name
    return f"a {type(value).__name__}"


_VALUE_TYPES = frozenset({"string", "integer", "number", "boolean", "enum", "datetime", "duration"})
_PYTHON_TYPES: dict[type, ValueType] = {
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    datetime: "datetime",
    timedelta: "duration",
}
