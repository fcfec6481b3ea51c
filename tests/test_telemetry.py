"""Telemetry: OpenTelemetry spans around the engine's work, Prometheus metrics over HTTP.

Spans are checked with the OpenTelemetry SDK's in-memory exporter; metrics are scraped from a
real localhost port served by a running :class:`Runner`, and parsed with prometheus-client's
own parser. Without the OpenTelemetry API, tracing is a no-op (checked in a fresh interpreter
where the import fails).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client.parser import text_string_to_metric_families

from support.workflows import ROOT
from svcflow.clock import ManualClock
from svcflow.engine.metrics import serve_metrics
from svcflow.engine.runner import Runner
from svcflow.errors import MessageRejected, SvcflowError, UnknownTrigger
from svcflow.testing import EngineFactory

WORKFLOWS = ROOT / "workflows"
DIRECTORY = {
    "customer": {"address": "li@example.com", "channel": "email"},
    "team_lead": {"address": "lead@example.com", "channel": "email"},
}
EMAIL = b"""\
From: Li Wei <li@example.com>
To: support@shop.example
Subject: My parcel is a week late
Message-ID: <first@example.com>
Date: Mon, 02 Mar 2026 08:55:00 +0000

Where is it?
"""
_EXPORTER = InMemorySpanExporter()


@pytest.fixture(scope="module", autouse=True)
def _tracer_provider() -> None:
    """One SDK provider for the process (OpenTelemetry allows setting it once)."""
    current = trace.get_tracer_provider()
    if not isinstance(current, TracerProvider):
        current = TracerProvider()
        trace.set_tracer_provider(current)
    current.add_span_processor(SimpleSpanProcessor(_EXPORTER))


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _EXPORTER.clear()
    yield _EXPORTER
    _EXPORTER.clear()


def _named(exporter: InMemorySpanExporter, name: str) -> list[ReadableSpan]:
    return [s for s in exporter.get_finished_spans() if s.name == name]


def test_start_fire_advance_and_dispatch_are_spans_with_their_case(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, spans: InMemorySpanExporter
) -> None:
    engine = svcflow_engine(WORKFLOWS, directory=DIRECTORY)
    case = engine.start("complaint", {"customer": "Li Wei", "channel": "app"})
    engine.fire(case.id, "acknowledge", actor="agent-7")
    svcflow_clock.advance("30h")
    engine.advance()
    engine.dispatch()
    [started] = _named(spans, "svcflow.start")
    assert dict(started.attributes or {}) == {
        "svcflow.workflow": "complaint",
        "svcflow.case": case.id,
    }
    [fired] = _named(spans, "svcflow.fire")
    assert dict(fired.attributes or {}) == {
        "svcflow.case": case.id,
        "svcflow.trigger": "acknowledge",
        "svcflow.workflow": "complaint",
        "svcflow.state": "acknowledged",
    }
    [advanced] = _named(spans, "svcflow.advance")
    assert (advanced.attributes or {})["svcflow.timers_fired"] >= 2  # warning and breach
    [dispatched] = _named(spans, "svcflow.dispatch")
    assert {"svcflow.delivered", "svcflow.retrying", "svcflow.dead"} <= set(
        dispatched.attributes or {}
    )
    assert started.instrumentation_scope is not None
    assert started.instrumentation_scope.name == "svcflow"


def test_a_refused_event_is_an_error_span(
    svcflow_engine: EngineFactory, spans: InMemorySpanExporter
) -> None:
    engine = svcflow_engine(WORKFLOWS, directory=DIRECTORY)
    case = engine.start("complaint", {"customer": "Li Wei", "channel": "app"})
    with pytest.raises(UnknownTrigger):
        engine.fire(case.id, "teleport")
    [refused] = _named(spans, "svcflow.fire")
    assert refused.status.status_code is StatusCode.ERROR
    assert [event.name for event in refused.events] == ["exception"]
    assert engine.get(case.id).state == "received"  # nothing written


def test_ingest_is_a_span_with_the_channel_and_outcome(
    svcflow_engine: EngineFactory, spans: InMemorySpanExporter
) -> None:
    engine = svcflow_engine(WORKFLOWS, directory=DIRECTORY)
    chat = {"conversation_id": "c-1", "message_id": "m-1", "from": "u-1", "text": "Late parcel"}
    taken = engine.ingest("chat", chat)
    [ingested] = _named(spans, "svcflow.ingest")
    attributes = dict(ingested.attributes or {})
    assert attributes["svcflow.channel"] == "chat"
    assert attributes["svcflow.case"] == taken.case.id
    assert attributes["svcflow.outcome"] == "started"


def test_without_the_opentelemetry_api_spans_are_a_no_op() -> None:
    code = (
        "import sys; sys.modules['opentelemetry'] = None\n"
        "from svcflow.tracing import span\n"
        "with span('fire', case='C-1') as current:\n"
        "    current.set('state', 'x')\n"
        "print('no-op')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "no-op\n", "")


def test_recording_says_whether_spans_are_recorded() -> None:
    code = (
        "from opentelemetry import trace\n"
        "from opentelemetry.sdk.trace import TracerProvider\n"
        "from svcflow.tracing import recording\n"
        "before = recording()\n"
        "trace.set_tracer_provider(TracerProvider())\n"
        "print(before, recording())\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert (done.returncode, done.stdout, done.stderr) == (0, "False True\n", "")


def _scrape(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        family.name: [(sample.labels, sample.value) for sample in family.samples]
        for family in text_string_to_metric_families(text)
    }


def test_a_running_runner_serves_prometheus_metrics_on_a_local_port(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    engine = svcflow_engine(WORKFLOWS, store=f"sqlite:///{tmp_path / 'cases.db'}")
    engine.start("complaint", {"customer": "Li Wei", "channel": "app"})  # no directory: dead
    svcflow_clock.advance("30h")
    runner = Runner(engine, every=3600, dispatch=False, metrics_port=0)
    with runner:
        assert runner.metrics is not None
        url = runner.metrics.url
        assert url.startswith("http://127.0.0.1:")
        scraped = _scrape(url)
        kinds = {labels["kind"]: value for labels, value in scraped["svcflow_events"]}
        assert kinds["started"] == 1.0  # the runner's round may already have fired timers
        runner.stop()  # the first round has run; stopping closes the endpoint
        with pytest.raises(OSError):
            _scrape(url)
    assert runner.metrics is None


def test_the_metrics_count_events_breaches_lag_and_queues(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, tmp_path: Path
) -> None:
    engine = svcflow_engine(
        WORKFLOWS, store=f"sqlite:///{tmp_path / 'cases.db'}", directory=DIRECTORY
    )
    engine.start("complaint", {"customer": "Li Wei", "channel": "app"})
    svcflow_clock.advance("20m")
    server = serve_metrics(engine, port=0)
    try:
        before = _scrape(server.url)
        # the oldest due timer is the first-response warning: due at 10m, now 20m
        assert before["svcflow_timer_lag_seconds"] == [({}, 600.0)]
        engine.advance()
        with pytest.raises(MessageRejected):
            engine.ingest("emial", EMAIL)
        after = _scrape(server.url)
    finally:
        server.close()
    events = {labels["kind"]: value for labels, value in after["svcflow_events"]}
    assert events["started"] == 1 and events["sla"] >= 1
    assert after["svcflow_sla_breaches"] == [
        ({"workflow": "complaint", "metric": "first_response"}, 1.0)
    ]
    assert after["svcflow_timer_lag_seconds"] == [({}, 0.0)]
    [(_, depth)] = after["svcflow_outbox_depth"]
    assert depth == len(engine.outbox(status="pending")) > 0
    dead = {labels["table"]: value for labels, value in after["svcflow_dead_rows"]}
    assert dead == {"outbox": len(engine.outbox(status="dead")), "inbound": 1.0}


def test_a_taken_port_is_a_clear_error(svcflow_engine: EngineFactory) -> None:
    engine = svcflow_engine(WORKFLOWS, directory=DIRECTORY)
    server = serve_metrics(engine, port=0)
    try:
        with pytest.raises(SvcflowError, match=rf"cannot serve metrics on 127.0.0.1:{server.port}"):
            serve_metrics(engine, port=server.port)
    finally:
        server.close()


def test_the_operations_page_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    [example] = re.findall(r"^```python\n(.*?)^```$", text, re.DOTALL | re.MULTILINE)
    monkeypatch.chdir(tmp_path)
    shutil.copytree(WORKFLOWS, tmp_path / "workflows")
    exec(compile(example, "docs/operations.md", "exec"), {})
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/metrics\n", capsys.readouterr().out)
