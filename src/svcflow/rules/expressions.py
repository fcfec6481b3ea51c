"""CEL expressions: compiled once at load, evaluated with only the variables they reference.

CEL (Common Expression Language) is not Turing-complete and cannot reach Python, so a process
owner's condition can never run arbitrary code. Each expression is compiled once when its
workflow loads; the names it references are checked against the declared variables then, and at
evaluation only those variables are converted and passed (conversion dominates the cost of a
call, so passing the whole case would be several times slower for large cases).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from types import ModuleType
from typing import Any, Protocol

from svcflow.compiled import raised_from
from svcflow.errors import ExpressionError, did_you_mean
from svcflow.rules.cost import CostModel, cost_model, current_cel_limits, size_of
from svcflow.rules.plain import plain_condition
from svcflow.spec.extensions import current_extensions

__all__ = [
    "CEL_BUILTINS",
    "NOBODY",
    "CaseVariables",
    "CompileProblem",
    "Expression",
    "Variables",
    "compile_expression",
]

MAX_EXPRESSION_LENGTH = 4000
_CEL_ERROR_POSITION = re.compile(r"<input>:(\d+):(\d+): (.*)")
_COMPREHENSION_BINDER = r"\b(?:all|exists|exists_one|map|filter)\s*\(\s*{name}\s*,"


class Variables(Protocol):
    """Where an expression reads its variables: a mapping, or anything with ``get``."""

    def get(self, name: str, default: Any = None, /) -> Any: ...


NOBODY: Mapping[str, Any] = {"id": "system", "roles": []}
"""What ``actor`` reads when nobody fired the step: the ``system`` actor, no roles."""


class CaseVariables:
    """A case's data plus ``state``, ``now`` and ``actor`` (a map of ``id`` and ``roles``; the
    ``system`` actor with no roles when nobody fired the step): what workflow expressions read."""

    __slots__ = ("_actor", "data", "now", "state")

    def __init__(
        self,
        data: Mapping[str, Any],
        state: str,
        now: datetime,
        actor: Mapping[str, Any] | None = None,
    ) -> None:
        self.data, self.state, self.now = data, state, now
        self._actor: Any = actor or NOBODY  # (a subclass may keep what it makes the map from)

    @property
    def actor(self) -> Mapping[str, Any]:
        """Who fired the step, as expressions read it. A property, so that a subclass may make
        it when it is first read (``svcflow.core.machine``'s step): an attribute read by
        compiled code (the build compiled with mypyc) would not see a subclass's property."""
        actor: Mapping[str, Any] = self._actor
        return actor

    @actor.setter
    def actor(self, value: Mapping[str, Any]) -> None:
        self._actor = value

    def get(self, name: str, default: Any = None) -> Any:
        if name == "now":
            return self.now
        if name == "state":
            return self.state
        if name == "actor":
            return self.actor
        return self.data.get(name, default)


@dataclass(frozen=True, slots=True)
class CompileProblem:
    """Why an expression did not compile; ``line``/``column`` are 1-based within its text."""

    line: int
    column: int
    message: str


@dataclass(frozen=True, slots=True)
class Expression:
    """A compiled CEL expression and the variables it reads.

    ``where`` names the expression's origin (``file:line:col``) for runtime error messages.
    """

    source: str
    names: tuple[str, ...]
    where: str
    _program: Any
    functions: Mapping[str, Callable[..., Any]] | None = None
    cost: CostModel | None = None
    """Set when the cost depends on the lists the expression iterates (checked per call)."""
    plain: Callable[[Variables], Any] | None = None
    """A plain condition's answer without the program (:mod:`svcflow.rules.plain`): a
    ``bool``, or None when the program must be run."""

    def evaluate(
        self,
        variables: Variables,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> Any:
        """Evaluate with the referenced ``variables``; raise ``ExpressionError`` on failure."""
        if self.plain is not None:
            answer = self.plain(variables)
            if answer is not None:
                return answer
        return self._run(variables, functions)

    def _run(self, variables: Variables, functions: Mapping[str, Callable[..., Any]] | None) -> Any:
        """The program's answer."""
        context: Any = {name: variables.get(name) for name in self.names}
        if self.cost is not None:
            self._check_budget(context)
        functions = functions or self.functions
        if functions:
            context = _cel().Context(variables=context, functions=dict(functions))
        try:
            return self._program.execute(context)
        except BaseException as error:  # several builtin types, or a Rust panic
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            failed = ExpressionError(self.source, self.where, _first_line(error))
            raise raised_from(failed, None)  # noqa: B904 (svcflow.compiled)

    def _check_budget(self, values: dict[str, Any]) -> None:
        limits = current_cel_limits()
        if self.cost is None:
            return
        steps = self.cost.actual(values, limits)
        if steps > limits.runtime_max_cost:
            sizes = ", ".join(
                f"{name} has {size_of(values.get(name))}" for name in sorted(self.cost.variables)
            )
            raise ExpressionError(
                self.source,
                self.where,
                f"it would take about {steps:,} steps with the lists it iterates now ({sizes} "
                f"items), above the run-time limit of {limits.runtime_max_cost:,}; nothing was "
                "evaluated",
            )

    def test(
        self,
        variables: Variables,
        functions: Mapping[str, Callable[..., Any]] | None = None,
    ) -> bool:
        """Evaluate a condition; anything but a boolean result is an ``ExpressionError``."""
        if self.plain is None:
            result = self.evaluate(variables, functions)
        else:  # (not through ``evaluate``, which would ask ``plain`` again: issue 16)
            answer = self.plain(variables)
            if answer is not None:
                return answer  # type: ignore[no-any-return]
            result = self._run(variables, functions)
        if not isinstance(result, bool):
            raise ExpressionError(
                self.source,
                self.where,
                f"a condition must be true or false, but it gave {result!r}",
            )
        return result


@cache
def _cel() -> ModuleType:
    """The ``cel`` package, imported at the first compile: its ``__init__`` also imports its
    command line (typer, rich, prompt_toolkit), about half of ``import svcflow``'s time, which
    ``svcflow --help`` and a host that never loads a workflow need not pay."""
    return importlib.import_module("cel")


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def compile_expression(
    source: str,
    known_names: Collection[str],
    where: str,
    known_functions: Collection[str] = (),
) -> Expression | list[CompileProblem]:
    """Compile ``source``; return the expression or every problem found.

    Problems are syntax errors (with CEL's own position) and references to names that are not in
    ``known_names`` (positioned at the name's first occurrence).
    """
    refused = _size_problem(source)
    if refused is not None:
        return [refused]
    try:
        program = _cel().compile(source)
    except BaseException as error:  # the binding can also raise a Rust panic
        if isinstance(error, KeyboardInterrupt | SystemExit):
            raise
        return [_syntax_problem(source, error)]
    referenced = [
        name
        for name in program.variables()
        if not re.search(_COMPREHENSION_BINDER.format(name=re.escape(name)), source)
    ]
    plugin_functions = current_extensions().functions
    known_functions = [*known_functions, *plugin_functions]
    unknown_functions = [
        name
        for name in program.functions()
        if name.isidentifier() and name not in CEL_BUILTINS and name not in known_functions
    ]
    problems = _unknown(
        source, [n for n in referenced if n not in known_names], "name", known_names, "known name"
    ) + _unknown(
        source, unknown_functions, "function", [*CEL_BUILTINS, *known_functions], "function"
    )
    if problems:
        return problems
    called = {
        name: plugin_functions[name] for name in program.functions() if name in plugin_functions
    }
    model = cost_model(source)
    refused = _cost_problem(source, model)
    if refused is not None:
        return [refused]
    return Expression(
        source=source,
        names=tuple(referenced),
        where=where,
        _program=program,
        functions=called or None,
        cost=model if model.variables else None,
        plain=None if called else plain_condition(source, referenced),
    )


def _cost_problem(source: str, model: CostModel) -> CompileProblem | None:
    """Refuse an expression whose estimated cost is above ``CelLimits.max_cost``."""
    limits = current_cel_limits()
    estimate = model.estimate(limits)
    if estimate <= limits.max_cost:
        return None
    line = source.count("\n", 0, model.hottest) + 1
    column = model.hottest - (source.rfind("\n", 0, model.hottest) + 1) + 1
    shown = source if len(source) <= 80 else source[:77] + "..."
    return CompileProblem(
        line,
        column,
        f"expression `{shown}` is too expensive: about {estimate:,} steps, above the limit of "
        f"{limits.max_cost:,}; nested comprehensions multiply (each iterates its list, "
        f"{limits.assumed_list_size} items assumed for a list not written out): un-nest them "
        "or use a decision table",
    )


def _size_problem(source: str) -> CompileProblem | None:
    if not isinstance(source, str) or not source.strip():
        return CompileProblem(
            1, 1, 'empty expression; write a CEL condition such as priority == "high"'
        )
    if len(source) > MAX_EXPRESSION_LENGTH:
        return CompileProblem(
            1,
            1,
            f"expression is {len(source)} characters long; the limit "
            f"is {MAX_EXPRESSION_LENGTH} (use a decision table instead)",
        )
    return None


def _unknown(
    source: str, unknown: Collection[str], kind: str, choices: Collection[str], noun: str
) -> list[CompileProblem]:
    """A problem for each unknown name (or function), at its first occurrence."""
    problems = []
    for name in unknown:
        line, column = _locate(source, name)
        problems.append(
            CompileProblem(
                line,
                column,
                f"unknown {kind} '{name}' in expression `{source}`"
                + did_you_mean(name, choices, noun=noun),
            )
        )
    return problems


def _syntax_problem(source: str, error: BaseException) -> CompileProblem:
    text = str(error)
    match = _CEL_ERROR_POSITION.search(text)
    if match:
        line, column, message = int(match.group(1)), int(match.group(2)), match.group(3)
        return CompileProblem(line, column, f"invalid expression `{source}`: {message.strip()}")
    return CompileProblem(1, 1, f"invalid expression `{source}`: {_first_line(error)}")


def _locate(source: str, name: str) -> tuple[int, int]:
    match = re.search(rf"\b{re.escape(name)}\b", source)
    offset = match.start() if match else 0
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


# The functions this CEL runtime provides (checked against it in tests/test_expressions.py).
CEL_BUILTINS = frozenset(
    {
        "size",
        "int",
        "uint",
        "double",
        "string",
        "bytes",
        "type",
        "dyn",
        "duration",
        "timestamp",
        "matches",
        "contains",
        "startsWith",
        "endsWith",
        "getFullYear",
        "getMonth",
        "getDate",
        "getDayOfMonth",
        "getDayOfWeek",
        "getDayOfYear",
        "getHours",
        "getMinutes",
        "getSeconds",
        "getMilliseconds",
        "exists",
        "all",
        "exists_one",
        "map",
        "filter",
        "has",
    }
)
