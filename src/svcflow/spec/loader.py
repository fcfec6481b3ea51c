"""Workflow files in, validated :class:`LoadedWorkflow` out, or *every* problem at once.

Loading runs in three passes over one file: YAML syntax (with positions), shape (the pydantic
models in :mod:`svcflow.spec.models`, with pydantic's locations mapped back to lines and
columns), then meaning (:mod:`svcflow.spec.checks`: states, triggers, fields and CEL
expressions). A later pass runs only when the earlier ones found nothing, since checking
references in a malformed file would mostly report echoes of the first mistake.
"""

from __future__ import annotations

import hashlib
import json
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from svcflow.errors import Problem, WorkflowDefinitionError, did_you_mean
from svcflow.rules.expressions import Expression
from svcflow.spec.checks import check_workflow
from svcflow.spec.models import NAME_PATTERN, WORKFLOW_ID_PATTERN, WorkflowSpec
from svcflow.spec.yamlsource import KeyPath, SourceMap, YamlDocument, parse_yaml

__all__ = [
    "LoadedWorkflow",
    "duplicate_problems",
    "load_workflow_file",
    "load_workflow_text",
    "parse_mapping",
    "validate_shape",
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


def parse_mapping(text: str, file: str, shape: str) -> YamlDocument:
    """Parse a definition file that must be one YAML mapping; ``shape`` describes it for the
    error a person sees otherwise ("a workflow file is a mapping with keys ...")."""
    document = parse_yaml(text, file)
    if document.problems:
        raise WorkflowDefinitionError(document.problems)
    if not isinstance(document.data, dict):
        found = "an empty file" if document.data is None else type(document.data).__name__
        raise WorkflowDefinitionError([Problem(file, 1, 1, "", f"{shape}; found {found}")])
    return document


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
    return LoadedWorkflow(spec, file, text, document.source_map, expressions, spec_digest(spec))


def load_workflow_file(path: str | Path) -> LoadedWorkflow:
    """Load one workflow file (UTF-8)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise WorkflowDefinitionError(
            [Problem(str(file), 1, 1, "", f"cannot read the file: {error}")]
        ) from None
    return load_workflow_text(text, str(file))


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


M = TypeVar("M", bound=BaseModel)

# -- shape validation: pydantic errors mapped to file positions ---------------------------------

_FRIENDLY_PATTERNS = {
    NAME_PATTERN: "must be a name of letters, digits and '_', not starting with a digit",
    WORKFLOW_ID_PATTERN: "must be an id of lower-case letters, digits, '-' and '_', starting "
    "with a letter",
}


def validate_shape(model: type[M], data: Any, source_map: SourceMap) -> M:
    """Validate ``data`` against ``model``; raise every problem with its file position."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            _problem_from_pydantic(model, item, source_map)
            for item in error.errors(include_url=False)
        ]
        raise WorkflowDefinitionError(_dedupe(problems)) from None


def _dedupe(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _problem_from_pydantic(
    root: type[BaseModel], item: Mapping[str, Any], source_map: SourceMap
) -> Problem:
    raw_loc = tuple(item["loc"])
    at_key = "[key]" in raw_loc
    path = _file_path(root, raw_loc)
    kind = item["type"]
    if kind == "extra_forbidden":
        name = str(path[-1])
        allowed = _allowed_keys(root, path[:-1])
        return source_map.problem(
            path,
            f"unknown key '{name}'" + did_you_mean(name, allowed, noun="valid key"),
            at_key=True,
        )
    if kind == "missing":
        parent = path[:-1]
        return source_map.problem(parent, f"missing required key '{path[-1]}'", at_key=bool(parent))
    message = item["msg"].removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        pattern = item.get("ctx", {}).get("pattern", "")
        message = _FRIENDLY_PATTERNS.get(pattern, message)
    if kind not in ("value_error", "assertion_error") or at_key:
        message = f"{message} (got {_show(item['input'])})"
    return source_map.problem(path, message, at_key=at_key)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _file_path(root: type[BaseModel], loc: tuple[Any, ...]) -> KeyPath:
    """pydantic's location, minus the labels it inserts for union members (``str``,
    ``list[constrained-str]``...), which a file's key path does not have. The model is walked
    alongside, so a data field that happens to be called ``str`` is kept."""
    path: list[str | int] = []
    current: Any = root
    for part in loc:
        if part == "[key]":
            continue
        if current is not None and _is_union(current) and isinstance(part, str):
            current = _member_for_label(current, part)
            continue
        path.append(part)
        current = _step(current, part) if current is not None else None
    return tuple(path)


def _strip_annotated(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    plain = _strip_annotated(annotation)
    if typing.get_origin(plain) not in (typing.Union, types.UnionType):
        return False
    return len([a for a in typing.get_args(plain) if a is not type(None)]) > 1


def _member_for_label(annotation: Any, label: str) -> Any:
    members = [a for a in typing.get_args(_strip_annotated(annotation)) if a is not type(None)]
    for member in members:
        plain = _strip_annotated(member)
        origin = typing.get_origin(plain)
        if (label.startswith("list[") and origin is list) or (
            label.startswith("literal[") and origin is typing.Literal
        ):
            return member
        if label in ("str", "constrained-str") and plain is str:
            return member
        if isinstance(plain, type) and label == plain.__name__:
            return member
    return members[0]


def _allowed_keys(root: type[BaseModel], path: KeyPath) -> list[str]:
    model = _model_at(root, path)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _model_at(root: Any, path: KeyPath) -> type[BaseModel] | None:
    current: Any = root
    for part in path:
        current = _step(current, part)
        if current is None:
            return None
    current = _unwrap(current, None)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(current: Any, part: str | int) -> Any:
    current = _unwrap(current, part)
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, field in current.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(current)
    args = typing.get_args(current)
    if origin is list and isinstance(part, int):
        return args[0]
    if origin is dict:
        return args[1]
    return None


def _unwrap(annotation: Any, part: str | int | None) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = _pick_member(members, part)
        else:
            return annotation


def _pick_member(members: list[Any], part: str | int | None) -> Any:
    for member in members:
        plain = _unwrap(member, part)
        if isinstance(part, int) and typing.get_origin(plain) is list:
            return member
        if not isinstance(part, int) and (
            (isinstance(plain, type) and issubclass(plain, BaseModel))
            or typing.get_origin(plain) is dict
        ):
            return member
    return members[0] if members else None
