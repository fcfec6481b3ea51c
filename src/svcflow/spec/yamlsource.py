"""Safe YAML loading that remembers where every key and value came from.

PyYAML's ``safe_load`` forgets positions, and YAML 1.1 turns ``on``/``off``/``yes``/``no`` into
booleans (so a trigger named ``on`` would silently become ``True``). This module composes the
node tree with a safe loader whose only booleans are ``true``/``false``, builds plain Python
values from it, and records the 1-based line and column of each value and each mapping key by its
key path. Anything that is not plain data (a ``!!python/...`` tag, duplicate keys, a syntax
error) becomes a :class:`~svcflow.errors.Problem`, never an exception of PyYAML's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import yaml

from svcflow.errors import Problem
from svcflow.spec.yamlwords import caret, plain_yaml_message

__all__ = [
    "DEFAULT_DEFINITION_LIMITS",
    "DefinitionLimits",
    "KeyPath",
    "SourceMap",
    "YamlDocument",
    "definition_limits",
    "format_key_path",
    "parse_yaml",
]

KeyPath = tuple[str | int, ...]

_BOOL_TAG = "tag:yaml.org,2002:bool"
_MAX_NODES = 200_000
_MAX_DEPTH = 64
_PLAIN_DATA = "only plain data is allowed (strings, numbers, true/false, null, lists and mappings)"
_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


@dataclass(frozen=True, slots=True)
class DefinitionLimits:
    """How big a definition file (workflow, calendar, rules) may be, checked before and while
    it is parsed, so a huge or hostile file is refused in milliseconds rather than after
    minutes and gigabytes: ``max_file_bytes`` of UTF-8 text, ``max_nodes`` YAML nodes (keys,
    values, list items) as written. (Aliases are bounded separately: a document may expand to
    at most 200,000 values.) Set with :func:`definition_limits`."""

    max_file_bytes: int = 1_048_576
    max_nodes: int = 20_000


DEFAULT_DEFINITION_LIMITS = DefinitionLimits()
_LIMITS: ContextVar[DefinitionLimits] = ContextVar(
    "svcflow_definition_limits", default=DEFAULT_DEFINITION_LIMITS
)


@contextmanager
def definition_limits(limits: DefinitionLimits) -> Iterator[DefinitionLimits]:
    """Load definition files under other size limits than the defaults."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


class _TooManyNodes(Exception):
    def __init__(self, mark: Any, limit: int) -> None:
        super().__init__(limit)
        self.mark, self.limit = mark, limit


class _StrictBoolLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader where only true/false (any case) are booleans."""


_StrictBoolLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_StrictBoolLoader.add_implicit_resolver(
    _BOOL_TAG, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def format_key_path(path: KeyPath) -> str:
    """``("states", "new", "on_enter", 0)`` -> ``"states.new.on_enter[0]"``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


@dataclass
class SourceMap:
    """Positions of values and mapping keys, by key path; 1-based (line, column)."""

    file: str
    lines: list[str]
    values: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    keys: dict[KeyPath, tuple[int, int]] = field(default_factory=dict)
    styles: dict[KeyPath, str | None] = field(default_factory=dict)

    def position(self, path: KeyPath, *, prefer_key: bool = False) -> tuple[int, int]:
        """The position of ``path``, or of its nearest known ancestor."""
        probe = tuple(path)
        while True:
            table = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            for positions in table:
                if probe in positions:
                    return positions[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]

    def problem(self, path: KeyPath, message: str, *, at_key: bool = False) -> Problem:
        line, column = self.position(path, prefer_key=at_key)
        return Problem(self.file, line, column, format_key_path(path), message)

    def expression_position(
        self, path: KeyPath, line_in_expr: int, col_in_expr: int
    ) -> tuple[int, int]:
        """Map a (1-based) position inside a scalar's text to a position in the file.

        Exact for single-line plain or quoted scalars and for literal blocks (``|``); for folded
        or multi-line flow scalars the text was reflowed by YAML, so the scalar's own start is
        the honest answer.
        """
        start = self.position(path)
        line, column = start
        style = self.styles.get(path)
        if style == "|":
            first = self.lines[line] if line < len(self.lines) else ""
            indent = len(first) - len(first.lstrip(" "))
            candidate = (line + line_in_expr, indent + col_in_expr)
        elif style in (None, "'", '"') and line_in_expr == 1:
            candidate = (line, column + (1 if style else 0) + col_in_expr - 1)
        else:
            return start
        at_line, at_column = candidate
        if at_line > len(self.lines) or at_column > len(self.lines[at_line - 1]) + 1:
            return start
        return candidate


@dataclass
class YamlDocument:
    """The result of :func:`parse_yaml`: plain data, positions, and syntax-level problems."""

    data: Any
    source_map: SourceMap
    problems: list[Problem]


def _mark(node: yaml.Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    def __init__(self, loader: _StrictBoolLoader, source_map: SourceMap) -> None:
        self.loader = loader
        self.map = source_map
        self.problems: list[Problem] = []
        self.active: set[int] = set()
        self.budget = _MAX_NODES

    def report(self, node: yaml.Node, path: KeyPath, message: str) -> None:
        line, column = _mark(node)
        self.problems.append(Problem(self.map.file, line, column, format_key_path(path), message))

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.map.values[path] = _mark(node)
        self.budget -= 1
        if id(node) in self.active:
            self.report(
                node, path, "an alias refers to a node that contains it (a recursive structure)"
            )
            return None
        if self.budget < 0:
            if self.budget == -1:
                self.report(
                    node,
                    path,
                    f"the document expands to more than {_MAX_NODES} "
                    "values; are aliases multiplying it?",
                )
            return None
        if isinstance(node, yaml.CollectionNode):
            return self._collection(node, path)
        self.map.styles[path] = node.style
        try:
            return self.loader.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, LookupError, AttributeError, TypeError) as error:
            self.report(node, path, _unreadable(node, error))
            return None

    def _collection(self, node: yaml.CollectionNode, path: KeyPath) -> Any:
        if len(path) > _MAX_DEPTH:
            self.report(node, path[:3], f"nested more than {_MAX_DEPTH} levels deep")
            return None
        if node.tag not in _PLAIN_COLLECTION_TAGS:
            self.report(node, path, f"the tag {node.tag!r} is not allowed; {_PLAIN_DATA}")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                return self._mapping(node, path)
            return [self.build(item, (*path, index)) for index, item in enumerate(node.value)]
        finally:
            self.active.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.report(
                    key_node, path, "merge keys ('<<') are not supported; write the keys out"
                )
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self.report(
                    key_node, path, "a mapping key must be a plain name, not a list or mapping"
                )
                continue
            key = str(key_node.value)
            child = (*path, key)
            if key in result:
                first_line = self.map.keys[child][0]
                self.report(
                    key_node, child, f"duplicate key '{key}' (first defined at line {first_line})"
                )
                continue
            self.map.keys[child] = _mark(key_node)
            result[key] = self.build(value_node, child)
        return result


class _CountingLoader(_StrictBoolLoader):
    """Counts the nodes it composes and stops at ``DefinitionLimits.max_nodes``."""

    def __init__(self, text: str, limit: int) -> None:
        super().__init__(text)
        self.remaining = limit
        self.limit = limit

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.remaining -= 1
        if self.remaining < 0:
            raise _TooManyNodes(self.peek_event().start_mark, self.limit)
        return super().compose_node(parent, index)


def parse_yaml(text: str, file: str) -> YamlDocument:
    """Parse one YAML document safely; every failure becomes a problem, never an exception."""
    limits = _LIMITS.get()
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limits.max_file_bytes:
        message = (
            f"the file is {size:,} bytes, above the limit of {limits.max_file_bytes:,} "
            "(DefinitionLimits.max_file_bytes); split it or raise the limit"
        )
        problem = Problem(file, 1, 1, "", message)
        return YamlDocument(None, SourceMap(file=file, lines=[]), [problem])
    source_map = SourceMap(file=file, lines=text.splitlines())

    def failed(line: int, column: int, message: str) -> YamlDocument:
        return YamlDocument(None, source_map, [Problem(file, line, column, "", message)])

    loader: _StrictBoolLoader | None = None
    try:
        loader = _CountingLoader(text, limits.max_nodes)
        root = loader.get_single_node()
        if root is None:
            return YamlDocument(None, source_map, [])
        builder = _Builder(loader, source_map)
        data = builder.build(root, ())
        return YamlDocument(data, source_map, builder.problems)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = plain_yaml_message(error) + caret(source_map.lines, line, column)
        return failed(line, column, f"YAML syntax error: {message}")
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        return failed(line, column, f"the character {error.character!r} is not allowed in YAML")
    except yaml.YAMLError as error:
        return failed(1, 1, f"YAML error: {error}")
    except RecursionError:
        return failed(1, 1, "the document is nested too deeply to be a workflow")
    except _TooManyNodes as error:
        return failed(
            error.mark.line + 1,
            error.mark.column + 1,
            f"the document has more than {error.limit:,} keys, values and items "
            "(DefinitionLimits.max_nodes); split it or raise the limit",
        )
    finally:
        if loader is not None:
            loader.dispose()


def _unreadable(node: yaml.Node, error: Exception) -> str:
    """Why a scalar could not be read: a date that is not one in the words a process owner
    uses, anything else with the value, its type and a reminder of what YAML is allowed."""
    if node.tag == "tag:yaml.org,2002:timestamp":
        if re.fullmatch(r"\d{4}-\d\d?-\d\d?", str(node.value)):
            return f"{node.value!r} is not a date; write YYYY-MM-DD"
        return f"{node.value!r} is not a date and time; write YYYY-MM-DDTHH:MM:SS+00:00"
    reason = getattr(error, "problem", None) or (
        f"cannot read {node.value!r} as {node.tag.rsplit(':', 1)[-1]} ({error})"
    )
    return f"{reason}; {_PLAIN_DATA}"
