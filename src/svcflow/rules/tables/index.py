"""A compiled table's inputs and rows, and the per-input segment index.

Each input's value line is cut at its cells' end points into segments; for each segment the set
of rows whose cell contains it is precomputed as a bit mask, so matching is one binary search
and one ``&`` per input.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field
from typing import Any

from svcflow.rules.expressions import Expression, Variables
from svcflow.rules.tables.cells import IDENTIFIER, Cell, Interval
from svcflow.spec.models import FieldSpec

__all__ = ["CompiledInput", "Row"]


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
        self.read_name = source if IDENTIFIER.match(source) else None
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
class Row:
    line: int
    note: str
    outputs: dict[str, Any]
    computed: dict[str, Expression] = field(default_factory=dict)
    conditions: list[tuple[str, Expression]] = field(default_factory=list)
