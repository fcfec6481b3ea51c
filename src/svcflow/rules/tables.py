"""Decision tables compiled for microsecond decisions, checked at load with file positions.

A table has typed inputs (CEL expressions over the case, compiled once), typed outputs and rows
of cell tests. Deciding evaluates each input once, then finds the matching rows without looping
over them: every literal, list, range or comparison cell is a union of intervals, so each input's
value line is cut at the cells' end points into segments, and for each segment the set of rows
whose cell contains it is precomputed as a bit mask. A decision is one binary search and one
``&`` per input; only rows that also have a CEL cell evaluate it. A 200-row table decides in a
few microseconds (``benches/bench_tables.py``).

The same segments make the load-time checks exact (:mod:`svcflow.rules.validation`): overlapping
rules under ``unique``, rules ``first`` can never reach, and input combinations no rule covers.

In a workflow, a table is a CEL variable whose value is its output map, computed only when an
expression that names it is evaluated (:meth:`TableSet.bind`), so ``when:``, ``set`` and SLA
targets use tables without the machine knowing about them.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from pydantic import TypeAdapter, ValidationError

from svcflow.datamodel import field_annotation, sample_value, value_problem
from svcflow.durations import format_duration
from svcflow.errors import ExpressionError, Problem, did_you_mean
from svcflow.rules.expressions import (
    CompileProblem,
    Expression,
    Variables,
    compile_expression,
)
from svcflow.rules.validation import analyse
from svcflow.spec.models import FieldSpec
from svcflow.spec.tables import NOTE_COLUMN, InputSpec, OutputSpec, TableSpec, ValueType
from svcflow.spec.yamlsource import KeyPath, SourceMap, format_key_path

if TYPE_CHECKING:
    from svcflow.spec.models import WorkflowSpec

__all__ = [
    "Cell",
    "CompiledInput",
    "CompiledTable",
    "Decision",
    "DecisionError",
    "Interval",
    "TableExpression",
    "TableSet",
    "compile_tables",
    "show_value",
    "workflow_tables",
]

ORDERED_TYPES = frozenset({"integer", "number", "datetime", "duration"})
_RANGE = re.compile(r"^([\[(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])])$")
_BARE_RANGE = re.compile(r"^([^\s\[\](),]+)\s*\.\.\s*([^\s\[\](),]+)$")
_COMPARISON = re.compile(r"^(<=|>=|!=|<|>)\s*(.+)$")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CELL_FORMS = (
    "a cell is '-' (any value), a value, a list of values, a range such as [1..5] or "
    "'(1..5]', a comparison such as '>= 3' or '!= low', null (not set), or {expr: <CEL>}"
)


class DecisionError(ExpressionError):
    """A table could not decide for this case: a CEL input or cell failed, an input had the
    wrong type, or two rules matched under hit policy ``unique`` (where the load-time check
    cannot see, because a CEL cell decided)."""

    def __init__(self, table: str, where: str, cause: str) -> None:
        self.table, self.source, self.where, self.cause = table, f"table {table}", where, cause
        Exception.__init__(self, f"{where}: table '{table}' cannot decide: {cause}")


def show_value(value: Any) -> str:
    """A value as a person writes it in a table or an expression: ``"high"``, ``3``, ``true``,
    ``null``, ``4h``, ``2026-03-02T09:00:00Z``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    return repr(value)


# -- cells --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """Values between ``low`` and ``high`` (``None``: unbounded); a point is ``[v..v]``."""

    low: Any
    low_closed: bool
    high: Any
    high_closed: bool

    def contains(self, value: Any) -> bool:
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_closed)
        ):
            return False
        return self.high is None or not (
            value > self.high or (value == self.high and not self.high_closed)
        )

    def contains_between(self, after: Any, before: Any) -> bool:
        """Whether it holds every value strictly between two neighbouring end points (``None``:
        unbounded). End points of intervals are among those points, so it is all or nothing."""
        low_ok = self.low is None or (after is not None and self.low <= after)
        return low_ok and (self.high is None or (before is not None and self.high >= before))

    @classmethod
    def point(cls, value: Any) -> Interval:
        return cls(value, True, value, True)


EVERYTHING = Interval(None, False, None, False)


@dataclass(frozen=True, slots=True)
class Cell:
    """One rule's test of one input: a union of intervals, whether an unset value (``null``)
    matches, and possibly a CEL condition (then the intervals are "everything")."""

    text: str
    intervals: tuple[Interval, ...]
    null: bool = False
    expression: Expression | None = None

    @property
    def is_any(self) -> bool:
        return self.expression is None and self.null and self.intervals == (EVERYTHING,)

    def static_match(self, value: Any) -> bool:
        if value is None:
            return self.null
        return any(interval.contains(value) for interval in self.intervals)


ANY = Cell("-", (EVERYTHING,), null=True)


@dataclass(frozen=True, slots=True)
class _Kind:
    """How cells of one input are read: its field type and a pydantic adapter for values."""

    name: str
    field: FieldSpec
    adapter: TypeAdapter[Any]

    @property
    def ordered(self) -> bool:
        return self.field.type in ORDERED_TYPES

    def value(self, raw: Any) -> Any:
        """A cell value of this input's type; ``ValueError`` with a readable reason."""
        if isinstance(raw, date) and not isinstance(raw, datetime):
            raw = raw.isoformat()
        if self.field.type == "enum":
            values = self.field.values or []
            if raw not in values:
                raise ValueError(
                    f"{show_value(raw)} is not a value of input '{self.name}'"
                    + did_you_mean(str(raw), values, noun="value")
                )
            return raw
        try:
            return self.adapter.validate_python(raw)
        except ValidationError as error:
            reason = error.errors(include_url=False)[0]["msg"]
            raise ValueError(
                f"{show_value(raw)} is not a {self.field.type} value for input '{self.name}': "
                f"{reason}"
            ) from None


def parse_cell(raw: Any, kind: _Kind) -> Cell:
    """Read a static cell (not ``{expr: ...}``); ``ValueError`` says what is wrong and what is
    valid."""
    if raw is None:
        return Cell("null", (), null=True)
    if isinstance(raw, str) and raw.strip() == "-":
        return ANY
    if isinstance(raw, list):
        if not raw:
            raise ValueError(f"an empty list matches nothing; {_CELL_FORMS}")
        if len(raw) == 1 and isinstance(raw[0], str) and _BARE_RANGE.match(raw[0].strip()):
            return _range("[", raw[0], "]", kind, f"[{raw[0].strip()}]")
        parts = [_single(item, kind) for item in raw]
        return Cell(
            ", ".join(part.text for part in parts),
            tuple(i for part in parts for i in part.intervals),
            null=any(part.null for part in parts),
        )
    return _single(raw, kind)


def _single(raw: Any, kind: _Kind) -> Cell:
    if isinstance(raw, list | dict):
        raise ValueError(f"a list item is a single value, range or comparison; {_CELL_FORMS}")
    if raw is None:
        return Cell("null", (), null=True)
    if isinstance(raw, str):
        text = raw.strip()
        if text == "-":
            raise ValueError("'-' (any value) cannot be part of a list; write it alone")
        bracket = _RANGE.match(text)
        if bracket:
            low, high = bracket.group(2), bracket.group(3)
            return _range(bracket.group(1), f"{low}..{high}", bracket.group(4), kind, text)
        bare = _BARE_RANGE.match(text)
        if bare and kind.ordered:
            return _range("[", text, "]", kind, text)
        comparison = _COMPARISON.match(text)
        if comparison:
            operator, operand = comparison.group(1), comparison.group(2).strip()
            if operator != "!=" and not kind.ordered:
                raise ValueError(_unordered(kind, f"'{text}'"))
            value = kind.value(operand)
            intervals = {
                "<": (Interval(None, False, value, False),),
                "<=": (Interval(None, False, value, True),),
                ">": (Interval(value, False, None, False),),
                ">=": (Interval(value, True, None, False),),
                "!=": (Interval(None, False, value, False), Interval(value, False, None, False)),
            }[operator]
            return Cell(text, intervals)
        value = kind.value(text)
        return Cell(text, (Interval.point(value),))
    value = kind.value(raw)
    return Cell(show_value(raw).strip('"'), (Interval.point(value),))


def _range(opening: str, inner: str, closing: str, kind: _Kind, text: str) -> Cell:
    if not kind.ordered:
        raise ValueError(_unordered(kind, f"'{text}'"))
    low_text, _, high_text = inner.partition("..")
    low, high = kind.value(low_text.strip()), kind.value(high_text.strip())
    low_closed, high_closed = opening == "[", closing == "]"
    if low > high or (low == high and not (low_closed and high_closed)):
        raise ValueError(
            f"the range '{text}' is empty: its low end must be below its high end, e.g. [1..5]"
        )
    return Cell(text, (Interval(low, low_closed, high, high_closed),))


def _unordered(kind: _Kind, what: str) -> str:
    return (
        f"{what} needs an input of type integer, number, datetime or duration, but input "
        f"'{kind.name}' is {kind.field.type}; list the values instead, e.g. [a, b]"
    )


# -- compiled inputs and tables -----------------------------------------------------------------


class CompiledInput:
    """One input: how to read it from the case, its type, its cells, and the segment masks."""

    __slots__ = (
        "bounds",
        "cells",
        "expression",
        "field",
        "masks",
        "name",
        "null_mask",
        "nullable",
        "read_name",
        "source",
    )

    def __init__(
        self,
        name: str,
        source: str,
        field: FieldSpec,
        expression: Expression | None,
        nullable: bool,
    ) -> None:
        self.name, self.source, self.field = name, source, field
        self.expression = expression
        self.read_name = source if _IDENTIFIER.match(source) else None
        self.nullable = nullable
        self.cells: list[Cell] = []
        self.bounds: list[Any] = []
        self.masks: list[int] = []
        self.null_mask = 0

    def index(self) -> None:
        """Cut the value line at every cell end point and precompute, per segment, the rows
        whose cell holds it. Segment ``2k+1`` is the point ``bounds[k]``; segment ``2k`` lies
        strictly between ``bounds[k-1]`` and ``bounds[k]``. CEL cells hold everything here."""
        points = {
            end
            for cell in self.cells
            for interval in cell.intervals
            for end in (interval.low, interval.high)
            if end is not None
        }
        self.bounds = sorted(points)
        segments = len(self.bounds) * 2 + 1
        masks = [0] * segments
        for row, cell in enumerate(self.cells):
            bit = 1 << row
            if cell.null or cell.expression is not None:
                self.null_mask |= bit
            for interval in cell.intervals:
                first, last = self._span(interval)
                for segment in range(first, last + 1):
                    masks[segment] |= bit
        self.masks = masks

    def _span(self, interval: Interval) -> tuple[int, int]:
        """The first and last segment an interval holds (end points are among the bounds)."""
        if interval.low is None:
            first = 0
        else:
            position = bisect_left(self.bounds, interval.low)
            first = 2 * position + (1 if interval.low_closed else 2)
        if interval.high is None:
            last = len(self.bounds) * 2
        else:
            position = bisect_left(self.bounds, interval.high)
            last = 2 * position + (1 if interval.high_closed else 0)
        return first, last

    def read(self, variables: Variables) -> Any:
        if self.read_name is not None:
            return variables.get(self.read_name)
        assert self.expression is not None
        return self.expression.evaluate(variables)

    def mask(self, value: Any) -> int:
        """The rows whose static cell accepts ``value``; ``TypeError`` if it cannot be compared
        with the cells (a string where the cells are numbers)."""
        if value is None:
            return self.null_mask
        bounds = self.bounds
        position = bisect_left(bounds, value)
        if position < len(bounds) and bounds[position] == value:
            return self.masks[2 * position + 1]
        return self.masks[2 * position]


@dataclass
class _Row:
    line: int
    note: str
    outputs: dict[str, Any]
    computed: dict[str, Expression] = field(default_factory=dict)
    conditions: list[tuple[str, Expression]] = field(default_factory=list)


@dataclass(frozen=True)
class Decision:
    """What a table decided for one case, and why: the input values, every rule whose cells
    all matched (file order), the rules the hit policy chose, and the outputs."""

    table: CompiledTable
    inputs: dict[str, Any]
    matched: tuple[int, ...]
    chosen: tuple[int, ...]
    outputs: dict[str, Any]

    def explain(self) -> list[str]:
        """Lines for a person: the inputs, each matched rule with each cell's test, the result."""
        table = self.table
        lines = [
            f"table {table.name} ({table.where}), hit policy {table.policy_text}",
            *(
                f"  input {item.name} = {show_value(self.inputs[item.name])}"
                + (f"  ({item.source})" if item.source != item.name else "")
                for item in table.inputs
            ),
        ]
        if not self.matched:
            lines.append("no rule matched; the outputs are their defaults")
        for row in self.matched:
            verdict = "chosen" if row in self.chosen else _not_chosen(table.hit)
            tests = "; ".join(
                f"{item.name} = {show_value(self.inputs[item.name])} matches {item.cells[row].text}"
                for item in table.inputs
                if not item.cells[row].is_any
            )
            lines.append(
                f"rules[{row}] (line {table.rows[row].line}) {verdict}: "
                + (tests or "every input is '-'")
            )
            if table.rows[row].note:
                lines.append(f"  note: {table.rows[row].note}")
        lines.append(
            "result: " + ", ".join(f"{k} = {show_value(v)}" for k, v in self.outputs.items())
        )
        return lines


def _not_chosen(hit: str) -> str:
    return {
        "first": "also matched, not chosen (hit policy first: an earlier rule wins)",
        "priority": "also matched, not chosen (hit policy priority: a higher output wins)",
    }.get(hit, "also matched")


class _RowScope:
    """The variables a CEL cell or output reads: the table's inputs by name, then the case."""

    __slots__ = ("inputs", "variables")

    def __init__(self, inputs: Mapping[str, Any], variables: Variables) -> None:
        self.inputs, self.variables = inputs, variables

    def get(self, name: str, default: Any = None) -> Any:
        if name in self.inputs:
            return self.inputs[name]
        return self.variables.get(name, default)


class CompiledTable:
    """A table ready to decide. :meth:`evaluate` is the fast path (the output map);
    :meth:`decide` also says which rules matched, for ``svcflow decide`` and tests."""

    def __init__(
        self,
        name: str,
        spec: TableSpec,
        where: str,
        inputs: list[CompiledInput],
        outputs: dict[str, FieldSpec],
        rows: list[_Row],
    ) -> None:
        self.name, self.spec, self.where = name, spec, where
        self.hit, self.aggregate = spec.hit, spec.aggregate
        self.inputs, self.outputs, self.rows = inputs, outputs, rows
        self.warnings: list[Problem] = []
        self.all_rows = (1 << len(rows)) - 1
        self.cel_rows = 0
        for index, row in enumerate(rows):
            if row.conditions:
                self.cel_rows |= 1 << index
        self.defaults = {
            name: _default(spec.outputs[name], output) for name, output in outputs.items()
        }
        self._ranked = [
            (name, list(output.values or []))
            for name, output in outputs.items()
            if output.type == "enum"
        ]
        self._ranks = [self._rank(row.outputs) for row in rows]
        for item in inputs:
            item.index()

    @property
    def policy_text(self) -> str:
        return f"collect {self.aggregate}" if self.aggregate else self.hit

    # -- deciding -----------------------------------------------------------------------------

    def evaluate(self, variables: Variables) -> dict[str, Any]:
        """The outputs for a case: a map of output name to value (``collect``: to the list of
        values, or their aggregate). Raises :class:`DecisionError`."""
        values = [item.read(variables) for item in self.inputs]
        return self._outputs(
            self._matches(values, variables, self.hit == "first"), values, variables
        )

    def decide(self, variables: Variables) -> Decision:
        """Like :meth:`evaluate`, with the input values and the matched and chosen rules."""
        values = [item.read(variables) for item in self.inputs]
        matched = self._matches(values, variables, stop_at_first=False)
        chosen = self._chosen(matched, values, variables)
        outputs = self._outputs(
            self._matches(values, variables, self.hit == "first"), values, variables
        )
        return Decision(
            self,
            {item.name: value for item, value in zip(self.inputs, values, strict=True)},
            tuple(_bits(matched)),
            tuple(_bits(chosen)),
            outputs,
        )

    def _matches(self, values: Sequence[Any], variables: Variables, stop_at_first: bool) -> int:
        rows = self.all_rows
        try:
            for item, value in zip(self.inputs, values, strict=True):
                rows &= item.mask(value)
                if not rows:
                    return 0
        except TypeError:
            raise self._wrong_type(values) from None
        if rows & self.cel_rows:
            rows = self._check_cel(rows, values, variables, stop_at_first)
        return rows

    def _check_cel(
        self, rows: int, values: Sequence[Any], variables: Variables, stop_at_first: bool
    ) -> int:
        scope = _RowScope(
            {item.name: value for item, value in zip(self.inputs, values, strict=True)},
            variables,
        )
        kept = 0
        for index in _bits(rows):
            for _, condition in self.rows[index].conditions:
                if not condition.test(scope):
                    break
            else:
                kept |= 1 << index
                if stop_at_first:
                    break
        return kept

    def _chosen(self, rows: int, values: Sequence[Any], variables: Variables) -> int:
        if not rows or self.hit == "collect":
            return rows
        if self.hit == "priority":
            best = min(_bits(rows), key=lambda i: self._row_rank(i, values, variables))
            return 1 << best
        if self.hit == "unique" and rows & (rows - 1):
            first, second = list(_bits(rows))[:2]
            raise DecisionError(
                self.name,
                self.where,
                f"rules[{first}] (line {self.rows[first].line}) and rules[{second}] (line "
                f"{self.rows[second].line}) both match, but hit policy unique allows one; "
                "their CEL cells overlap for "
                + ", ".join(
                    f"{item.name} = {show_value(v)}"
                    for item, v in zip(self.inputs, values, strict=True)
                ),
            )
        return rows & -rows

    def _outputs(self, rows: int, values: Sequence[Any], variables: Variables) -> dict[str, Any]:
        if self.hit == "collect":
            return self._collect(rows, values, variables)
        chosen = self._chosen(rows, values, variables)
        if not chosen:
            return dict(self.defaults)
        return self._row_outputs(chosen.bit_length() - 1, values, variables)

    def _row_outputs(
        self, index: int, values: Sequence[Any], variables: Variables
    ) -> dict[str, Any]:
        row = self.rows[index]
        if not row.computed:
            return dict(row.outputs)
        scope = _RowScope(
            {item.name: value for item, value in zip(self.inputs, values, strict=True)},
            variables,
        )
        return {**row.outputs, **{name: e.evaluate(scope) for name, e in row.computed.items()}}

    def _collect(self, rows: int, values: Sequence[Any], variables: Variables) -> dict[str, Any]:
        each = [self._row_outputs(index, values, variables) for index in _bits(rows)]
        result: dict[str, Any] = {}
        for name in self.outputs:
            found = [outputs[name] for outputs in each if outputs[name] is not None]
            if self.aggregate is None:
                result[name] = found
            elif self.aggregate == "count":
                result[name] = len(found)
            elif not found:
                result[name] = None
            elif self.aggregate == "sum":
                result[name] = sum(found[1:], found[0])
            else:
                result[name] = (min if self.aggregate == "min" else max)(found)
        return result

    def _rank(self, outputs: Mapping[str, Any]) -> tuple[int, ...]:
        return tuple(
            values.index(outputs[name]) if outputs.get(name) in values else len(values)
            for name, values in self._ranked
        )

    def _row_rank(self, index: int, values: Sequence[Any], variables: Variables) -> tuple[int, ...]:
        if not self.rows[index].computed:
            return self._ranks[index]
        return self._rank(self._row_outputs(index, values, variables))

    def _wrong_type(self, values: Sequence[Any]) -> DecisionError:
        for item, value in zip(self.inputs, values, strict=True):
            try:
                item.mask(value)
            except TypeError:
                return DecisionError(
                    self.name,
                    self.where,
                    f"input '{item.name}' is {show_value(value)}, but its cells are "
                    f"{item.field.type} values",
                )
        return DecisionError(self.name, self.where, "an input could not be compared")

    # -- for probing expressions that use the table -------------------------------------------

    def sample(self) -> dict[str, Any]:
        """Typical outputs, for type-checking the expressions that read the table at load."""
        return table_sample(self.spec)


def table_sample(spec: TableSpec) -> dict[str, Any]:
    """Typical outputs of a table (also of one with mistakes in its rules, so expressions
    that read it are checked without echoes)."""
    typical = {
        name: sample_value(FieldSpec(type=output.type, values=output.values))
        for name, output in spec.outputs.items()
    }
    if spec.hit != "collect":
        return typical
    if spec.aggregate is None:
        return {name: [value] for name, value in typical.items()}
    if spec.aggregate == "count":
        return dict.fromkeys(typical, 1)
    return typical


def _default(spec: OutputSpec, output: FieldSpec) -> Any:
    if spec.default is None:
        return None
    return TypeAdapter(field_annotation(output)).validate_python(spec.default)


def _bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


# -- tables in CEL ------------------------------------------------------------------------------


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
        return TableExpression(**(kept | {"tables": used}))


# -- compiling ----------------------------------------------------------------------------------


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
            _Kind(i.name, i.field, TypeAdapter(field_annotation(i.field)))
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
            [row for row in rows if row is not None],
        )
        findings = analyse(table)
        for index, message in findings.errors:
            self.report(self.row_path(index), message)
        table.warnings = [
            self.map.problem((*self.base, "rules"), m, at_key=True) for m in findings.warnings
        ]
        return None if self.problems else table

    def row_path(self, index: int | None) -> KeyPath:
        return (*self.base, "rules", index) if index is not None else (*self.base, "rules")

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
        declared = self.scope.get(source) if _IDENTIFIER.match(source) else None
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
        kinds: list[_Kind],
        outputs: Mapping[str, FieldSpec],
    ) -> _Row | None:
        path = self.row_path(index)
        if not isinstance(row, dict):
            self.report(path, "a rule is a mapping of input cells and output values")
            return None
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
        result = _Row(self.map.position(path)[0], note if isinstance(note, str) else "", {})
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
            self.report(path, _CELL_FORMS)
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
        result: _Row,
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
            result.outputs[name] = _default(spec, output)
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
