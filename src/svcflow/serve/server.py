"""Running the app under uvicorn, optionally with a worker thread beside it.

``--with-worker`` runs a :class:`~svcflow.engine.worker.Worker` (due timers, the outbox) in a
thread of the server process, for a single-process deployment; on many machines run
``svcflow worker`` processes instead. The worker stops after its round when the server stops.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from svcflow.engine import Engine
from svcflow.engine.worker import Worker
from svcflow.serve.app import create_app
from svcflow.serve.settings import ServeSettings
from svcflow.serve.tokens import TokenStore

__all__ = ["run_server", "worker_beside"]


def run_server(
    engine: Engine,
    tokens: TokenStore,
    settings: ServeSettings,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    with_worker: bool = False,
) -> None:
    """Serve ``engine`` on ``host:port`` until SIGTERM or SIGINT (uvicorn handles both)."""
    app = create_app(engine, tokens=tokens, settings=settings)
    config = uvicorn.Config(app, host=host, port=port, log_level="info", server_header=False)
    server = uvicorn.Server(config)
    if not with_worker:
        server.run()
        return
    with worker_beside(engine):
        server.run()


@contextmanager
def worker_beside(engine: Engine) -> Iterator[Worker]:
    """A worker running in a thread while the block runs; stopped and joined after it."""
    worker = Worker(engine)
    thread = threading.Thread(target=worker.run, name="svcflow-worker", daemon=True)
    thread.start()
    try:
        yield worker
    finally:
        worker.stop()
        thread.join()
