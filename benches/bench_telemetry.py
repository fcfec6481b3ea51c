"""What telemetry costs: events per second with tracing off, on without an SDK, and recorded.

The 8-event complaint life of ``bench_events.py`` (``tests/fixtures/complaint_v1/``), case after
case on the ``memory://`` store, in three set-ups:

  (a) no OpenTelemetry API: ``svcflow.tracing`` falls back to its no-op (forced here);
  (b) the API without an SDK: OpenTelemetry's own no-op tracer (what a host that installs
      ``svcflow[telemetry]`` but configures nothing gets);
  (c) an SDK tracer provider with a simple processor into an in-memory exporter: every span
      recorded.

Then the cost of one Prometheus scrape (``engine_registry`` + the text format) on a SQLite store
holding the cases of (a) with their outbox rows. Best of ``--repeat`` runs; ``time.perf_counter``.

Run: ``python benches/bench_telemetry.py [--cases 300] [--repeat 3]`` (needs ``.[telemetry]``
and ``opentelemetry-sdk``).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest

import svcflow.tracing
from svcflow import Engine, ManualClock
from svcflow.engine.metrics import engine_registry

WORKFLOW = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "complaint_v1"
STEPS: list[tuple[str, dict[str, Any] | None]] = [
    ("acknowledge", None),
    ("investigate", None),
    ("ask_customer", None),
    ("customer_replied", None),
    ("resolve", {"resolution": "refund"}),
    ("follow_up_due", None),
    ("callback_done", {"satisfied": True}),
]


def run(cases: int, store: str = "memory://") -> tuple[float, Engine]:
    engine = Engine.from_directory(
        WORKFLOW, store=store, clock=ManualClock("2026-03-02T09:00:00+00:00"), load_plugins=False
    )
    began = time.perf_counter()
    for number in range(cases):
        case = engine.start("complaint", {"customer": f"C-{number}", "channel": "email"})
        for trigger, payload in STEPS:
            engine.fire(case.id, trigger, payload)
    return cases * 8 / (time.perf_counter() - began), engine


def best(repeat: int, measure: Callable[[], float]) -> float:
    return max(measure() for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    def events(cases: int = args.cases) -> float:
        rate, engine = run(cases)
        engine.close()
        return rate

    api = svcflow.tracing._trace
    svcflow.tracing._trace = None
    events(20)
    without = best(args.repeat, events)
    svcflow.tracing._trace = api
    no_sdk = best(args.repeat, events)
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    recorded = best(args.repeat, events)
    print(f"events/s, no OpenTelemetry API (no-op):  {without:,.0f}")
    print(f"events/s, API without an SDK:           {no_sdk:,.0f}")
    print(f"events/s, SDK recording every span:      {recorded:,.0f}")
    with tempfile.TemporaryDirectory() as folder:
        _, engine = run(args.cases, f"sqlite:///{folder}/cases.db")
        registry = engine_registry(engine)
        began = time.perf_counter()
        text = generate_latest(registry)
        scrape = time.perf_counter() - began
        engine.close()
    print(f"one scrape, {args.cases} cases on SQLite: {scrape * 1000:.1f} ms, {len(text)} bytes")


if __name__ == "__main__":
    main()
