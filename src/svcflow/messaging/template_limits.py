"""Limits on what one notification template may cost: a sandbox that counts.

Jinja's sandbox keeps templates away from Python's internals, but not from unbounded work:
``range(10**6)`` nested loops, ``'x' * 10**9`` or ``lipsum(10**6)`` run for seconds or
allocate gigabytes. :class:`LimitedSandbox` intercepts ``*`` and ``**`` (Jinja's
``intercepted_binops``) and refuses results above the limits, replaces ``range`` and
``lipsum`` with bounded versions, and :func:`collect` stops a render whose output grows past
``max_output`` characters or that runs past ``max_render_seconds`` (checked between output
chunks and on every ``range`` step, so a loop cannot run on). Every refusal is a
:class:`TemplateLimitExceeded` naming the limit; the notifier turns it into a dead outbox row.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum

__all__ = ["DEFAULT_TEMPLATE_LIMITS", "LimitedSandbox", "TemplateLimitExceeded", "TemplateLimits"]


@dataclass(frozen=True, slots=True)
class TemplateLimits:
    """What one render of a notification template may cost (``Engine(template_limits=...)``).

    ``max_range``: items of one ``range(...)``; ``max_output``: characters a render (and any
    string or list a ``*`` makes) may have; ``max_number_bits``: the size of a number ``*`` or
    ``**`` may make; ``max_lipsum``: paragraphs ``lipsum`` may make; ``max_render_seconds``:
    the CPU time one render may take (the rendering thread's, so a loaded machine or another
    thread does not make a healthy template fail)."""

    max_range: int = 10_000
    max_output: int = 100_000
    max_number_bits: int = 4_096
    max_lipsum: int = 20
    max_render_seconds: float = 2.0


DEFAULT_TEMPLATE_LIMITS = TemplateLimits()


class TemplateLimitExceeded(Exception):
    """A render went over one of the :class:`TemplateLimits`."""


_DEADLINE: ContextVar[float] = ContextVar("svcflow_template_deadline", default=math.inf)


class LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with the :class:`TemplateLimits` enforced."""

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, limits: TemplateLimits, **options: Any) -> None:
        super().__init__(**options)
        self.limits = limits
        self.globals["range"] = self._range
        self.globals["lipsum"] = self._lipsum

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            self._check_product(left, right)
            return left * right
        self._check_power(left, right)
        return left**right

    def _check_product(self, left: Any, right: Any) -> None:
        for items, count in ((left, right), (right, left)):
            if isinstance(items, str | list | tuple) and isinstance(count, int):
                size = len(items) * count
                if size > self.limits.max_output:
                    raise TemplateLimitExceeded(
                        f"a '*' would make {size:,} items, above max_output "
                        f"({self.limits.max_output:,})"
                    )
        if isinstance(left, int) and isinstance(right, int):
            bits = abs(left).bit_length() + abs(right).bit_length()
            self._check_bits(bits, "'*'")

    def _check_power(self, left: Any, right: Any) -> None:
        if isinstance(left, int | float) and isinstance(right, int | float):
            base = max(abs(float(left)), 2.0)
            bits = abs(float(right)) * math.log2(base)
            self._check_bits(bits, "'**'")

    def _check_bits(self, bits: float, operator: str) -> None:
        if bits > self.limits.max_number_bits:
            raise TemplateLimitExceeded(
                f"a {operator} would make a number of about {int(bits):,} bits, above "
                f"max_number_bits ({self.limits.max_number_bits:,})"
            )

    def _range(self, *arguments: int) -> Iterator[int]:
        steps = range(*arguments)
        if len(steps) > self.limits.max_range:
            written = ", ".join(map(str, arguments))
            raise TemplateLimitExceeded(
                f"range({written}) has {len(steps):,} items, above max_range "
                f"({self.limits.max_range:,})"
            )
        return _timed(steps)

    def _lipsum(self, n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        if n > self.limits.max_lipsum or max > 1_000:
            raise TemplateLimitExceeded(
                f"lipsum({n}) is above max_lipsum ({self.limits.max_lipsum}) paragraphs"
            )
        return str(generate_lorem_ipsum(n, html, min, max))


def _timed(items: Iterable[int]) -> Iterator[int]:
    for item in items:
        _check_deadline()
        yield item


def _check_deadline() -> None:
    if time.thread_time() > _DEADLINE.get():
        raise TemplateLimitExceeded("the render ran past max_render_seconds")


def collect(chunks: Iterable[str], limits: TemplateLimits) -> str:
    """Join a render's output chunks, within ``max_output`` and ``max_render_seconds``."""
    token = _DEADLINE.set(time.thread_time() + limits.max_render_seconds)
    try:
        parts: list[str] = []
        size = 0
        for chunk in chunks:
            size += len(chunk)
            if size > limits.max_output:
                raise TemplateLimitExceeded(
                    f"the output is over max_output ({limits.max_output:,} characters)"
                )
            _check_deadline()
            parts.append(chunk)
        return "".join(parts)
    finally:
        _DEADLINE.reset(token)
