"""What the ``svcflow`` command does with tables, as functions that return text (``cli.py`` is
the only module that prints): find a table by name, read ``--input name=value`` pairs with the
declared types, explain a decision, render Markdown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from svcflow.definitions.rulesfile import is_rules_text, load_rules_text
from svcflow.definitions.workflow import LoadedWorkflow, load_workflow_text, workflow_files
from svcflow.errors import Problem, SvcflowError, WorkflowDefinitionError, did_you_mean
from svcflow.rules.render import table_markdown, tables_markdown
from svcflow.rules.tables.compiler import workflow_tables
from svcflow.rules.tables.explanation import Decision
from svcflow.rules.tables.table import CompiledTable
from svcflow.spec.datamodel import field_annotation
from svcflow.spec.models import FieldSpec
from svcflow.spec.yamlsource import parse_yaml

__all__ = [
    "FoundTable",
    "UnknownTable",
    "decide_from_pairs",
    "find_table",
    "markdown_for",
    "table_warnings",
]


class UnknownTable(SvcflowError):
    """No rules file or workflow under the searched paths defines a table of this name (or
    more than one does)."""


@dataclass(frozen=True)
class FoundTable:
    """A table and the fields its inputs read (a rules file's ``data`` or a workflow's)."""

    table: CompiledTable
    file: str
    fields: dict[str, FieldSpec]


def table_warnings(loaded: LoadedWorkflow) -> list[Problem]:
    """The coverage warnings of a workflow's own tables (loading keeps only errors)."""
    if not loaded.spec.tables:
        return []
    return workflow_tables(loaded.spec, loaded.source_map).warnings


def _tables_in(file: Path) -> tuple[dict[str, CompiledTable], dict[str, FieldSpec]]:
    text = file.read_text(encoding="utf-8")
    if is_rules_text(text):
        rules = load_rules_text(text, str(file))
        return rules.tables, dict(rules.spec.data)
    if "tables:" not in text:
        return {}, {}
    loaded = load_workflow_text(text, str(file))
    tables = workflow_tables(loaded.spec, loaded.source_map).tables
    states = FieldSpec(type="enum", values=list(loaded.spec.states), required=True)
    return tables, {**loaded.spec.data, "state": states}


def find_table(name: str, paths: Iterable[str | Path]) -> FoundTable:
    """The table called ``name`` in the rules files and workflows under ``paths``."""
    found: list[FoundTable] = []
    known: set[str] = set()
    problems: list[Problem] = []
    for file in workflow_files(paths):
        try:
            tables, fields = _tables_in(file)
        except WorkflowDefinitionError as error:
            problems.extend(error.problems)
            continue
        known.update(tables)
        if name in tables:
            found.append(FoundTable(tables[name], str(file), fields))
    if len(found) == 1:
        return found[0]
    if found:
        raise UnknownTable(
            f"table '{name}' is defined in {', '.join(f.file for f in found)}; name the file "
            "with --rules"
        )
    if problems:
        raise WorkflowDefinitionError(problems)
    raise UnknownTable(f"no table '{name}'" + did_you_mean(name, known, noun="table"))


def read_names(table: CompiledTable) -> list[str]:
    """The names a table reads: its inputs' expressions, and its CEL cells and outputs (which
    may also name the table's own inputs)."""
    names = {name for item in table.inputs if item.expression for name in item.expression.names}
    own = {item.name for item in table.inputs}
    for row in table.rows:
        for _, condition in row.conditions:
            names.update(set(condition.names) - own)
        for computed in row.computed.values():
            names.update(set(computed.names) - own)
    return sorted(names)


def decide_from_pairs(found: FoundTable, pairs: Sequence[str]) -> Decision:
    """Decide on ``name=value`` pairs: each value is read as YAML (``3``, ``true``, ``high``,
    ``2026-03-02T09:00:00Z``) and validated against the field's type; fields not given take
    their default (or null), and ``now`` is the current time."""
    fields = {**found.fields, "now": FieldSpec(type="datetime", required=True)}
    reads = read_names(found.table)
    variables: dict[str, Any] = {
        name: spec.default for name, spec in fields.items() if spec.default is not None
    }
    variables["now"] = datetime.now(UTC)
    problems: list[str] = []
    for pair in pairs:
        name, equals, text = pair.partition("=")
        name = name.strip()
        if not equals:
            problems.append(f"'{pair}' is not name=value")
            continue
        if name not in fields:
            problems.append(f"unknown input '{name}'" + did_you_mean(name, reads, noun="field"))
            continue
        document = parse_yaml(text, "--input")
        raw = text if document.problems else document.data
        try:
            variables[name] = TypeAdapter(field_annotation(fields[name])).validate_python(raw)
        except ValidationError as error:
            reason = error.errors(include_url=False)[0]["msg"]
            problems.append(f"{name}={text}: {reason}")
    if problems:
        raise UnknownTable("; ".join(problems))
    return found.table.decide(variables)


def markdown_for(file: str | Path, table: str | None) -> str | None:
    """Markdown of a rules file's tables (or of one table of a workflow, with ``table``); None
    when the file is a workflow and no table was asked for (its diagram is Mermaid)."""
    path = Path(file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WorkflowDefinitionError(
            [Problem(str(file), 1, 1, "", f"cannot read the file: {error}")]
        ) from None
    if table is None and not is_rules_text(text):
        return None
    tables, _ = _tables_in(path)
    if table is None:
        return tables_markdown(tables, source=path.as_posix())
    if table not in tables:
        raise UnknownTable(
            f"{file} has no table '{table}'" + did_you_mean(table, tables, noun="table")
        )
    return table_markdown(tables[table], source=path.as_posix())
