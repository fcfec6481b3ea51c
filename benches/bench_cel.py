"""Which CEL binding svcflow evaluates conditions with, decided by measurement.

Compares the two CEL bindings on PyPI on the conditions a workflow actually has, passing (a) only
the variables an expression references, as svcflow does, and (b) a whole 30-field case, to show
why svcflow passes only what an expression reads. Run: ``python benches/bench_cel.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import cel
from cel_expr_python import cel as cel_cpp

N = 50_000
NOW = datetime(2026, 3, 2, 9, tzinfo=UTC)
CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "simple": ('priority == "high"', {"priority": "high"}),
    "compound": (
        'priority == "high" && amount > 100.0 && size(tags) > 0',
        {"priority": "high", "amount": 150.0, "tags": ["vip"]},
    ),
    "time": (
        'now - received_at > duration("15m")',
        {"now": NOW, "received_at": NOW - timedelta(minutes=20)},
    ),
}
CPP_TYPES = {
    "priority": cel_cpp.Type.STRING,
    "amount": cel_cpp.Type.DOUBLE,
    "tags": cel_cpp.Type.List(cel_cpp.Type.STRING),
    "now": cel_cpp.Type.TIMESTAMP,
    "received_at": cel_cpp.Type.TIMESTAMP,
    **{f"extra{i}": cel_cpp.Type.List(cel_cpp.Type.STRING) for i in range(30)},
}
WHOLE_CASE = {f"extra{i}": [str(j) for j in range(20)] for i in range(30)}


def per_call_us(function: Callable[[], object]) -> float:
    function()
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(N):
            function()
        best = min(best, (time.perf_counter() - start) / N * 1e6)
    return best


def main() -> None:
    env = cel_cpp.NewEnv(variables=CPP_TYPES)
    print(
        f"{'expression':<10} {'variables':<12} {'rust (common-expression-language)':>36} "
        f"{'C++ (cel-expr-python)':>24}"
    )
    for name, (source, variables) in CASES.items():
        rust = cel.compile(source)
        cpp = env.compile(source)
        for label, context in (("referenced", variables), ("whole case", variables | WHOLE_CASE)):
            rust_us = per_call_us(lambda r=rust, c=context: r.execute(c))
            cpp_us = per_call_us(lambda e=cpp, c=context: e.eval(data=c).value())
            print(f"{name:<10} {label:<12} {rust_us:>33.2f} µs {cpp_us:>21.2f} µs")
    print("\nnull handling (an optional field not yet set):")
    print("  rust:", cel.compile('assignee == "x"').execute({"assignee": None}))
    optional = cel_cpp.NewEnv(variables={"assignee": cel_cpp.Type.STRING})
    print("  C++ :", optional.compile('assignee == "x"').eval(data={"assignee": None}).value())


if __name__ == "__main__":
    main()
