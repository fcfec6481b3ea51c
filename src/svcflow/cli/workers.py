"""worker, status, migrate: the commands that run a store's workers and look after its schema.

``svcflow worker`` runs :class:`~svcflow.engine.worker.Worker` until SIGTERM or SIGINT;
``svcflow status`` prints :meth:`Store.workload <svcflow.store.base.Store.workload>`;
``svcflow migrate`` opens the store, which migrates it.
"""

from __future__ import annotations

import argparse
import json
import signal
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

if TYPE_CHECKING:
    from svcflow.store.base import Workload

__all__ = ["run_migrate", "run_status", "run_worker", "shown"]

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_worker(args: argparse.Namespace) -> int:
    """Fire due timers and deliver the outbox until SIGTERM or SIGINT, then finish the round."""
    from svcflow.engine import Engine
    from svcflow.engine.worker import Worker

    options = {k: v for k, v in (("poll", args.poll), ("batch", args.batch)) if v is not None}
    engine = Engine.from_directory(args.workflows, store=args.store)
    try:
        worker = Worker(engine, **options)
        stop = {sig: signal.signal(sig, lambda *_: worker.stop()) for sig in _STOP_SIGNALS}
        print(
            f"svcflow worker {engine.runner_id} on {shown(args.store)}: firing timers and "
            f"delivering every {worker.poll:g} s at most; SIGTERM stops it after this round",
            flush=True,
        )
        try:
            rounds = worker.run()
        finally:
            for sig, previous in stop.items():
                signal.signal(sig, previous)
        print(f"svcflow worker {engine.runner_id} stopped after {_count(rounds, 'round')}")
        return 0
    finally:
        engine.close()


def run_status(args: argparse.Namespace) -> int:
    """What waits in the store now: due-timer lag, outbox depth, failed timers, dead rows."""
    from svcflow.clock import SystemClock
    from svcflow.store.registry import open_store

    store = open_store(args.store)
    try:
        now = SystemClock().now()
        work = store.workload(now)
    finally:
        store.close()
    if args.json:
        print(json.dumps(_status_json(work, now), indent=2))
        return 0
    timer_lag = "" if work.oldest_due_timer is None else f", {_late(now, work.oldest_due_timer)}"
    out_lag = (
        "" if work.oldest_due_delivery is None else f", {_late(now, work.oldest_due_delivery)}"
    )
    print(f"store            {shown(args.store)} at {now.isoformat(timespec='seconds')}")
    print(f"due timers       {work.due_timers}{timer_lag}")
    print(f"failed timers    {work.failed_timers}")
    print(f"outbox           {work.outbox_pending} pending, {work.outbox_due} due{out_lag}")
    print(f"dead deliveries  {work.dead_deliveries}")
    print(f"dead letters     {work.open_dead_letters} open")
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    """Open the store, which brings its schema up to date, and say which version it is at."""
    from svcflow.store.registry import open_store

    store = open_store(args.store)
    try:
        version = getattr(store, "schema_version", None)
        at = f" at schema version {version()}" if callable(version) else ""
        print(f"{shown(args.store)} is up to date{at}")
        return 0
    finally:
        store.close()


def shown(url: str) -> str:
    """``url`` with any password replaced by ``***``, fit to print."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _late(now: datetime, due: datetime) -> str:
    return (
        f"oldest due {due.isoformat(timespec='seconds')} ({(now - due).total_seconds():.0f} s ago)"
    )


def _status_json(work: Workload, now: datetime) -> dict[str, object]:
    found: dict[str, object] = {"at": now.isoformat()}
    for name, value in work._asdict().items():
        found[name] = value.isoformat() if isinstance(value, datetime) else value
    for name, due in (
        ("timer_lag_seconds", work.oldest_due_timer),
        ("outbox_lag_seconds", work.oldest_due_delivery),
    ):
        found[name] = 0.0 if due is None else (now - due).total_seconds()
    return found


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
