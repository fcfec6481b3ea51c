"""The commonest CEL expressions worked out in Python, with CEL's answer, when it is certain.

Most of a workflow's expressions are a name, a table's output, a field compared with ``null``,
``true``, ``false`` or a string, and ``&&`` of those: ``queues.queue``, ``exception_reason !=
null``, ``resolution != null && resolution != ""``, ``satisfied == true && coupon``. Each call
of the ``cel`` package costs about 18,000 instructions whatever the expression (the binding
sets up its environment and converts the variables), several times the Python below (issue 16).

:func:`plain_form` reads such an expression once, at compile; its evaluator answers only where
the values' types make CEL's answer certain (its equality across types is ``false``, ``&&``
is ``false`` as soon as one side is, whatever the other), and otherwise says
:data:`UNSURE`, and the expression runs through CEL as before: the same values, the same
errors. ``tests/test_plain_cel.py`` checks each answer against CEL's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from datetime import UTC, datetime
from typing import Any, Final

__all__ = ["UNSURE", "Plain", "plain_form"]

UNSURE: Final = object()
"""What a plain form answers when only CEL can tell (an error, or a value it converts)."""

Plain = Callable[[Mapping[str, Any]], Any]
"""A plain form: the expression's value from its variables (``names`` to values), or UNSURE."""

_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TERM = re.compile(
    rf"\s*({_NAME})(?:\s*\.\s*({_NAME}))?"
    r"""(?:\s*(==|!=)\s*(null|true|false|"[^"\\\n]*"|'[^'\\\n]*'))?\s*"""
)
_RESERVED = frozenset(
    [
        "true",
        "false",
        "null",
        "in",
        "as",
        "break",
        "const",
        "continue",
        "else",
        "for",
        "function",
        "if",
        "import",
        "let",
        "loop",
        "package",
        "namespace",
        "return",
        "var",
        "void",
        "while",
    ]
)
_LITERALS: Mapping[str, Any] = {"null": None, "true": True, "false": False}
_COMPARED = frozenset({type(None), str, bool, int, float, list, dict})
"""Types whose values CEL compares with ``null``, a boolean or a string without an error."""
_RETURNED = frozenset({type(None), str, bool, float})
"""Types whose values CEL gives back unchanged (an ``int`` too, within 64 bits; an aware UTC
``datetime``, as an equal one)."""
_INT64 = range(-(2**63), 2**63)

_Term = tuple[str, str | None, str | None, Any]


def plain_form(source: str, names: Collection[str]) -> Plain | None:
    """A plain form of ``source`` (a CEL expression reading ``names``), or None when it is not
    of the shapes this module knows."""
    terms: list[_Term] = []
    for part in source.split("&&"):
        found = _TERM.fullmatch(part)
        if found is None:
            return None
        name, field, operator, literal = found.groups()
        if name in _RESERVED or name not in names or field in _RESERVED:
            return None
        value = None if literal is None else _LITERALS.get(literal, literal[1:-1])
        terms.append((name, field, operator, value))
    if len(terms) == 1:
        return _single(terms[0])
    return lambda variables: _conjunction(terms, variables)


def _single(term: _Term) -> Plain:
    if term[2] is None:
        return lambda variables: _returned(_read(term, variables))
    return lambda variables: _compared(term, _read(term, variables))


def _read(term: _Term, variables: Mapping[str, Any]) -> Any:
    """The term's name or member, or UNSURE (not a ``dict`` holding the member)."""
    value = variables[term[0]]
    if term[1] is None:
        return value
    if type(value) is not dict or term[1] not in value:
        return UNSURE  # (CEL's error, or a message or a mapping it reads its own way)
    return value[term[1]]


def _returned(value: Any) -> Any:
    kind = type(value)
    if kind in _RETURNED or (kind is int and value in _INT64):
        return value
    if kind is datetime and value.tzinfo is UTC:
        return value
    return UNSURE


def _compared(term: _Term, value: Any) -> Any:
    """``value == literal`` or ``!=``, as CEL has it (values of other types are not equal)."""
    if value is UNSURE or type(value) not in _COMPARED:
        return UNSURE
    literal = term[3]
    equal = value is literal if literal is None or type(literal) is bool else value == literal
    return equal if term[2] == "==" else not equal


def _conjunction(terms: list[_Term], variables: Mapping[str, Any]) -> Any:
    """``a && b && ...``: false once a term is false; true when every term is true; else
    UNSURE (a term CEL would refuse: ``&&`` of a non-boolean is an error unless another side
    is false, which CEL finds in whatever order)."""
    unsure = False
    for term in terms:
        value = _read(term, variables)
        if term[2] is not None:
            value = _compared(term, value)
        if value is False:
            return False
        if value is not True:
            unsure = True
    return UNSURE if unsure else True
