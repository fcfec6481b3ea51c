"""Plain conditions answered in Python, without running their CEL program.

Running a compiled CEL program costs about 13,000 instructions a call, most of it the binding
setting up its environment and converting the variables (issue 16), whatever the expression;
a workflow's conditions are mostly comparisons of a field with a literal (``satisfied == true
&& coupon``, ``reason != null``). Such a condition, made only of names, ``true``, ``false``,
``null``, plain string literals, ``==``, ``!=``, ``!``, ``&&``, ``||`` and parentheses, is
answered here when every value it meets is a ``str``, a ``bool`` or ``None``: then CEL's answer
is known (values of different types are never equal; ``!``, ``&&`` and ``||`` on booleans).
Anything else (another type, a non-boolean operand, which CEL may answer or refuse) returns
None, and the caller runs the program as before: the same answer or the same error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any, Protocol

__all__ = ["plain_condition"]


class Variables(Protocol):
    """Where a condition reads its names (``expressions.Variables``, not imported: a cycle)."""

    def get(self, name: str, default: Any = None, /) -> Any: ...


Plain = Callable[[Variables], Any]
"""A condition's answer (a ``bool``), or None when CEL must be asked."""

_TOKEN = re.compile(
    r"\s*(?:(&&|\|\||==|!=|!|\(|\))|([A-Za-z_][A-Za-z0-9_]*)|\"([^\"\\\n]*)\"|'([^'\\\n]*)')"
)
_LITERALS: dict[str, object] = {"true": True, "false": False, "null": None}
_SIMPLE = (str, bool, type(None))
_UNKNOWN = object()  # a value of another type: CEL decides


class _NotPlain(Exception):
    """The text is not of the plain form."""


def plain_condition(source: str, names: Collection[str]) -> Plain | None:
    """``source``'s answer in Python when it is of the plain form (the module's docstring),
    reading only ``names``; None when it is not."""
    try:
        tokens = _tokens(source)
        node, at = _or(tokens, 0, frozenset(names))
    except _NotPlain:
        return None
    if at != len(tokens):
        return None
    return lambda variables: _answer(node(variables))


def _answer(value: object) -> bool | None:
    return value if type(value) is bool else None


def _tokens(source: str) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    at, end = 0, len(source.rstrip())
    while at < end:
        found = _TOKEN.match(source, at)
        if found is None:
            raise _NotPlain
        operator, name, double, single = found.groups()
        if operator is not None:
            tokens.append(("op", operator))
        elif name is not None:
            tokens.append(("lit", _LITERALS[name]) if name in _LITERALS else ("name", name))
        else:
            tokens.append(("lit", double if double is not None else single))
        at = found.end()
    return tokens


Node = Callable[[Variables], object]


def _or(tokens: list[tuple[str, object]], at: int, names: frozenset[str]) -> tuple[Node, int]:
    left, at = _and(tokens, at, names)
    while at < len(tokens) and tokens[at] == ("op", "||"):
        right, at = _and(tokens, at + 1, names)
        left = _either(left, right)
    return left, at


def _and(tokens: list[tuple[str, object]], at: int, names: frozenset[str]) -> tuple[Node, int]:
    left, at = _compare(tokens, at, names)
    while at < len(tokens) and tokens[at] == ("op", "&&"):
        right, at = _compare(tokens, at + 1, names)
        left = _both(left, right)
    return left, at


def _compare(tokens: list[tuple[str, object]], at: int, names: frozenset[str]) -> tuple[Node, int]:
    left, at = _unary(tokens, at, names)
    if at < len(tokens) and tokens[at] in (("op", "=="), ("op", "!=")):
        equal = tokens[at][1] == "=="
        right, at = _unary(tokens, at + 1, names)
        if at < len(tokens) and tokens[at] in (("op", "=="), ("op", "!=")):
            raise _NotPlain  # a chain of comparisons
        return _equal(left, right, equal), at
    return left, at


def _unary(tokens: list[tuple[str, object]], at: int, names: frozenset[str]) -> tuple[Node, int]:
    if at >= len(tokens):
        raise _NotPlain
    kind, value = tokens[at]
    if (kind, value) == ("op", "!"):
        operand, at = _unary(tokens, at + 1, names)
        return _not(operand), at
    if (kind, value) == ("op", "("):
        inner, at = _or(tokens, at + 1, names)
        if at >= len(tokens) or tokens[at] != ("op", ")"):
            raise _NotPlain
        return inner, at + 1
    if kind == "lit":
        return (lambda _: value), at + 1
    if kind == "name" and value in names:
        return _name(str(value)), at + 1
    raise _NotPlain


def _name(name: str) -> Node:
    def read(variables: Variables) -> object:
        value = variables.get(name)
        return value if type(value) in _SIMPLE else _UNKNOWN

    return read


def _equal(left: Node, right: Node, equal: bool) -> Node:
    def compare(variables: Variables) -> object:
        a, b = left(variables), right(variables)
        if a is _UNKNOWN or b is _UNKNOWN:
            return _UNKNOWN
        return (type(a) is type(b) and a == b) is equal

    return compare


def _not(operand: Node) -> Node:
    def negate(variables: Variables) -> object:
        value = operand(variables)
        return (not value) if type(value) is bool else _UNKNOWN

    return negate


def _both(left: Node, right: Node) -> Node:
    def both(variables: Variables) -> object:
        a, b = left(variables), right(variables)
        return (a and b) if type(a) is bool and type(b) is bool else _UNKNOWN

    return both


def _either(left: Node, right: Node) -> Node:
    def either(variables: Variables) -> object:
        a, b = left(variables), right(variables)
        return (a or b) if type(a) is bool and type(b) is bool else _UNKNOWN

    return either
