"""The commonest expressions worked out in Python (svcflow.rules.plain) give CEL's very answer,
and leave to CEL every case where only it can tell (its errors stay its errors)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from svcflow import ExpressionError
from svcflow.rules.expressions import Expression, compile_expression
from svcflow.rules.plain import UNSURE, plain_form

NAMES = ("x", "y", "q")
PLAIN = [
    "x",
    "q.queue",
    "x != null",
    "x == null",
    'x != ""',
    'x == "general"',
    "x == 'general'",
    "x == true",
    "x == false",
    "x != true",
    "q.queue == null",
    'q.queue != "general"',
    'x != null && x != ""',
    "x == true && y",
    "x && y",
    "y && x == false",
    "q.queue && y == false",
    "x && y == false && q.queue",
    'x == true && y && q.queue == "general"',
]
NOT_PLAIN = [
    "x + 1",
    "x || y",
    "!x",
    "(x)",
    "x == 1",
    "size(x) > 1",
    'x == "a\\"b"',
    "x.y.z",
    "null",
    "x == null // why",
    "z != null",
    "x.in",
    "x && false",
]
VALUES: list[Any] = [
    None,
    "",
    "general",
    "other",
    0,
    1,
    2**63 - 1,
    2**63,
    -(2**63),
    1.5,
    0.0,
    float("nan"),
    True,
    False,
    [],
    ["general"],
    {},
    {"queue": "general"},
    {"queue": None},
    {"queue": 1},
    {"other": "general"},
    datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC),
    datetime(2026, 3, 2, 9, tzinfo=timezone(timedelta(hours=2))),
]


def _cel(source: str, variables: dict[str, Any]) -> Any:
    compiled = compile_expression(source, NAMES, "test")
    assert isinstance(compiled, Expression)
    try:
        return dataclasses.replace(compiled, plain=None).evaluate(variables)
    except ExpressionError as error:
        return ("error", str(error))


def _same(plain: Any, cel: Any) -> bool:
    if plain != plain:  # NaN
        return cel != cel
    return type(plain) is type(cel) and plain == cel


@pytest.mark.parametrize("source", PLAIN)
def test_a_plain_form_answers_as_cel_does_or_not_at_all(source: str) -> None:
    compiled = compile_expression(source, NAMES, "test")
    assert isinstance(compiled, Expression) and compiled.plain is not None
    answered = 0
    for x in VALUES:
        for y in (True, False, None, "general"):
            for q in ({"queue": "general"}, {"queue": x}, {}, x):
                variables = {"x": x, "y": y, "q": q}
                found = compiled.plain(variables)
                if found is UNSURE:
                    continue
                answered += 1
                cel = _cel(source, variables)
                assert _same(found, cel), (source, variables, found, cel)
    assert answered > 0


@pytest.mark.parametrize("source", NOT_PLAIN)
def test_other_expressions_have_no_plain_form(source: str) -> None:
    assert plain_form(source, NAMES) is None


def test_the_plain_form_is_used_instead_of_cel_where_it_is_sure() -> None:
    compiled = compile_expression("x != null && x != ''", NAMES, "test")
    assert isinstance(compiled, Expression)

    class NoCel:
        def execute(self, context: object) -> object:
            raise AssertionError("CEL was called")

    without_cel = dataclasses.replace(compiled, _program=NoCel())
    assert without_cel.evaluate({"x": None}) is False
    assert without_cel.evaluate({"x": "a"}) is True
    with pytest.raises(ExpressionError, match="CEL was called"):
        without_cel.evaluate({"x": b"a"})  # (bytes against a string: CEL's to say)


def test_what_cel_refuses_it_still_refuses() -> None:
    compiled = compile_expression("x && y", NAMES, "test")
    assert isinstance(compiled, Expression)
    with pytest.raises(ExpressionError):
        compiled.evaluate({"x": None, "y": True})
    assert compiled.evaluate({"x": None, "y": False}) is False
    member = compile_expression("q.queue", NAMES, "test")
    assert isinstance(member, Expression)
    with pytest.raises(ExpressionError):
        member.evaluate({"q": {"other": 1}})
