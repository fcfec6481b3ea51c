"""What a CEL expression may cost: estimated at load, checked again before each evaluation.

CEL always terminates, but nested comprehensions multiply: six nested ``exists`` over ten
items are a million steps, twelve never finish in practice. The CEL runtime svcflow uses has no
cost limit of its own, so, like Kubernetes' validation rules and cel-go's cost estimator, svcflow
estimates the cost from the expression's text: every token costs one step, times the size of
each list a comprehension (``all``, ``exists``, ``exists_one``, ``map``, ``filter``) around it
iterates. A list written in the expression has its own length; any other list is assumed to
have ``CelLimits.assumed_list_size`` items at load. An expression above
``CelLimits.max_cost`` is refused at load with its position. At run time a comprehension over a
variable is costed with the variable's actual length, and an evaluation above
``CelLimits.runtime_max_cost`` is refused (``ExpressionError``) before it starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "DEFAULT_CEL_LIMITS",
    "CelLimits",
    "CostModel",
    "cel_limits",
    "cost_model",
    "current_cel_limits",
    "size_of",
]

MACROS = frozenset({"all", "exists", "exists_one", "map", "filter"})
_TOKEN = re.compile(
    r"""(?P<string>[rRbB]*(?:'''[\s\S]*?'''|\"\"\"[\s\S]*?\"\"\"|'(?:\\.|[^'\\\n])*'|"(?:\\.|[^"\\\n])*"))"""
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"|(?P<number>\d[\w.]*)"
    r"|(?P<open>[(\[{])|(?P<close>[)\]}])|(?P<comma>,)"
    r"|(?P<op>[^\s\w])"
)


@dataclass(frozen=True, slots=True)
class CelLimits:
    """The cost limits of workflow expressions (a setting: see :func:`cel_limits`).

    ``max_cost`` is the estimated steps an expression may take, checked when the workflow
    loads; ``assumed_list_size`` is how many items a list the expression does not write out
    is assumed to have then; ``runtime_max_cost`` is the steps one evaluation may take with
    the actual lengths of the lists it iterates."""

    max_cost: int = 1_000_000
    assumed_list_size: int = 100
    runtime_max_cost: int = 10_000_000


DEFAULT_CEL_LIMITS = CelLimits()
_LIMITS: ContextVar[CelLimits] = ContextVar("svcflow_cel_limits", default=DEFAULT_CEL_LIMITS)


def current_cel_limits() -> CelLimits:
    return _LIMITS.get()


@contextmanager
def cel_limits(limits: CelLimits) -> Iterator[CelLimits]:
    """Load (and evaluate) workflows under other CEL cost limits than the defaults."""
    token = _LIMITS.set(limits)
    try:
        yield limits
    finally:
        _LIMITS.reset(token)


Multiplier = int | str
"""A comprehension's list size: a number, or the name of the variable it iterates."""


@dataclass(frozen=True, slots=True)
class CostModel:
    """Steps per nesting of comprehensions: ``terms`` maps the tuple of list sizes around a
    group of tokens to how many tokens sit there. ``hottest`` is the position (0-based offset)
    of the innermost comprehension on the most expensive path, for the load-time message."""

    terms: dict[tuple[Multiplier, ...], int] = field(default_factory=dict)
    hottest: int = 0

    @property
    def variables(self) -> frozenset[str]:
        """The variables whose lengths the cost depends on."""
        return frozenset(m for key in self.terms for m in key if isinstance(m, str) and m)

    def cost(self, size: Callable[[str], int]) -> int:
        """The steps with ``size(name)`` items in each iterated variable."""
        total = 0
        for key, tokens in self.terms.items():
            product = tokens
            for multiplier in key:
                product *= multiplier if isinstance(multiplier, int) else size(multiplier)
            total += product
        return total

    def estimate(self, limits: CelLimits) -> int:
        return self.cost(lambda _: limits.assumed_list_size)

    def actual(self, values: dict[str, Any], limits: CelLimits) -> int:
        def size(name: str) -> int:
            if name == COMPUTED:
                return limits.assumed_list_size
            return size_of(values.get(name))

        return self.cost(size)


def size_of(value: Any) -> int:
    """How many items a comprehension over ``value`` iterates."""
    return len(value) if isinstance(value, list | dict | str) else 0


@dataclass(slots=True)
class _Frame:
    multiplier: Multiplier | None
    items: int = 0
    seen: bool = False


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str
    text: str
    at: int
    list_size: int | None = None


def cost_model(source: str) -> CostModel:
    """The cost model of an expression's text (see the module docstring)."""
    terms: dict[tuple[Multiplier, ...], int] = {}
    stack: list[_Frame] = [_Frame(None)]
    read: list[_Token] = []
    hottest, worst = 0, 0
    for match in _TOKEN.finditer(source):
        kind, text = match.lastgroup or "op", match.group()
        key = tuple(f.multiplier for f in stack if f.multiplier is not None)
        terms[key] = terms.get(key, 0) + 1
        list_size = None
        if kind == "open":
            multiplier = _macro_size(read) if text == "(" else None
            stack.append(_Frame(multiplier))
            if multiplier is not None and _weight((*key, multiplier)) > worst:
                hottest, worst = read[-1].at, _weight((*key, multiplier))
        elif kind == "close" and len(stack) > 1:
            frame = stack.pop()
            list_size = frame.items + frame.seen if text == "]" else None
        else:
            stack[-1].seen = True
            stack[-1].items += kind == "comma"
        read.append(_Token(kind, text, match.start(), list_size))
    return CostModel(terms, hottest)


COMPUTED = ""
"""The multiplier of a comprehension over a list the expression computes: the assumed size."""


def _macro_size(read: list[_Token]) -> Multiplier | None:
    """The size of the list a macro call iterates: ``[..].exists(``, ``name.exists(``."""
    if len(read) < 3 or read[-1].kind != "name" or read[-1].text not in MACROS:
        return None
    if (read[-2].kind, read[-2].text) != ("op", "."):
        return None
    receiver = read[-3]
    if receiver.list_size is not None:
        return max(receiver.list_size, 1)
    plain = len(read) < 4 or (read[-4].kind, read[-4].text) != ("op", ".")
    if receiver.kind == "name" and plain:
        return receiver.text
    return COMPUTED


def _weight(key: tuple[Multiplier, ...]) -> int:
    product = 1
    for multiplier in key:
        product *= multiplier if isinstance(multiplier, int) else 100
    return product
