"""Run due timers and deliver the outbox in a host process: a thread that calls
:meth:`Engine.advance` and :meth:`Engine.dispatch` on a cadence.

Time for the timers themselves still comes from the engine's clock; the cadence is only how often
the runner looks. Several runners (threads or processes) may share one store: each claims the
due timers it fires with a lease, so none is fired twice, and a runner that is killed while it
holds claims loses nothing, because its leases run out and another runner takes them over.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta
from types import TracebackType

from svcflow.engine import Engine, TimerFiring
from svcflow.engine.metrics import MetricsServer, serve_metrics
from svcflow.privacy import masked_logger

__all__ = ["Runner"]

_LOG = masked_logger("svcflow.runner")


class Runner:
    """Calls ``engine.advance()`` (due timers) then ``engine.dispatch()`` (due outbox
    deliveries, unless ``dispatch=False``) every ``every`` (default one second) until stopped.

    ``tick()`` does one round now and is what tests and schedulers call directly. ``start()``
    runs rounds in a daemon thread; ``stop()`` (or leaving a ``with`` block) lets the current
    round finish and joins the thread. A timer whose firing raises is contained by the engine
    (retried, then parked as failed, see ``Engine.failed_timers``) and logged by it; an error
    of the round itself (a store that is unavailable) is logged and passed to ``on_error``, and
    the runner keeps going (the timers it held are retried when their leases run out).

    With ``metrics_port`` (needs ``svcflow[telemetry]``), ``start()`` also serves the engine's
    Prometheus metrics on ``http://metrics_host:metrics_port/metrics`` (port 0 picks a free
    one: see ``metrics.port``) until ``stop()`` (see :mod:`svcflow.engine.metrics`).
    """

    def __init__(
        self,
        engine: Engine,
        every: timedelta | float = 1.0,
        *,
        on_tick: Callable[[list[TimerFiring]], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        dispatch: bool = True,
        metrics_port: int | None = None,
        metrics_host: str = "127.0.0.1",
    ) -> None:
        self.engine = engine
        self.dispatch = dispatch
        self.interval = every.total_seconds() if isinstance(every, timedelta) else float(every)
        if self.interval <= 0:
            raise ValueError(f"a runner needs a positive interval, got {every!r}")
        self._on_tick = on_tick
        self._on_error = on_error
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.rounds = 0
        self._metrics_at = None if metrics_port is None else (metrics_host, metrics_port)
        self.metrics: MetricsServer | None = None

    def tick(self) -> list[TimerFiring]:
        """Fire every timer that is due now, then deliver what is due in the outbox; return
        the timers fired."""
        fired = self.engine.advance()
        if self.dispatch:
            self.engine.dispatch()
        self.rounds += 1
        if self._on_tick is not None:
            self._on_tick(fired)
        return fired

    def start(self) -> Runner:
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("this runner is already running")
        self._stopping.clear()
        if self._metrics_at is not None and self.metrics is None:
            host, port = self._metrics_at
            self.metrics = serve_metrics(self.engine, port, host)
        self._thread = threading.Thread(target=self._loop, name="svcflow-runner", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Ask the thread to stop after its current round and wait for it."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self.metrics is not None:
            self.metrics.close()
            self.metrics = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                self.tick()
            except Exception as error:  # a round must never kill the runner
                _LOG.exception("svcflow runner round failed")
                if self._on_error is not None:
                    self._on_error(error)
            self._stopping.wait(self.interval)

    def __enter__(self) -> Runner:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
