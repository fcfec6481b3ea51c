"""Rules files: decision tables shared by tools, kept next to the workflows.

A rules file is a YAML mapping with a top-level ``tables:`` key (and no ``workflow:``): the
``data`` its tables read (typed like a workflow's fields) and the tables. It loads in the same
passes as a workflow (YAML with positions, shape, meaning) and reports every problem at once;
coverage findings are warnings, returned with the file and printed by ``svcflow validate``, not
raised, since a table may leave cases to its outputs' defaults on purpose.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from svcflow.definitions.workflow import read_definition_file
from svcflow.errors import Problem, WorkflowDefinitionError
from svcflow.rules.tables.binding import TableSet
from svcflow.rules.tables.compiler import compile_tables
from svcflow.rules.tables.table import CompiledTable
from svcflow.spec.actions import Name, Strict
from svcflow.spec.datamodel import sample_value
from svcflow.spec.models import FieldSpec
from svcflow.spec.shape import parse_mapping, validate_shape
from svcflow.spec.tables import TableSpec
from svcflow.spec.yamlsource import SourceMap

__all__ = [
    "LoadedRules",
    "RulesFileSpec",
    "duplicate_table_problems",
    "is_rules_text",
    "load_rules_file",
    "load_rules_text",
    "rules_scope",
]

_TABLES_KEY = re.compile(r"^tables\s*:", re.MULTILINE)
_WORKFLOW_KEY = re.compile(r"^workflow\s*:", re.MULTILINE)
_SAMPLE_NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def _empty_mapping(value: Any) -> Any:
    return {} if value is None else value


class RulesFileSpec(Strict):
    """A whole rules file: the fields its tables read, and the tables."""

    description: str = ""
    data: Annotated[dict[Name, FieldSpec], BeforeValidator(_empty_mapping)] = Field(
        default_factory=dict, description="The values the tables' inputs read, typed."
    )
    tables: dict[Name, TableSpec] = Field(min_length=1)


@dataclass(frozen=True)
class LoadedRules:
    """A valid rules file: its spec, compiled tables and coverage warnings."""

    spec: RulesFileSpec
    file: str
    source_map: SourceMap
    tables: dict[str, CompiledTable]
    warnings: tuple[Problem, ...]


def is_rules_text(text: str) -> bool:
    """Whether a definition file is a rules file (a top-level ``tables:`` key and no
    ``workflow:`` key; a workflow may declare its own ``tables:`` too)."""
    return bool(_TABLES_KEY.search(text)) and not _WORKFLOW_KEY.search(text)


def rules_scope(data: dict[str, FieldSpec]) -> tuple[dict[str, FieldSpec], dict[str, Any]]:
    """What a rules file's table inputs may read (its ``data`` and ``now``), with samples."""
    scope = {**data, "now": FieldSpec(type="datetime", required=True)}
    samples = {name: sample_value(spec) for name, spec in data.items()} | {"now": _SAMPLE_NOW}
    return scope, samples


def load_rules_text(text: str, file: str = "<string>") -> LoadedRules:
    """Load a rules file from YAML text; every problem is raised at once."""
    document = parse_mapping(
        text, file, "a rules file is a mapping with keys description, data and tables"
    )
    spec = validate_shape(RulesFileSpec, document.data, document.source_map)
    scope, samples = rules_scope(spec.data)
    found: TableSet = compile_tables(spec.tables, scope, samples, document.source_map)
    if found.problems:
        raise WorkflowDefinitionError(found.problems)
    return LoadedRules(spec, file, document.source_map, found.tables, tuple(found.warnings))


def load_rules_file(path: str | Path) -> LoadedRules:
    """Load one rules file (UTF-8)."""
    return load_rules_text(*read_definition_file(path))


def duplicate_table_problems(files: Iterable[LoadedRules]) -> list[Problem]:
    """A problem for every table name defined in more than one rules file: ``svcflow decide``
    finds tables by name, so a name must say which table it is."""
    problems: list[Problem] = []
    seen: dict[str, str] = {}
    for rules in files:
        for name in rules.tables:
            if name in seen:
                problems.append(
                    rules.source_map.problem(
                        ("tables", name),
                        f"table '{name}' is also defined in {seen[name]}; give each shared "
                        "table its own name",
                        at_key=True,
                    )
                )
            seen.setdefault(name, rules.file)
    return problems
