"""Definition files' shape: one YAML mapping, validated by a pydantic model, with every problem
at its ``file:line:col``.

pydantic reports a location as a path of model fields and indexes; no library maps that back to
YAML, so :func:`validate_shape` walks the model's annotations alongside the file's source map
(aliases, unions tagged by their single key, lists and mappings) to find the node each error is
about, and names the keys that are allowed there.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from svcflow.errors import Problem, WorkflowDefinitionError, did_you_mean
from svcflow.spec.models import NAME_PATTERN, WORKFLOW_ID_PATTERN
from svcflow.spec.yamlsource import KeyPath, SourceMap, YamlDocument, parse_yaml

__all__ = ["parse_mapping", "validate_shape"]


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
    if kind.startswith(("date_", "datetime_")) and isinstance(item["input"], str | int):
        if path not in source_map.values and path[:-1] in source_map.values:
            path = path[:-1]  # a short form (``- 2026-10-01``): no ``date`` key in the file
        words = (
            "a date; write YYYY-MM-DD"
            if kind.startswith("date_")
            else ("a date and time; write YYYY-MM-DDTHH:MM:SS+00:00")
        )
        return source_map.problem(path, f"{_show(item['input'])} is not {words}")
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
