"""Decision tables as Markdown, for docs and reviews (``svcflow graph`` on a rules file).

The rendering is what the table *means* after loading (cells as written, outputs typed, the hit
policy in words), so ``docs/rules.md`` can be checked against it and never drift from the files.
Rules are numbered from 0, as in error messages and ``svcflow decide`` (``rules[3]``).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from svcflow.durations import format_duration
from svcflow.rules.tables.table import CompiledTable

__all__ = ["policy_sentence", "table_markdown", "tables_markdown"]


def policy_sentence(table: CompiledTable) -> str:
    """The hit policy in words."""
    if table.hit == "unique":
        return "**unique**: at most one rule matches a case (checked when the file loads)."
    if table.hit == "first":
        return "**first**: the first matching rule, from the top, wins."
    if table.hit == "priority":
        ranked = ", ".join(
            f"`{name}` ({' > '.join(output.values or [])})"
            for name, output in table.outputs.items()
            if output.type == "enum"
        )
        return f"**priority**: of the matching rules, the one with the highest {ranked} wins."
    if table.aggregate is None:
        return "**collect**: every matching rule counts; each output is the list of their values."
    what = {
        "sum": "the sum of",
        "min": "the smallest of",
        "max": "the largest of",
        "count": "how many rules give",
    }[table.aggregate]
    return f"**collect {table.aggregate}**: each output is {what} the matching rules' values."


def table_markdown(table: CompiledTable, level: int = 3, source: str | None = None) -> str:
    """One table as a Markdown section: heading, title, hit policy, the rules, defaults;
    ``source`` names the file it comes from."""
    spec = table.spec
    lines = [f"{'#' * level} `{table.name}`", ""]
    if spec.title or spec.description:
        title = f"**{spec.title.rstrip('.')}.** " if spec.title else ""
        lines += [(title + spec.description.strip()).strip(), ""]
    if source:
        lines += [f"From `{source}`.", ""]
    lines += [f"Hit policy {policy_sentence(table)}", ""]
    notes = any(row.note for row in table.rows)
    header = ["rule"]
    for item in table.inputs:
        source = f" = `{_escape(item.source)}`" if item.source != item.name else ""
        header.append(f"{item.name}{source}")
    header += [f"→ {name}" for name in table.outputs]
    if notes:
        header.append("note")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---:"] + ["---"] * (len(header) - 1)) + "|")
    for index, row in enumerate(table.rows):
        cells = [str(index)]
        cells += [_escape(item.cells[index].text) for item in table.inputs]
        raw = spec.rules[index]
        for name in table.outputs:
            computed = row.computed.get(name)
            if computed is not None:
                written = f"`{computed.source}`"
            else:  # as the file writes it (24h stays 24h), or the output's default
                written = _written(raw[name] if name in raw else spec.outputs[name].default)
            cells.append(_escape(written))
        if notes:
            cells.append(_escape(row.note))
        lines.append("| " + " | ".join(cells) + " |")
    defaults = [f"{name} = {_written(output.default)}" for name, output in spec.outputs.items()]
    if table.warnings:  # only a table that leaves cases uncovered can fall back to these
        lines += ["", "When no rule matches: " + ", ".join(defaults) + "."]
    return "\n".join(lines) + "\n"


def tables_markdown(
    tables: Mapping[str, CompiledTable], level: int = 3, source: str | None = None
) -> str:
    """Every table, one section each, in file order."""
    return "\n".join(table_markdown(table, level, source) for table in tables.values())


def _written(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return str(value)


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
