"""Prometheus metrics of an engine, served over HTTP for a host's monitoring.

``pip install 'svcflow[telemetry]'`` brings ``prometheus-client``. :func:`serve_metrics` (what
``Runner(metrics_port=...)`` calls, and what a long-running worker process calls) serves, on
``http://HOST:PORT/metrics``:

==========================================  =====================================================
``svcflow_events_total{workflow,kind}``     history entries committed by this process, by kind
                                            (``started``, ``transition``, ``timer``, ``sla`` ...)
``svcflow_sla_warnings_total{workflow,metric}``  SLA warnings that fired in this process
``svcflow_sla_breaches_total{workflow,metric}``  SLA breaches that fired in this process
``svcflow_timer_lag_seconds``               how long the earliest due timer has waited (0: none
                                            due); a growing value means no runner keeps up
``svcflow_outbox_depth``                    outbox rows waiting to be delivered (whole store)
``svcflow_dead_rows{table}``                dead outbox rows (``outbox``) and open dead letters
                                            of inbound messages (``inbound``), whole store
==========================================  =====================================================

Counters count what this process committed since it started (Prometheus sums processes and
handles restarts); the gauges read the store at each scrape, so every process reports the same
store-wide values. A scrape costs a few store reads.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from svcflow.engine.facade import Engine
from svcflow.errors import SvcflowError

__all__ = ["MetricsServer", "engine_registry", "serve_metrics"]

try:
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
except ImportError:  # the optional extra is not installed
    CollectorRegistry = None  # type: ignore[assignment,misc]


class _EngineCollector:
    """Reads the engine's counters and the store's queues at every scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        counters = self.engine.counters
        yield _counter(
            "svcflow_events", "Committed history entries", ("workflow", "kind"), counters.events()
        )
        yield _counter(
            "svcflow_sla_warnings",
            "SLA warnings fired",
            ("workflow", "metric"),
            counters.sla_warnings(),
        )
        yield _counter(
            "svcflow_sla_breaches",
            "SLA breaches fired",
            ("workflow", "metric"),
            counters.sla_breaches(),
        )
        store, now = self.engine.store, self.engine.clock.now()
        due = store.due_timers(now, 1)
        lag = (now - due[0].due_at).total_seconds() if due else 0.0
        yield GaugeMetricFamily(
            "svcflow_timer_lag_seconds", "How long the earliest due timer has waited", value=lag
        )
        yield GaugeMetricFamily(
            "svcflow_outbox_depth",
            "Outbox rows waiting to be delivered",
            value=len(store.outbox(status="pending")),
        )
        dead = GaugeMetricFamily(
            "svcflow_dead_rows", "Dead outbox rows and open inbound dead letters", labels=["table"]
        )
        dead.add_metric(["outbox"], len(store.outbox(status="dead")))
        dead.add_metric(["inbound"], len(store.dead_letters("open")))
        yield dead


def _counter(
    name: str, documentation: str, labels: tuple[str, str], counts: Mapping[tuple[str, str], int]
) -> Metric:
    family = CounterMetricFamily(name, documentation, labels=list(labels))
    for key, count in sorted(counts.items()):
        family.add_metric(list(key), count)
    return family


def engine_registry(engine: Engine) -> CollectorRegistry:
    """A Prometheus registry holding ``engine``'s metrics (to serve with your own exporter)."""
    if CollectorRegistry is None:
        raise SvcflowError("metrics need prometheus-client: pip install 'svcflow[telemetry]'")
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_EngineCollector(engine))
    return registry


@dataclass
class MetricsServer:
    """A running metrics endpoint; ``close()`` stops it."""

    host: str
    port: int
    _server: WSGIServer
    _thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()


def serve_metrics(engine: Engine, port: int = 9464, host: str = "127.0.0.1") -> MetricsServer:
    """Serve ``engine``'s metrics on ``http://host:port/metrics`` from a daemon thread (port 0
    picks a free port; the returned server says which). Listens on localhost unless told."""
    registry = engine_registry(engine)
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as error:
        raise SvcflowError(
            f"cannot serve metrics on {host}:{port}: {error.strerror or error}; "
            "choose a free port (0 picks one)"
        ) from None
    return MetricsServer(host, server.server_port, server, thread)
