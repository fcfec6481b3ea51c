"""Decision tables compiled for microsecond decisions, checked at load with file positions.

A table has typed inputs (CEL expressions over the case, compiled once), typed outputs and rows
of cell tests. Deciding evaluates each input once, then finds the matching rows without looping
over them: every literal, list, range or comparison cell is a union of intervals, so each input's
value line is cut at the cells' end points into segments, and for each segment the set of rows
whose cell contains it is precomputed as a bit mask. A decision is one binary search and one
``&`` per input; only rows that also have a CEL cell evaluate it. A 200-row table decides in a
few microseconds (``benches/bench_tables.py``).

The same segments make the load-time checks exact (:mod:`svcflow.rules.tables.validation`):
overlapping rules under ``unique``, rules ``first`` can never reach, and input combinations no
rule covers.

In a workflow, a table is a CEL variable whose value is its output map, computed only when an
expression that names it is evaluated (:meth:`TableSet.bind`), so ``when:``, ``set`` and SLA
targets use tables without the machine knowing about them.
"""

from __future__ import annotations

from svcflow.rules.tables.binding import TableExpression, TableSet
from svcflow.rules.tables.cells import Cell, DecisionError, Interval, show_value
from svcflow.rules.tables.compiler import compile_tables, workflow_tables
from svcflow.rules.tables.explanation import Decision
from svcflow.rules.tables.index import CompiledInput
from svcflow.rules.tables.table import CompiledTable

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
