"""Running the app under uvicorn: one process, or several worker processes, and a worker.

One process (``--workers 1``, the default) builds one engine and serves it. With ``--workers
N`` uvicorn starts N processes, each building its own engine from the same options (handed to
them in the ``SVCFLOW_SERVE`` environment variable, as JSON) on the same store: SQLite in WAL
mode serialises their writes on the file, PostgreSQL takes them in parallel. ``memory://``
cannot be shared between processes and is refused for more than one.

``--with-worker`` runs a :class:`~svcflow.engine.worker.Worker` (due timers, the outbox) in a
thread of the serving (or supervising) process, for a small deployment; on many machines run
``svcflow worker`` processes instead. The worker finishes its round when the server stops.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

import uvicorn
from fastapi import FastAPI

from svcflow.engine import Engine
from svcflow.engine.worker import Worker
from svcflow.errors import SvcflowError
from svcflow.serve.app import create_app
from svcflow.serve.settings import ServeSettings
from svcflow.serve.tokens import TokenFile

__all__ = [
    "ENVIRONMENT",
    "ServeOptions",
    "app_from_environment",
    "serve",
    "signals_end_uvicorn_only",
    "worker_beside",
]

ENVIRONMENT = "SVCFLOW_SERVE"
"""The environment variable that hands the options to uvicorn's worker processes."""


@dataclass(frozen=True, slots=True)
class ServeOptions:
    """What ``svcflow serve`` was told."""

    store: str
    workflows: str
    tokens: str
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    with_worker: bool = False
    max_body_bytes: int = 1024 * 1024
    max_message_bytes: int = 16 * 1024 * 1024
    token_rate: float = 100.0
    address_rate: float = 200.0

    def app(self, engine: Engine) -> FastAPI:
        settings = ServeSettings(
            max_body_bytes=self.max_body_bytes,
            max_message_bytes=self.max_message_bytes,
            token_rate=self.token_rate,
            address_rate=self.address_rate,
        )
        return create_app(engine, tokens=TokenFile(self.tokens), settings=settings)

    def engine(self) -> Engine:
        return Engine.from_directory(self.workflows, store=self.store)


def serve(options: ServeOptions) -> None:
    """Serve until SIGTERM or SIGINT (uvicorn handles both), then stop the worker, if any."""
    if options.workers < 1:
        raise SvcflowError(f"--workers must be 1 or more, not {options.workers}")
    if options.workers > 1 and options.store.startswith("memory:"):
        raise SvcflowError(
            "a memory:// store cannot be shared by several worker processes; use --workers 1, "
            "or a sqlite:/// or postgresql:// store"
        )
    if options.workers == 1:
        with options.engine() as engine, _worker(options, engine), signals_end_uvicorn_only():
            app = options.app(engine)
            uvicorn.run(app, host=options.host, port=options.port, server_header=False)
        return
    os.environ[ENVIRONMENT] = json.dumps(asdict(options))
    with _worker(options), signals_end_uvicorn_only():
        uvicorn.run(
            f"{__name__}:app_from_environment",
            factory=True,
            host=options.host,
            port=options.port,
            workers=options.workers,
            server_header=False,
        )


def app_from_environment() -> FastAPI:
    """The app of one of uvicorn's worker processes, from the options in ``SVCFLOW_SERVE``."""
    options = ServeOptions(**json.loads(os.environ[ENVIRONMENT]))
    engine = options.engine()
    atexit.register(engine.close)
    return options.app(engine)


@contextmanager
def signals_end_uvicorn_only() -> Iterator[None]:
    """uvicorn stops on SIGTERM or SIGINT, then raises the signal again for the handler it
    found; with this one in place that ends nothing more, so the worker finishes its round and
    the engine closes before the process exits (with 0)."""
    previous = {sig: signal.signal(sig, _ignored) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _ignored(signum: int, frame: object) -> None:
    """A signal that arrives when uvicorn is not listening for it: nothing to do."""


@contextmanager
def _worker(options: ServeOptions, engine: Engine | None = None) -> Iterator[None]:
    """A worker beside the server when asked for: on ``engine``, or on an engine of its own
    (the supervisor of several worker processes serves no engine)."""
    if not options.with_worker:
        yield
    elif engine is not None:
        with worker_beside(engine):
            yield
    else:
        with options.engine() as own, worker_beside(own):
            yield


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
