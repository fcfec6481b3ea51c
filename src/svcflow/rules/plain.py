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

The condition becomes one Python function, built as a syntax tree from its tokens (names only
as string constants, literals as constants) and compiled: a Python call costs the interpreter
about 1,000 instructions, so a tree of small functions would cost half of CEL's call.
"""

from __future__ import annotations

import ast
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
_COMPARED = {"==": ast.Eq, "!=": ast.NotEq}

Token = tuple[str, Any]


class _NotPlain(Exception):
    """The text is not of the plain form."""


def plain_condition(source: str, names: Collection[str]) -> Plain | None:
    """``source``'s answer in Python when it is of the plain form (the module's docstring),
    reading only ``names``; None when it is not."""
    try:
        parser = _Parser(_tokens(source), frozenset(names))
        tree = parser.boolean(*parser.either())
        if parser.at != len(parser.tokens):
            return None
    except _NotPlain:
        return None
    return parser.function(tree)


def _tokens(source: str) -> list[Token]:
    tokens: list[Token] = []
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


class _Parser:
    """CEL's precedence: ``!``, then ``==``/``!=`` (one, not chained), ``&&``, ``||``. Each
    part is a Python expression and whether it is known to be a ``bool`` (a name or literal
    may not be)."""

    def __init__(self, tokens: list[Token], names: frozenset[str]) -> None:
        self.tokens, self.names, self.at = tokens, names, 0
        self.read: dict[str, bool] = {}  # name -> must be a bool (not only str, bool or None)

    def peek(self) -> Token | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def either(self) -> tuple[ast.expr, bool]:
        return self.joined("||", ast.Or, self.both)

    def both(self) -> tuple[ast.expr, bool]:
        return self.joined("&&", ast.And, self.compare)

    def joined(
        self, operator: str, join: type[ast.boolop], part: Callable[[], tuple[ast.expr, bool]]
    ) -> tuple[ast.expr, bool]:
        """``part``s joined by ``operator`` (left to right), each of which must be a bool."""
        left = part()
        while self.peek() == ("op", operator):
            self.at += 1
            right = part()
            left = (ast.BoolOp(join(), [self.boolean(*left), self.boolean(*right)]), True)
        return left

    def compare(self) -> tuple[ast.expr, bool]:
        left = self.unary()
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in _COMPARED:
            return left
        self.at += 1
        right = self.unary()
        following = self.peek()
        if following is not None and following[0] == "op" and following[1] in _COMPARED:
            raise _NotPlain  # a chain of comparisons
        operator = _COMPARED[str(token[1])]()
        return ast.Compare(left[0], [operator], [right[0]]), True

    def unary(self) -> tuple[ast.expr, bool]:
        token = self.peek()
        if token is None:
            raise _NotPlain
        self.at += 1
        kind, value = token
        if token == ("op", "!"):
            return ast.UnaryOp(ast.Not(), self.boolean(*self.unary())), True
        if token == ("op", "("):
            inner = self.either()
            if self.peek() != ("op", ")"):
                raise _NotPlain
            self.at += 1
            return inner
        if kind == "lit":
            return ast.Constant(value), type(value) is bool
        if kind == "name" and value in self.names:
            name = str(value)
            self.read.setdefault(name, False)
            return ast.Name(self.slot(name), ast.Load()), False
        raise _NotPlain

    def boolean(self, tree: ast.expr, known: bool) -> ast.expr:
        """``tree`` where CEL needs a bool: a name read must then hold one; a literal that is
        not a bool is no plain condition."""
        if known:
            return tree
        if isinstance(tree, ast.Name):
            self.read[self.named(tree.id)] = True
            return tree
        raise _NotPlain

    def slot(self, name: str) -> str:
        return f"v{list(self.read).index(name)}"

    def named(self, slot: str) -> str:
        return list(self.read)[int(slot[1:])]

    def function(self, tree: ast.expr) -> Plain:
        """``lambda variables: tree if <every name read holds a value of its kind> else None``,
        each name read once (``variables.get``, as the program's context is built)."""
        checks: list[ast.expr] = []
        for index, (name, boolean) in enumerate(self.read.items()):
            got = ast.Call(
                ast.Attribute(ast.Name("variables", ast.Load()), "get", ast.Load()),
                [ast.Constant(name)],
                [],
            )
            kind = ast.Call(
                ast.Name("type", ast.Load()),
                [ast.NamedExpr(ast.Name(f"v{index}", ast.Store()), got)],
                [],
            )
            checks.append(
                ast.Compare(kind, [ast.Is()], [ast.Name("bool", ast.Load())])
                if boolean
                else ast.Compare(kind, [ast.In()], [ast.Name("simple", ast.Load())])
            )
        test = (
            ast.BoolOp(ast.And(), checks) if len(checks) > 1 else [*checks, ast.Constant(True)][0]
        )
        arguments = ast.arguments([], [ast.arg("variables")], None, [], [], None, [])
        body = ast.IfExp(test, tree, ast.Constant(None))
        code = compile(
            ast.fix_missing_locations(ast.Expression(ast.Lambda(arguments, body))),
            "<plain condition>",
            "eval",
        )
        scope = {"__builtins__": {}, "type": type, "bool": bool, "simple": _SIMPLE}
        answer: Plain = eval(code, scope)  # a tree built here: no text of the source
        return answer
