"""Decision-table cells: what a cell may say (a value, a list, a range, a comparison, ``-``)
parsed into a union of intervals of its input's value line, and how values are shown in
messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import TypeAdapter, ValidationError

from svcflow.durations import format_duration
from svcflow.errors import ExpressionError, did_you_mean
from svcflow.rules.expressions import Expression
from svcflow.spec.models import FieldSpec

__all__ = [
    "ANY",
    "CELL_FORMS",
    "EVERYTHING",
    "IDENTIFIER",
    "ORDERED_TYPES",
    "Cell",
    "CellKind",
    "DecisionError",
    "Interval",
    "parse_cell",
    "show_value",
]

ORDERED_TYPES = frozenset({"integer", "number", "datetime", "duration"})
_RANGE = re.compile(r"^([\[(])\s*(.+?)\s*\.\.\s*(.+?)\s*([\])])$")
_BARE_RANGE = re.compile(r"^([^\s\[\](),]+)\s*\.\.\s*([^\s\[\](),]+)$")
_COMPARISON = re.compile(r"^(<=|>=|!=|<|>)\s*(.+)$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
CELL_FORMS = (
    "a cell is '-' (any value), a value, a list of values, a range such as [1..5] or "
    "'(1..5]', a comparison such as '>= 3' or '!= low', null (not set), or {expr: <CEL>}"
)


class DecisionError(ExpressionError):
    """A table could not decide for this case: a CEL input or cell failed, an input had the
    wrong type, or two rules matched under hit policy ``unique`` (where the load-time check
    cannot see, because a CEL cell decided)."""

    def __init__(self, table: str, where: str, cause: str) -> None:
        self.table, self.source, self.where, self.cause = table, f"table {table}", where, cause
        Exception.__init__(self, f"{where}: table '{table}' cannot decide: {cause}")


def show_value(value: Any) -> str:
    """A value as a person writes it in a table or an expression: ``"high"``, ``3``, ``true``,
    ``null``, ``4h``, ``2026-03-02T09:00:00Z``, ``2026-03-02`` (a date YAML read unquoted)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, timedelta):
        return format_duration(value)
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(item) for item in value) + "]"
    return repr(value)


# -- cells --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Interval:
    """Values between ``low`` and ``high`` (``None``: unbounded); a point is ``[v..v]``."""

    low: Any
    low_closed: bool
    high: Any
    high_closed: bool

    @classmethod
    def point(cls, value: Any) -> Interval:
        return cls(value, True, value, True)


EVERYTHING = Interval(None, False, None, False)


@dataclass(frozen=True, slots=True)
class Cell:
    """One rule's test of one input: a union of intervals, whether an unset value (``null``)
    matches, and possibly a CEL condition (then the intervals are "everything")."""

    text: str
    intervals: tuple[Interval, ...]
    null: bool = False
    expression: Expression | None = None

    @property
    def is_any(self) -> bool:
        return self.expression is None and self.null and self.intervals == (EVERYTHING,)


ANY = Cell("-", (EVERYTHING,), null=True)


@dataclass(frozen=True, slots=True)
class CellKind:
    """How cells of one input are read: its field type and a pydantic adapter for values."""

    name: str
    field: FieldSpec
    adapter: TypeAdapter[Any]

    @property
    def ordered(self) -> bool:
        return self.field.type in ORDERED_TYPES

    def value(self, raw: Any) -> Any:
        """A cell value of this input's type; ``ValueError`` with a readable reason."""
        if isinstance(raw, date) and not isinstance(raw, datetime):
            raw = raw.isoformat()
        if self.field.type == "enum":
            values = self.field.values or []
            if raw not in values:
                raise ValueError(
                    f"{show_value(raw)} is not a value of input '{self.name}'"
                    + did_you_mean(str(raw), values, noun="value")
                )
            return raw
        try:
            return self.adapter.validate_python(raw)
        except ValidationError as error:
            reason = error.errors(include_url=False)[0]["msg"]
            raise ValueError(
                f"{show_value(raw)} is not a {self.field.type} value for input '{self.name}': "
                f"{reason}"
            ) from None


def parse_cell(raw: Any, kind: CellKind) -> Cell:
    """Read a static cell (not ``{expr: ...}``); ``ValueError`` says what is wrong and what is
    valid."""
    if raw is None:
        return Cell("null", (), null=True)
    if isinstance(raw, str) and raw.strip() == "-":
        return ANY
    if isinstance(raw, list):
        if not raw:
            raise ValueError(f"an empty list matches nothing; {CELL_FORMS}")
        if len(raw) == 1 and isinstance(raw[0], str) and _BARE_RANGE.match(raw[0].strip()):
            return _range("[", raw[0], "]", kind, f"[{raw[0].strip()}]")
        parts = [_single(item, kind) for item in raw]
        return Cell(
            ", ".join(part.text for part in parts),
            tuple(i for part in parts for i in part.intervals),
            null=any(part.null for part in parts),
        )
    return _single(raw, kind)


def _single(raw: Any, kind: CellKind) -> Cell:
    if isinstance(raw, list | dict):
        raise ValueError(f"a list item is a single value, range or comparison; {CELL_FORMS}")
    if raw is None:
        return Cell("null", (), null=True)
    if isinstance(raw, str):
        text = raw.strip()
        if text == "-":
            raise ValueError("'-' (any value) cannot be part of a list; write it alone")
        bracket = _RANGE.match(text)
        if bracket:
            low, high = bracket.group(2), bracket.group(3)
            return _range(bracket.group(1), f"{low}..{high}", bracket.group(4), kind, text)
        bare = _BARE_RANGE.match(text)
        if bare and kind.ordered:
            return _range("[", text, "]", kind, text)
        comparison = _COMPARISON.match(text)
        if comparison:
            operator, operand = comparison.group(1), comparison.group(2).strip()
            if operator != "!=" and not kind.ordered:
                raise ValueError(_unordered(kind, f"'{text}'"))
            value = kind.value(operand)
            intervals = {
                "<": (Interval(None, False, value, False),),
                "<=": (Interval(None, False, value, True),),
                ">": (Interval(value, False, None, False),),
                ">=": (Interval(value, True, None, False),),
                "!=": (Interval(None, False, value, False), Interval(value, False, None, False)),
            }[operator]
            return Cell(text, intervals)
        value = kind.value(text)
        return Cell(text, (Interval.point(value),))
    value = kind.value(raw)
    return Cell(show_value(raw), (Interval.point(value),))


def _range(opening: str, inner: str, closing: str, kind: CellKind, text: str) -> Cell:
    if not kind.ordered:
        raise ValueError(_unordered(kind, f"'{text}'"))
    low_text, _, high_text = inner.partition("..")
    low, high = kind.value(low_text.strip()), kind.value(high_text.strip())
    low_closed, high_closed = opening == "[", closing == "]"
    if low > high or (low == high and not (low_closed and high_closed)):
        raise ValueError(
            f"the range '{text}' is empty: its low end must be below its high end, e.g. [1..5]"
        )
    return Cell(text, (Interval(low, low_closed, high, high_closed),))


def _unordered(kind: CellKind, what: str) -> str:
    return (
        f"{what} needs an input of type integer, number, datetime or duration, but input "
        f"'{kind.name}' is {kind.field.type}; list the values instead, e.g. [a, b]"
    )


# -- compiled inputs and tables -----------------------------------------------------------------
