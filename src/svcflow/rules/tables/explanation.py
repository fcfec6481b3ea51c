"""What a table decided and why, in lines a person reads (``svcflow decide``, tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from svcflow.rules.tables.cells import show_value
from svcflow.rules.tables.index import CompiledInput, Row

__all__ = ["DecidingTable", "Decision"]


class DecidingTable(Protocol):
    """What an explanation reads of the table that decided."""

    @property
    def name(self) -> str: ...

    @property
    def where(self) -> str: ...

    @property
    def hit(self) -> str: ...

    @property
    def inputs(self) -> list[CompiledInput]: ...

    @property
    def rows(self) -> list[Row]: ...

    @property
    def policy_text(self) -> str: ...


@dataclass(frozen=True)
class Decision:
    """What a table decided for one case, and why: the input values, every rule whose cells
    all matched (file order), the rules the hit policy chose, and the outputs."""

    table: DecidingTable
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
            verdict = "chosen" if row in self.chosen else _NOT_CHOSEN[table.hit]
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


# Only these policies leave a matching rule out: under unique a second match is an error, and
# collect chooses every match.
_NOT_CHOSEN = {
    "first": "also matched, not chosen (hit policy first: an earlier rule wins)",
    "priority": "also matched, not chosen (hit policy priority: a higher output wins)",
}
