"""Load-time analysis of a compiled decision table: overlaps, unreachable rules, coverage.

Each input's values fall into a few classes that every rule treats alike: the segments of
:meth:`CompiledInput.index` (each end point, and what lies between two), the enum values or
``true``/``false``, plus "not set" for a field that may be null; classes no rule tells apart are
merged. A rule is then a box (a set of classes per input), and the questions become exact box
arithmetic: two rules overlap when their boxes meet in every input; a rule is unreachable under
``first`` when the boxes before it cover its box; a combination is uncovered when it is left
after subtracting every rule's box from the whole space. Rules with a CEL cell cannot be
reasoned about statically: they are never blamed for an overlap nor counted as covering a later
rule, but for coverage they count as matching (so no warning is a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from svcflow.rules.tables.cells import show_value
from svcflow.rules.tables.index import CompiledInput

if TYPE_CHECKING:
    from svcflow.rules.tables.table import CompiledTable

__all__ = ["Findings", "analyse"]

_MAX_BOXES = 20_000
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)

Box = tuple[int, ...]


@dataclass
class Findings:
    """Errors by rule index and warnings about the table."""

    errors: list[tuple[int, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Class:
    example: str
    rows: int


def analyse(table: CompiledTable) -> Findings:
    """Every overlap (``unique``), unreachable rule (``first``) and the first uncovered
    combination (not for ``collect``, where matching nothing is an empty answer)."""
    findings = Findings()
    classes = [_classes(item, show_value) for item in table.inputs]
    boxes = [
        tuple(
            sum(1 << c for c, cls in enumerate(dimension) if cls.rows >> row & 1)
            for dimension in classes
        )
        for row in range(len(table.rows))
    ]
    static = [not (table.cel_rows >> row & 1) for row in range(len(table.rows))]
    if table.hit == "unique":
        _overlaps(table, classes, boxes, static, findings)
    if table.hit == "first":
        _unreachable(table, boxes, static, findings)
    if table.hit != "collect":
        _coverage(table, classes, boxes, findings)
    return findings


def _overlaps(
    table: CompiledTable,
    classes: list[list[_Class]],
    boxes: list[Box],
    static: list[bool],
    findings: Findings,
) -> None:
    for later in range(len(boxes)):
        if not static[later]:
            continue
        for earlier in range(later):
            if not static[earlier]:
                continue
            common = _intersect(boxes[earlier], boxes[later])
            if common is None:
                continue
            findings.errors.append(
                (
                    later,
                    f"rules[{later}] overlaps rules[{earlier}] (line "
                    f"{table.rows[earlier].line}): both match {_example(classes, common)}; hit "
                    "policy unique allows one matching rule per case: make their cells "
                    "exclusive, or use hit: first (the first match wins) or hit: priority",
                )
            )
            break


def _unreachable(
    table: CompiledTable, boxes: list[Box], static: list[bool], findings: Findings
) -> None:
    for later in range(1, len(boxes)):
        before = [
            earlier
            for earlier in range(later)
            if static[earlier] and _intersect(boxes[earlier], boxes[later]) is not None
        ]
        if not before:
            continue
        left: list[Box] | None = [boxes[later]]
        for earlier in before:
            if not left:
                break
            left = _subtract_all(left, boxes[earlier])
        if left == []:
            named = [f"rules[{i}] (line {table.rows[i].line})" for i in before[:3]]
            if len(before) > 3:
                named.append(f"{len(before) - 3} more")
            listing = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
            verb = "matches" if len(before) == 1 else "match"
            findings.errors.append(
                (
                    later,
                    f"rules[{later}] can never match: {listing} before it already {verb} every "
                    "case it matches, and under hit policy first the earliest match wins; remove "
                    "it or move it above them",
                )
            )


def _coverage(
    table: CompiledTable, classes: list[list[_Class]], boxes: list[Box], findings: Findings
) -> None:
    left: list[Box] | None = [tuple((1 << len(dimension)) - 1 for dimension in classes)]
    for box in boxes:
        if not left:
            break
        left = _subtract_all(left, box)
    if not left:
        return  # covered, or too many pieces to say (no claim either way)
    example = _example(classes, left[0])
    total = sum(_count(box) for box in left)
    others = (
        f" (and {total - 1} other uncovered combination{'s' if total > 2 else ''})"
        if total > 1
        else ""
    )
    defaults = ", ".join(f"{name} = {show_value(v)}" for name, v in table.defaults.items())
    tip = (
        ", or end the table with a catch-all rule that leaves every input out"
        if table.hit == "first"
        else ""
    )
    findings.warnings.append(
        f"no rule matches {example}{others}; such a case gets the "
        f"outputs' defaults ({defaults}); add a rule for it{tip}"
    )


def _classes(item: CompiledInput, show: Any) -> list[_Class]:
    """The value classes of one input, each with an example and the rows holding it."""
    found: list[_Class] = []
    seen: set[int] = set()

    def add(example: str, rows: int) -> None:
        if rows not in seen:
            seen.add(rows)
            found.append(_Class(example, rows))

    kind = item.field.type
    if kind == "enum":
        for value in item.field.values or []:
            add(f"{item.name} = {show(value)}", item.mask(value))
    elif kind == "boolean":
        for truth in (False, True):
            add(f"{item.name} = {show(truth)}", item.mask(truth))
    else:
        bounds = item.bounds
        for segment, rows in enumerate(item.masks):
            position, is_point = divmod(segment, 2)
            if is_point:
                add(f"{item.name} = {show(bounds[position])}", rows)
                continue
            after = bounds[position - 1] if position else None
            before = bounds[position] if position < len(bounds) else None
            if kind == "string":
                if after is None and before is None:
                    add(f"{item.name} = any value", rows)
                else:
                    add(f"{item.name} = any other value", rows)
                continue
            value = _between(kind, after, before)
            if value is not None:
                add(f"{item.name} = {show(value)}", rows)
    if item.nullable:
        add(f"{item.name} = null", item.null_mask)
    return found


def _between(kind: str, after: Any, before: Any) -> Any:
    """A value strictly between two end points (``None``: unbounded), or None if there is none
    (no integer lies between 3 and 4)."""
    if kind == "integer":
        if after is None:
            return 0 if before is None else int(before) - 1
        if before is None:
            return int(after) + 1
        return int(after) + 1 if before - after >= 2 else None
    if kind == "number":
        if after is None:
            return 0.0 if before is None else before - 1.0
        return after + 1.0 if before is None else (after + before) / 2
    step = _DAY if kind == "datetime" else _HOUR
    if after is None and before is None:
        return datetime(2026, 1, 5, 9, 0, tzinfo=UTC) if kind == "datetime" else _HOUR
    if after is None:
        return before - step
    if before is None:
        return after + step
    return after + (before - after) / 2


def _example(classes: list[list[_Class]], box: Box) -> str:
    return ", ".join(
        dimension[(mask & -mask).bit_length() - 1].example
        for dimension, mask in zip(classes, box, strict=True)
    )


def _count(box: Box) -> int:
    total = 1
    for mask in box:
        total *= mask.bit_count()
    return total


def _intersect(first: Box, second: Box) -> Box | None:
    common = []
    for mine, theirs in zip(first, second, strict=True):
        both = mine & theirs
        if not both:
            return None
        common.append(both)
    return tuple(common)


def _subtract(box: Box, cut: Box) -> list[Box]:
    """``box`` minus ``cut`` as disjoint boxes."""
    if _intersect(box, cut) is None:
        return [box]
    pieces: list[Box] = []
    kept = list(box)
    for dimension, (mine, theirs) in enumerate(zip(box, cut, strict=True)):
        outside = mine & ~theirs
        if outside:
            pieces.append((*kept[:dimension], outside, *box[dimension + 1 :]))
        kept[dimension] = mine & theirs
    return pieces


def _subtract_all(boxes: list[Box], cut: Box) -> list[Box] | None:
    """Every box minus ``cut``; None when the pieces grow past what is worth tracking."""
    result: list[Box] = []
    for box in boxes:
        result.extend(_subtract(box, cut))
        if len(result) > _MAX_BOXES:
            return None
    return result
