"""OpenTelemetry spans around the engine's units of work, and nothing when it isn't installed.

``pip install 'svcflow[telemetry]'`` brings the OpenTelemetry API; the host configures an SDK
(a tracer provider and an exporter) as for any other library, and svcflow's spans appear under
the instrumentation scope ``svcflow``: ``svcflow.start``, ``svcflow.fire``, ``svcflow.advance``,
``svcflow.dispatch`` and ``svcflow.ingest``, with the case, workflow, trigger or channel as
attributes (never case data: that may hold a customer's words). An exception leaving a span is
recorded on it and sets its status to error. Without the API, :func:`span` is a no-op that costs
one function call; with the API but no SDK configured (the tracer provider is still the API's
proxy or its no-op), the same: a span nobody records is not worth building attributes for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

__all__ = ["TRACER_NAME", "Span", "recording", "span"]

TRACER_NAME = "svcflow"

try:
    from opentelemetry import trace as _trace
except ImportError:  # the optional extra is not installed
    _trace = None  # type: ignore[assignment]

_PROVIDER_FROM_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ


class Span:
    """What ``with span(...) as current`` gives: attributes set after the work is done (how
    many timers fired, what a message became); a no-op without OpenTelemetry."""

    def __init__(self, otel: Any = None) -> None:
        self._otel = otel

    def set(self, name: str, value: str | int | bool) -> None:
        if self._otel is not None:
            self._otel.set_attribute(f"svcflow.{name}", value)


_NOTHING = Span()
_QUIET = nullcontext(_NOTHING)  # reusable and re-entrant: one for every span that records nothing


def _recording() -> bool:
    """Whether a host has configured a tracer provider (an SDK) since the API was imported.

    Asked on every event: while the API's global provider is unset and the environment named
    none when this module was imported, the answer is no without the API's own look-up (an
    ``os.environ`` miss, a raised and caught ``KeyError``: a few µs per event). Should the
    API ever keep its provider elsewhere, the public look-up answers."""
    if getattr(_trace, "_TRACER_PROVIDER", False) is None and not _PROVIDER_FROM_ENVIRONMENT:
        return False
    provider = _trace.get_tracer_provider()
    return not isinstance(provider, _trace.ProxyTracerProvider | _trace.NoOpTracerProvider)


@contextmanager
def _otel_span(name: str, attributes: dict[str, str | int | bool]) -> Iterator[Span]:
    tracer = _trace.get_tracer(TRACER_NAME)
    with tracer.start_as_current_span(
        name, attributes={f"svcflow.{key}": value for key, value in attributes.items()}
    ) as current:
        yield Span(current)


def recording() -> bool:
    """Whether spans are recorded now: a caller on the event path skips building a span's
    attributes when they are not."""
    if _trace is None:
        return False
    if getattr(_trace, "_TRACER_PROVIDER", False) is None and not _PROVIDER_FROM_ENVIRONMENT:
        return False  # (the first test of `_recording`, without its call: asked every event)
    return _recording()


def span(name: str, **attributes: str | int | bool | None) -> AbstractContextManager[Span]:
    """A span named ``svcflow.<name>`` with ``attributes`` (``None`` values are left out)."""
    if _trace is None or not _recording():
        return _QUIET
    given = {key: value for key, value in attributes.items() if value is not None}
    return _otel_span(f"svcflow.{name}", given)
