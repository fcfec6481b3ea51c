"""Pydantic models of decision tables: inputs, typed outputs, hit policy and rules.

Shape only, like :mod:`svcflow.spec.models`: a table's cells are kept as written (``Any``) and
parsed by :mod:`svcflow.rules.tables`, which knows the input types and positions in the file, so
a wrong cell is reported at its line and column with what would be valid. This module imports
nothing from ``models`` so that ``WorkflowSpec`` can hold tables without an import cycle.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from svcflow.spec.actions import Name, Strict

__all__ = [
    "AGGREGATES",
    "HIT_POLICIES",
    "NOTE_COLUMN",
    "Aggregate",
    "HitPolicy",
    "InputSpec",
    "OutputSpec",
    "TableSpec",
    "ValueType",
]

ValueType = Literal["string", "integer", "number", "boolean", "enum", "datetime", "duration"]
HitPolicy = Literal["unique", "first", "priority", "collect"]
Aggregate = Literal["sum", "min", "max", "count"]
HIT_POLICIES: tuple[HitPolicy, ...] = ("unique", "first", "priority", "collect")
AGGREGATES: tuple[Aggregate, ...] = ("sum", "min", "max", "count")
NOTE_COLUMN = "note"
"""The one row key that is neither an input nor an output: a remark shown by ``decide`` and in
rendered tables (why the rule exists, where its numbers come from)."""


class InputSpec(Strict):
    """One input column: a CEL expression over the case (by default the field of the same name).

    ``type`` (and ``values`` for an enum) say how cells are read and which values coverage
    checks; they can be left out when ``expr`` is a declared field, whose type is then used.
    ``impact: impact`` and ``vip: 'segment == "vip"'`` are short for ``{expr: ...}``.
    """

    expr: str | None = Field(default=None, description="CEL; default: the input's own name.")
    type: ValueType | None = None
    values: list[str] | None = Field(default=None, description="The values of an enum input.")
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"expr": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum input needs 'values', the list of allowed values")
        if self.values is not None and self.type != "enum":
            raise ValueError("'values' is only for enum inputs; add 'type: enum'")
        return self


class OutputSpec(Strict):
    """One typed output column. ``priority: string`` is short for ``{type: string}``.

    A rule that leaves an output out gives its ``default`` (an output without a default must be
    given by every rule). For an enum, ``values`` are in priority order, highest first: that is
    the order the ``priority`` hit policy picks by.
    """

    type: ValueType
    values: list[str] | None = Field(default=None, description="Enum values, highest first.")
    default: Any = None
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"type": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> OutputSpec:
        if self.type == "enum" and not self.values:
            raise ValueError("an enum output needs 'values', the list of allowed values")
        if self.values is not None and self.type != "enum":
            raise ValueError(f"'values' is only for enum outputs, not {self.type}")
        return self


class TableSpec(Strict):
    """A decision table: rules tried against the inputs, combined by the hit policy.

    ``hit``: ``unique`` (at most one rule may match, checked at load), ``first`` (the first
    matching rule in file order), ``priority`` (the matching rule with the highest output by
    the output's enum order) or ``collect`` (every matching rule; with ``aggregate`` the values
    are summed, or their min, max or count is taken).
    """

    title: str = ""
    description: str = ""
    hit: HitPolicy = "unique"
    aggregate: Aggregate | None = None
    inputs: dict[Name, InputSpec] = Field(min_length=1)
    outputs: dict[Name, OutputSpec] = Field(min_length=1)
    rules: list[dict[str, Any]] = Field(
        min_length=1,
        description="Rows: a cell per input (left out: any value), a value per output, an "
        "optional note.",
    )

    @model_validator(mode="after")
    def _aggregate_needs_collect(self) -> TableSpec:
        if self.aggregate is not None and self.hit != "collect":
            raise ValueError(
                f"'aggregate' combines the rules of hit policy 'collect', not '{self.hit}'; "
                "set hit: collect or remove aggregate"
            )
        return self
