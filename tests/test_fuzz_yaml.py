"""Fuzzing the workflow loader: whatever text comes in, only ``WorkflowDefinitionError`` goes out.

``load_workflow_text`` promises that *any* bad input, however malformed or hostile, ends as a
:class:`~svcflow.WorkflowDefinitionError` whose problems point inside the text, never as an
exception of PyYAML, pydantic or the CEL binding, a crash or a hang. These tests check that
promise four ways: random text, mutations of the shipped workflow, random structured documents
dumped by ``yaml.safe_dump``, and hand-written nasty YAML (alias bombs, ``!!python`` tags...).
The explicit tests at the end pin the smallest inputs on which the fuzzers found a broken promise.

Each property runs under the ``svcflow-fuzz`` profile: a fixed number of examples, no deadline,
derandomized so that CI sees the same examples on every run, and no example database on disk.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
import time
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from svcflow import WorkflowDefinitionError, load_workflow_text
from svcflow.definitions.workflow import LoadedWorkflow
from svcflow.errors import Problem
from svcflow.spec.models import (
    Action,
    FieldSpec,
    FieldType,
    NotifySpec,
    ScheduleSpec,
    StateSpec,
    TransitionSpec,
    WorkflowSpec,
)

# Shrinking a failure can take minutes on these inputs, so it is off unless asked for with
# SVCFLOW_FUZZ_SHRINK=1; the explicit tests at the end hold the shrunk forms of known failures.
SHRINK = os.environ.get("SVCFLOW_FUZZ_SHRINK") == "1"
settings.register_profile(
    "svcflow-fuzz",
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target]
    + ([Phase.shrink] if SHRINK else []),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)
FUZZ = settings.get_profile("svcflow-fuzz")
FILE = "fuzz/workflow.yaml"

ROOT = Path(__file__).resolve().parent.parent
BASE_TEXT = (ROOT / "workflows" / "complaint.yaml").read_text(encoding="utf-8")
BASE_LINES = BASE_TEXT.splitlines(keepends=True)
BASE = load_workflow_text(BASE_TEXT, "complaint.yaml")
BASE_STATES = frozenset(BASE.spec.states)
BASE_TRIGGERS = frozenset(t.trigger for t in BASE.spec.transitions)
BASE_NAMES = frozenset(BASE.spec.data) | {"now", "state"}


def _keys(model: Any) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


MODELS = (WorkflowSpec, FieldSpec, StateSpec, TransitionSpec, Action, NotifySpec, ScheduleSpec)
KEY_VOCABULARY = frozenset(key for model in MODELS for key in _keys(model))
FIELD_TYPES = typing.get_args(FieldType)

# What a misspelt name is checked against, by the noun in "unknown <noun> '<name>'".
VALID_CHOICES = {
    "key": KEY_VOCABULARY,
    "state": BASE_STATES,
    "trigger": BASE_TRIGGERS,
    "field": frozenset(BASE.spec.data),
    "name": BASE_NAMES,
}
UNKNOWN_NAME = re.compile(r"unknown (key|state|trigger|field|name) '([^']*)'")


# -- the properties every outcome must have ---------------------------------------------------


def check_load(text: str, file: str = FILE) -> LoadedWorkflow | tuple[Problem, ...]:
    """Load ``text``; return the workflow or the problems, after checking each problem.

    Any other exception (including ``BaseException`` subclasses such as pyo3's
    ``PanicException``, but not ``KeyboardInterrupt``) is turned into a test failure that names it.
    """
    try:
        return load_workflow_text(text, file=file)
    except WorkflowDefinitionError as error:
        assert error.problems, "a WorkflowDefinitionError without problems"
        for problem in error.problems:
            check_problem(problem, text, file)
        return error.problems
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        raise AssertionError(
            f"load_workflow_text let {type(error).__module__}.{type(error).__name__} escape "
            f"instead of WorkflowDefinitionError: {str(error)[:300]!r}"
        ) from error


def check_problem(problem: Problem, text: str, file: str) -> None:
    lines = text.splitlines()
    where = f"{problem!s:.300}"
    assert isinstance(problem, Problem), where
    assert problem.file == file, where
    assert isinstance(problem.key_path, str), where
    assert isinstance(problem.message, str) and problem.message.strip(), f"empty message: {where}"
    assert isinstance(problem.line, int) and isinstance(problem.column, int), where
    assert 1 <= problem.line <= len(lines) + 1, f"line outside the {len(lines)}-line text: {where}"
    assert problem.column >= 1, f"column < 1: {where}"
    if problem.line <= len(lines):
        width = len(lines[problem.line - 1])
        assert problem.column <= width + 1, f"column past the end of a {width}-char line: {where}"
    else:
        assert problem.column == 1, f"column past the end of the text: {where}"


def problems_of(outcome: LoadedWorkflow | tuple[Problem, ...]) -> tuple[Problem, ...]:
    return () if isinstance(outcome, LoadedWorkflow) else outcome


def expect_problems(text: str) -> tuple[Problem, ...]:
    outcome = check_load(text)
    assert not isinstance(outcome, LoadedWorkflow), "expected the text to be rejected"
    return outcome


def check_suggestions(problems: tuple[Problem, ...], wrong: str, right: str) -> None:
    """An unknown name that is a near miss of a name valid in its place gets a "did you mean"."""
    if difflib.SequenceMatcher(None, wrong, right).ratio() < 0.6:
        return
    for problem in problems:
        match = UNKNOWN_NAME.search(problem.message)
        if match and match.group(2) == wrong and right in VALID_CHOICES[match.group(1)]:
            assert "did you mean" in problem.message, (
                f"{wrong!r} is a near miss of {right!r}, but: {problem}"
            )


# -- 1. random text ---------------------------------------------------------------------------

YAML_FRAGMENTS = [
    "a: ",
    "key: value\n",
    "- ",
    "- item\n",
    "? ",
    ": ",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "\n",
    "\r\n",
    "  ",
    "\t",
    "# comment\n",
    "&a ",
    "*a",
    "&b [*a, *a]",
    "*b",
    "<<: *a\n",
    "!!python/object/apply:os.system ",
    '!!python/object/apply:os.system ["echo hi"]',
    "!!python/object:os.system {a: 1}",
    "!!python/name:os.system ",
    "!!binary ",
    "!!int ",
    "!!float ",
    "!!bool ",
    "!!timestamp ",
    "!!set ",
    "!!omap ",
    "!!str ",
    "!custom ",
    "|\n",
    ">-\n",
    "'",
    '"',
    '"\\x00"',
    "%YAML 1.1\n",
    "%TAG ! tag:example.com,2000:\n",
    "---\n",
    "...\n",
    "~",
    "null",
    "on",
    "yes",
    "no",
    "true",
    "0x1F",
    "0o17",
    "1e400",
    ".nan",
    "-.inf",
    "12:30:45",
    "2001-13-45",
    "2001-12-14t21:59:43.10-05:00",
    "workflow: w\n",
    "version: 1\n",
    "title: T\n",
    "states:\n",
    "  a: {initial: true}\n",
    "transitions:\n",
    "  - {trigger: go, from: a, to: b}\n",
    "    when: ",
    "\ufeff",
    "\u00e9",
    "\u2028",
    "\x85",
    "\U0001f600",
]
YAML_CHARACTERS = [
    *":-?[]{},#&*!|>'\"%@`\t\n\r ~=.0123456789abcxyz_",
    "\u00e9",
    "\u2028",
    "\x85",
    "\ufeff",
    "\U0001f600",
]


@st.composite
def deeply_nested(draw: st.DrawFn) -> str:
    depth = draw(st.integers(1, 1500))
    kind = draw(st.sampled_from(["flow-seq", "flow-map", "block-seq", "block-map", "unclosed"]))
    if kind == "flow-seq":
        return "[" * depth + "]" * depth
    if kind == "flow-map":
        return "a: " + "{a: " * depth + "1" + "}" * depth
    if kind == "block-seq":
        return "- " * depth + "x\n"
    if kind == "block-map":
        return "".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "1\n"
    return draw(st.sampled_from(["[", "{", "- [", "a: {b: "])) * depth


random_text = st.one_of(
    st.text(max_size=200),
    st.text(alphabet=st.sampled_from(YAML_CHARACTERS), max_size=200),
    st.lists(st.one_of(st.sampled_from(YAML_FRAGMENTS), st.text(max_size=8)), max_size=40).map(
        "".join
    ),
    deeply_nested(),
)


@settings(FUZZ)
@given(text=random_text)
def test_random_text_is_rejected_with_positioned_problems(text: str) -> None:
    check_load(text)


# -- 2. mutations of the shipped workflow -----------------------------------------------------

EXPRESSIONS = [
    "true",
    "false",
    'priority == "high"',
    "count > 1",
    "count + 1",
    "now",
    "state == 'new'",
    "size(tags) > 0",
    "tags.exists(t, t == 'x')",
    "nope",
    "frobnicate(1)",
    "(",
    ")",
    "",
    "1 +",
    "true &&\nnope",
    "a.b.c",
    "satisfied ==\n\n)",
    "resolution != null &&\n  resolutoin != ''",
    "reopen_count + 1 > 2 && nope",
    '"unterminated',
]
WHEN_LINES = [i for i, line in enumerate(BASE_LINES) if line.lstrip().startswith("when: ")]


@st.composite
def styled_expressions(draw: st.DrawFn, indent: int) -> str:
    """A CEL expression written as a YAML value in one of its styles, for a key at ``indent``."""
    source = draw(st.one_of(st.sampled_from(EXPRESSIONS), st.text(max_size=15)))
    style = draw(st.sampled_from(["plain", "double", "single", "literal", "folded", "lines"]))
    inner = " " * (indent + 2)
    if style == "double":
        return json.dumps(source)
    if style == "single":
        return "'" + source.replace("'", "''") + "'"
    if style in ("literal", "folded"):
        marker = ("|" if style == "literal" else ">") + draw(st.sampled_from(["", "-", "+"]))
        return marker + "".join("\n" + inner + part for part in source.split("\n"))
    if style == "lines":
        return ("\n" + inner).join(source.split(" "))
    return source


LETTERS = "abcdefghijklmnopqrstuvwxyz_"
TOKENS = [(m.start(), m.group()) for m in re.finditer(r"[A-Za-z_][A-Za-z0-9_]*", BASE_TEXT)]


@dataclass(frozen=True)
class Mutation:
    text: str
    description: str
    original: str | None = None
    replacement: str | None = None


@st.composite
def near_misses(draw: st.DrawFn, word: str) -> str:
    """A typo of ``word``: one letter dropped, added, changed, or two letters swapped."""
    index = draw(st.integers(0, len(word) - 1))
    letter = draw(st.sampled_from(LETTERS))
    kind = draw(st.sampled_from(["drop", "add", "change", "swap"]))
    if kind == "drop" and len(word) > 1:
        typo = word[:index] + word[index + 1 :]
    elif kind == "swap" and index + 1 < len(word):
        typo = word[:index] + word[index + 1] + word[index] + word[index + 2 :]
    elif kind == "change":
        typo = word[:index] + letter + word[index + 1 :]
    else:
        typo = word[:index] + letter + word[index:]
    return typo if typo != word else word + letter


random_words = st.one_of(
    st.from_regex(r"[a-z_][a-z0-9_]{0,12}", fullmatch=True),
    st.sampled_from(["on", "yes", "no", "null", "~", "true", "1", "-1", "0.5", "''", "[]", "{}"]),
    st.text(max_size=12),
)

yaml_fragments = st.one_of(
    st.sampled_from(
        [
            "extra: 1",
            "  bogus: [1, 2",
            "- stray",
            "&x anchor: *x",
            "<<: {a: 1}",
            "    when: )",
            "    when: nope == 1",
            "      - cancel: respnse_overdue",
            "      - set: {priorty: high}",
            "  - {trigger: escalate, from: nowhere, to: closed}",
            "  - {trigger: close, from: '*', to: closed}",
            "  orphan: {}",
            "\t",
            "...",
            "---",
            "description: !!python/object/apply:os.system [echo hi]",
            "    after: 99999999999999999999w",
        ]
    ),
    st.lists(st.sampled_from(YAML_FRAGMENTS), max_size=6).map("".join),
)


@st.composite
def mutations(draw: st.DrawFn) -> Mutation:
    lines = list(BASE_LINES)
    kind = draw(
        st.sampled_from(
            ["delete", "duplicate", "swap", "typo", "word", "indent", "insert", "expression"]
        )
    )
    if kind in ("typo", "word"):
        start, original = draw(st.sampled_from(TOKENS))
        new = draw(near_misses(original) if kind == "typo" else random_words)
        text = BASE_TEXT[:start] + new + BASE_TEXT[start + len(original) :]
        return Mutation(text, f"{kind} {original!r} -> {new!r} at {start}", original, new)
    if kind == "expression":
        index = draw(st.sampled_from(WHEN_LINES))
        indent = len(lines[index]) - len(lines[index].lstrip(" "))
        value = draw(styled_expressions(indent))
        lines[index] = " " * indent + "when: " + value + "\n"
        return Mutation("".join(lines), f"expression at line {index + 1}: {value!r}")
    index = draw(st.integers(0, len(lines) - 1))
    if kind == "delete":
        del lines[index]
    elif kind == "duplicate":
        lines.insert(index, lines[index])
    elif kind == "swap":
        other = draw(st.integers(0, len(lines) - 1))
        lines[index], lines[other] = lines[other], lines[index]
    elif kind == "indent":
        body = lines[index].lstrip(" ")
        indent = len(lines[index]) - len(body)
        new_indent = draw(st.one_of(st.integers(0, 12).map(" ".__mul__), st.just("\t")))
        lines[index] = new_indent + body
        kind = f"indent {indent} -> {new_indent!r}"
    else:
        lines.insert(index, draw(yaml_fragments) + "\n")
    return Mutation("".join(lines), f"{kind} at line {index + 1}")


@settings(FUZZ)
@given(mutation=mutations())
def test_mutated_workflow_is_rejected_with_positioned_problems(mutation: Mutation) -> None:
    outcome = check_load(mutation.text)
    if mutation.original is not None and mutation.replacement is not None:
        check_suggestions(problems_of(outcome), mutation.replacement, mutation.original)


@settings(FUZZ)
@given(start_and_token=st.sampled_from(TOKENS), data=st.data())
def test_misspelt_names_get_a_suggestion(start_and_token: tuple[int, str], data: Any) -> None:
    start, original = start_and_token
    typo = data.draw(near_misses(original))
    text = BASE_TEXT[:start] + typo + BASE_TEXT[start + len(original) :]
    check_suggestions(problems_of(check_load(text)), typo, original)


# -- 3. random structured documents -----------------------------------------------------------

NAMES = ["new", "open", "done", "received", "closed", "on", "off", "yes", "no", "x1", "_a", "A"]
DURATIONS = ["15m", "1h30m", "7d", "1w", "0s", "-1m", "abc", "", "99999999999999999999w"]

junk_keys = st.one_of(
    st.sampled_from(sorted(KEY_VOCABULARY)), st.sampled_from(NAMES), st.text(max_size=8)
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(NAMES + EXPRESSIONS + DURATIONS + list(FIELD_TYPES)),
)
junk = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(junk_keys, st.integers(), st.none()), children, max_size=4),
    ),
    max_leaves=12,
)


@st.composite
def mostly(draw: st.DrawFn, shape: st.SearchStrategy[Any]) -> Any:
    """Usually ``shape``; now and then anything at all."""
    return draw(junk) if draw(st.integers(0, 7)) == 0 else draw(shape)


def record(required: dict[str, Any], optional: dict[str, Any]) -> st.SearchStrategy[Any]:
    shape = st.fixed_dictionaries(
        {key: mostly(value) for key, value in required.items()},
        optional={key: mostly(value) for key, value in optional.items()},
    )
    extra = st.dictionaries(junk_keys, junk, max_size=1)
    return mostly(st.tuples(shape, extra).map(lambda pair: {**pair[1], **pair[0]}))


names = st.one_of(
    st.sampled_from(NAMES), st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
)
field_specs = st.one_of(
    st.sampled_from(FIELD_TYPES),
    record(
        {"type": st.sampled_from([*FIELD_TYPES, "enumm"])},
        {
            "required": st.booleans(),
            "default": scalars,
            "values": st.lists(names, max_size=3),
            "items": st.sampled_from(FIELD_TYPES),
            "fields": st.dictionaries(names, st.sampled_from(FIELD_TYPES), max_size=2),
            "description": st.text(max_size=10),
        },
    ),
)
set_values = st.one_of(scalars, st.fixed_dictionaries({"expr": st.sampled_from(EXPRESSIONS)}))
actions = st.one_of(
    record({"set": st.dictionaries(names, set_values, max_size=2)}, {}),
    record(
        {"notify": record({"template": names, "to": st.one_of(names, st.lists(names))}, {})},
        {},
    ),
    record(
        {
            "schedule": record(
                {"trigger": names, "after": st.sampled_from(DURATIONS)},
                {"keep": st.booleans()},
            )
        },
        {},
    ),
    record({"cancel": names}, {}),
    record({"note": st.text(max_size=10)}, {}),
)
states = record(
    {},
    {
        "initial": st.booleans(),
        "final": st.booleans(),
        "tags": st.lists(names, max_size=2),
        "on_enter": st.lists(actions, max_size=3),
        "on_exit": st.lists(actions, max_size=2),
        "description": st.text(max_size=10),
    },
)
transitions = record(
    {"trigger": names, "from": st.one_of(names, st.just("*"), st.lists(names, max_size=3))},
    {
        "to": names,
        "when": st.one_of(st.sampled_from(EXPRESSIONS), st.text(max_size=12)),
        "actions": st.lists(actions, max_size=3),
    },
)
documents = record(
    {
        "workflow": st.one_of(st.sampled_from(["complaint", "w-1", "Bad Id", ""]), st.text()),
        "version": st.one_of(st.integers(-2, 5), st.integers()),
        "title": st.text(max_size=12),
        "states": st.dictionaries(names, st.one_of(st.none(), states), min_size=1, max_size=5),
    },
    {
        "description": st.text(max_size=12),
        "data": st.dictionaries(names, field_specs, max_size=4),
        "transitions": st.lists(transitions, max_size=6),
    },
)


@settings(FUZZ)
@given(
    document=documents,
    flow=st.sampled_from([False, None, True]),
    unicode=st.booleans(),
)
def test_structured_documents_are_rejected_with_positioned_problems(
    document: Any, flow: bool | None, unicode: bool
) -> None:
    text = yaml.safe_dump(document, sort_keys=False, default_flow_style=flow, allow_unicode=unicode)
    check_load(text)


@settings(FUZZ)
@given(data=st.data())
def test_valid_documents_load(data: Any) -> None:
    """Documents built only from valid parts load; every dumped name stays a string."""
    state_names = data.draw(st.lists(names, min_size=2, max_size=5, unique=True))
    chain = [
        {"trigger": f"go_{index}", "from": source, "to": target}
        for index, (source, target) in enumerate(itertools.pairwise(state_names))
    ]
    document = {
        "workflow": "fuzzed",
        "version": data.draw(st.integers(1, 10**6)),
        "title": data.draw(st.text(min_size=1, max_size=20).filter(str.strip)),
        "states": {
            name: {"initial": index == 0, "final": index == len(state_names) - 1}
            for index, name in enumerate(state_names)
        },
        "transitions": chain,
    }
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=data.draw(st.booleans()))
    outcome = check_load(text)
    assert isinstance(outcome, LoadedWorkflow), "\n".join(map(str, outcome))
    assert list(outcome.spec.states) == state_names


# -- 4. explicit nasty YAML -------------------------------------------------------------------

MINIMAL = """\
workflow: mini
version: 1
title: Mini
data:
  note: string
states:
  open: {initial: true}
  done: {final: true}
transitions:
  - trigger: finish
    from: open
    to: done
"""


def billion_laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    previous = "a"
    for name in "bcdefghijklmnop"[: levels - 1]:
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * 9) + "]")
        previous = name
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("where", ["top", "in a workflow"])
def test_billion_laughs_is_stopped_quickly(where: str) -> None:
    bomb = billion_laughs()
    if where != "top":
        laughs = billion_laughs().replace("\n", "\n  ").rstrip()
        bomb = MINIMAL.replace("title: Mini", "title: Mini\nlaughs:\n  " + laughs)
    started = time.perf_counter()
    problems = expect_problems(bomb)
    elapsed = time.perf_counter() - started
    assert elapsed < 5, f"took {elapsed:.1f}s"
    assert any("aliases" in p.message or "expands" in p.message for p in problems), problems


def test_recursive_alias_is_a_problem() -> None:
    (problem,) = expect_problems("&a [*a]\n")
    assert "recursive" in problem.message
    assert problem.line == 1


def test_recursive_alias_inside_a_workflow() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: &d {final: true, tags: [*d]}")
    problems = expect_problems(text)
    assert any("recursive" in p.message and p.line == 8 for p in problems), problems


PYTHON_TAGS = [
    '!!python/object/apply:os.system ["echo hi > {marker}"]',
    "!!python/object/apply:os.system\n    - echo hi > {marker}",
    "!!python/object/apply:os.system {{args: ['echo hi > {marker}']}}",
    "!!python/object/new:os.system ['echo hi > {marker}']",
    "!!python/object:os.system {{cmd: 'echo hi > {marker}'}}",
    "!!python/object/apply:os.system 'echo hi > {marker}'",
    "!!python/name:os.system ''",
    "!!python/module:os ''",
    "!!python/tuple [1, 2]",
]


@pytest.mark.parametrize("tag", PYTHON_TAGS)
@pytest.mark.parametrize("place", ["title", "tags"])
def test_python_tags_never_execute_and_are_reported_where_written(
    tag: str, place: str, tmp_path: Path
) -> None:
    marker = tmp_path / "executed"
    value = tag.format(marker=marker)
    if place == "title":
        text = MINIMAL.replace("title: Mini", f"title: {value}")
        line = 3
    else:
        text = MINIMAL.replace(
            "  open: {initial: true}", f"  open:\n    initial: true\n    tags: {value}"
        )
        line = 9
    problems = expect_problems(text)
    assert not marker.exists(), "a !!python tag ran a command"
    column = text.splitlines()[line - 1].index("!!") + 1
    assert any((p.line, p.column) == (line, column) for p in problems), "\n".join(
        map(str, problems)
    )


def test_python_tag_at_the_top_is_reported() -> None:
    problems = expect_problems('!!python/object/apply:os.system ["echo hi"]\n')
    assert any((p.line, p.column) == (1, 1) and "python" in p.message for p in problems), problems


def test_tabs_for_indentation() -> None:
    text = MINIMAL.replace("  open: {initial: true}", "\topen: {initial: true}")
    problems = expect_problems(text)
    assert [(p.line, p.column) for p in problems] == [(7, 1)]
    assert "\\t" in problems[0].message or "tab" in problems[0].message


def test_duplicate_key_is_reported_at_the_second_one() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {final: true}\n  open: {}")
    problems = expect_problems(text)
    assert [(p.line, p.column, p.key_path) for p in problems] == [(9, 3, "states.open")]
    assert "duplicate key 'open'" in problems[0].message
    assert "line 7" in problems[0].message


YES_NO = """\
workflow: switch
version: 1
title: Yes and no
states:
  off: {initial: true}
  on: {tags: [yes, no, on, off, y, n]}
  no: {final: true}
transitions:
  - {trigger: on, from: off, to: on}
  - {trigger: off, from: on, to: off}
  - trigger: yes
    from: [off, on]
    to: no
  - trigger: no
    from: off
    to: no
    when: "true"
  - {trigger: Yes, from: on, to: no}
  - {trigger: OFF, from: on, to: no}
  - {trigger: y, from: on, to: no}
"""


def test_yes_no_on_off_stay_strings() -> None:
    outcome = check_load(YES_NO)
    assert isinstance(outcome, LoadedWorkflow), "\n".join(map(str, outcome))
    assert list(outcome.spec.states) == ["off", "on", "no"]
    assert [t.trigger for t in outcome.spec.transitions] == [
        "on",
        "off",
        "yes",
        "no",
        "Yes",
        "OFF",
        "y",
    ]
    assert outcome.spec.transitions[2].source == ["off", "on"]
    assert outcome.spec.states["on"].tags == ["yes", "no", "on", "off", "y", "n"]


@pytest.mark.parametrize("text", ["", "\n", "   \n\n", "# only a comment\n", "---\n"])
def test_empty_file(text: str) -> None:
    (problem,) = expect_problems(text)
    assert (problem.line, problem.column) == (1, 1)
    assert "empty file" in problem.message


@pytest.mark.parametrize("text", ["- a\n- b\n", "[]\n", "- workflow: mini\n  version: 1\n"])
def test_file_that_is_a_list(text: str) -> None:
    (problem,) = expect_problems(text)
    assert (problem.line, problem.column) == (1, 1)
    assert "found list" in problem.message


@pytest.mark.parametrize("text", ["just text\n", "42\n", "null\n", "true\n"])
def test_file_that_is_a_scalar(text: str) -> None:
    (problem,) = expect_problems(text)
    assert "a workflow file is a mapping" in problem.message


def test_two_documents() -> None:
    (problem,) = expect_problems(MINIMAL + "---\n" + MINIMAL)
    assert problem.line == 13 and "single document" in problem.message


def test_merge_keys_are_rejected() -> None:
    text = MINIMAL.replace("  done: {final: true}", "  done: {<<: {final: true}}")
    problems = expect_problems(text)
    assert any("merge keys" in p.message and p.line == 8 for p in problems), problems


# -- minimal reproductions of what the fuzzers found -------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        '!!int ""',  # IndexError: string index out of range
        '!!int "abc"',  # ValueError: invalid literal for int()
        '!!float "abc"',  # ValueError: could not convert string to float
        '!!bool "maybe"',  # KeyError: 'maybe'
        '!!timestamp "garbage"',  # AttributeError: 'NoneType' object has no attribute 'groupdict'
        "2001-13-45",  # ValueError: month must be in 1..12 (an implicit timestamp)
    ],
)
def test_scalar_that_fails_to_construct(value: str) -> None:
    problems = expect_problems(f"title: {value}\n")
    assert any((p.line, p.column) == (1, 8) for p in problems), problems


@pytest.mark.parametrize("character", ["\x00", "\x07", "\ud800", "\ufffe"])
def test_unacceptable_character(character: str) -> None:
    # yaml.reader.ReaderError is raised while the loader is constructed, outside the try
    (problem,) = expect_problems(f"title: a{character}b\n")
    assert problem.line == 1


@pytest.mark.parametrize("depth", [500, 1000])
def test_deep_nesting(depth: int) -> None:
    # RecursionError from PyYAML's recursive composer at ~490 levels (default recursion limit)
    expect_problems("[" * depth + "]" * depth)
    expect_problems("a: " + "{a: " * depth + "1" + "}" * depth)
    expect_problems("".join(" " * i + "a:\n" for i in range(depth)) + " " * depth + "1\n")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "  done: {final: true}",
            "  done: {final: true}\n  x:\n    on_enter:\n      - schedule:"
            " {trigger: finish, after: 99999999999999999999w}",
        ),
        ("  note: string", "  note: {type: duration, default: 99999999999999999999w}"),
    ],
)
def test_huge_duration(old: str, new: str) -> None:
    # OverflowError from timedelta(seconds=...) in parse_duration, which pydantic does not catch
    text = MINIMAL.replace(old, new)
    problems = expect_problems(text)
    assert any("99999999999999999999w" in text.splitlines()[p.line - 1] for p in problems)


def test_expression_with_syntax_error_far_to_the_right() -> None:
    # the CEL binding panics (pyo3 PanicException, a BaseException) formatting a syntax error
    # at column >= 65535: "Formatting argument out of range"
    text = MINIMAL + '    when: "' + " " * 65535 + ')"\n'
    (problem,) = expect_problems(text)
    assert problem.line == 13


@pytest.mark.parametrize(
    ("when", "line"),
    [
        ('"true &&\\n\\n\\n\\n\\n)"', 13),  # was reported at line 18 of a 13-line file
        ('"true &&\\n\\n\\n\\n\\n nope"', 13),
        (">\n      true &&\n      nope", 13),  # folded: was column 15 of a 13-character line
        ("true &&\n      nope", 13),  # plain multi-line: was column 19 of a 17-character line
    ],
)
def test_expression_problem_positions_stay_inside_the_text(when: str, line: int) -> None:
    # YAML reflowed these scalars, so the honest position is where the scalar starts.
    text = MINIMAL + f"    when: {when}\n"
    problems = expect_problems(text)
    assert [(p.line, p.column) for p in problems] == [(line, 11)], problems


def test_field_named_like_a_type_keeps_its_key_path() -> None:
    # "str" was once dropped from the pydantic location as if it were a union branch, so the
    # problem was reported as "data.type" at the "data" mapping instead of at the bad value
    text = MINIMAL.replace("  note: string", "  str: {type: strin}")
    (problem,) = expect_problems(text)
    assert problem.key_path == "data.str.type", problem
    assert (problem.line, problem.column) == (5, 15), problem
