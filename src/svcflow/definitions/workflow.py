"""Workflow files in, validated :class:`LoadedWorkflow` out, or *every* problem at once.

Loading runs in three passes over one file: YAML syntax (with positions), shape (the pydantic
models in :mod:`svcflow.spec.models`, with pydantic's locations mapped back to lines and
columns by :mod:`svcflow.spec.shape`), then meaning (:mod:`svcflow.definitions.checks`:
states, triggers, fields and CEL expressions). A later pass runs only when the earlier ones
found nothing, since checking references in a malformed file would mostly report echoes of the
first mistake.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from svcflow.definitions.checks import check_workflow
from svcflow.errors import Problem, WorkflowDefinitionError
from svcflow.rules.expressions import Expression
from svcflow.spec.models import WorkflowSpec
from svcflow.spec.shape import parse_mapping, validate_shape
from svcflow.spec.yamlsource import KeyPath, SourceMap

__all__ = [
    "LoadedWorkflow",
    "duplicate_problems",
    "load_workflow_file",
    "load_workflow_text",
    "read_definition_file",
    "spec_digest",
    "workflow_files",
]


@dataclass(frozen=True)
class LoadedWorkflow:
    """A valid workflow: its spec, compiled expressions (by key path), origin and digest.

    ``digest`` is a hash of the *meaning* of the file (the validated spec), so reformatting or
    editing comments does not count as a change of content.
    """

    spec: WorkflowSpec
    file: str
    text: str
    source_map: SourceMap
    expressions: Mapping[KeyPath, Expression]
    digest: str

    @property
    def key(self) -> tuple[str, int]:
        return (self.spec.workflow, self.spec.version)


def spec_digest(spec: WorkflowSpec) -> str:
    canonical = json.dumps(
        spec.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def load_workflow_text(text: str, file: str = "<string>") -> LoadedWorkflow:
    """Load a workflow from YAML text; ``file`` is the name used in error positions."""
    document = parse_mapping(
        text,
        file,
        "a workflow file is a mapping with keys workflow, version, title, data, states and "
        "transitions",
    )
    spec = validate_shape(WorkflowSpec, document.data, document.source_map)
    expressions, problems = check_workflow(spec, document.source_map)
    if problems:
        raise WorkflowDefinitionError(problems)
    return LoadedWorkflow(
        spec=spec,
        file=file,
        text=text,
        source_map=document.source_map,
        expressions=expressions,
        digest=spec_digest(spec),
    )


def read_definition_file(path: str | Path) -> tuple[str, str]:
    """A definition file's UTF-8 text and its name for positions; one that cannot be read is
    a ``WorkflowDefinitionError`` at ``file:1:1`` saying why."""
    file = Path(path)
    try:
        return file.read_text(encoding="utf-8"), str(file)
    except (OSError, UnicodeDecodeError) as error:
        raise WorkflowDefinitionError(
            [Problem(str(file), 1, 1, "", f"cannot read the file: {error}")]
        ) from None


def load_workflow_file(path: str | Path) -> LoadedWorkflow:
    """Load one workflow file (UTF-8)."""
    return load_workflow_text(*read_definition_file(path))


def workflow_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and directories (recursively) into the ``.yaml``/``.yml`` files they hold."""
    found: list[Path] = []
    for entry in map(Path, paths):
        if entry.is_dir():
            found.extend(sorted(p for p in entry.rglob("*") if p.suffix in (".yaml", ".yml")))
        else:
            found.append(entry)
    return found


def duplicate_problems(workflows: Iterable[LoadedWorkflow]) -> list[Problem]:
    """A problem for every workflow id and version defined in more than one file."""
    problems: list[Problem] = []
    seen: dict[tuple[str, int], LoadedWorkflow] = {}
    for workflow in workflows:
        if workflow.key in seen:
            first = seen[workflow.key]
            line, column = workflow.source_map.position(("workflow",))
            problems.append(
                Problem(
                    workflow.file,
                    line,
                    column,
                    "workflow",
                    f"workflow '{workflow.spec.workflow}' version {workflow.spec.version} is "
                    f"also defined in {first.file}; give each file its own id or version",
                )
            )
        seen[workflow.key] = workflow
    return problems
