"""A compiled decision table: the fast :meth:`CompiledTable.evaluate` and the explained
:meth:`CompiledTable.decide`, with each hit policy (unique, first, priority, collect)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter

from svcflow.errors import Problem
from svcflow.rules.expressions import Variables
from svcflow.rules.tables.cells import DecisionError, show_value
from svcflow.rules.tables.explanation import Decision
from svcflow.rules.tables.index import CompiledInput, Row
from svcflow.spec.datamodel import field_annotation, sample_value
from svcflow.spec.models import FieldSpec
from svcflow.spec.tables import OutputSpec, TableSpec

__all__ = ["CompiledTable", "bits", "default_output", "table_sample"]


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
        rows: list[Row],
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
            name: default_output(spec.outputs[name], output) for name, output in outputs.items()
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
        outputs = self._outputs(matched, values, variables)
        return Decision(
            self,
            {item.name: value for item, value in zip(self.inputs, values, strict=True)},
            tuple(bits(matched)),
            tuple(bits(chosen)),
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
        for index in bits(rows):
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
            best = min(bits(rows), key=lambda i: self._row_rank(i, values, variables))
            return 1 << best
        if self.hit == "unique" and rows & (rows - 1):
            first, second = list(bits(rows))[:2]
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
        each = [self._row_outputs(index, values, variables) for index in bits(rows)]
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


def default_output(spec: OutputSpec, output: FieldSpec) -> Any:
    if spec.default is None:
        return None
    return TypeAdapter(field_annotation(output)).validate_python(spec.default)


def bits(mask: int) -> Iterator[int]:
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low
