"""A dispatcher SIGKILLed in the middle of a delivery loses no notification.

A real child process dispatches the outbox of a SQLite file or a PostgreSQL database to a real HTTP
server on localhost through the ``svcflow-webhook`` plugin. The server answers the first deliveries,
then holds one request open and tells the parent, which SIGKILLs the child right there: the request
went out, its outcome was never recorded. A new dispatcher on the same store, once the dead one's
lease has run out, delivers everything still queued. Every notification reaches the server at least
once; only the one in flight at the kill arrives twice, with the same idempotency key and a valid
signature, so the receiver can drop the repeat.
"""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from svcflow_webhook import verify

from svcflow import ManualClock

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from delivery_crash_worker import SECRET, engine_for  # noqa: E402

FLOW = """\
workflow: callback
version: 1
title: Callback request
data:
  customer: {type: string, required: true}
states:
  requested:
    initial: true
    on_enter:
      - notify: {template: callback_requested, to: team_lead}
  done: {final: true}
transitions:
  - {trigger: call_back, from: requested, to: done}
"""
CASES = 12
ANSWERED_BEFORE_THE_KILL = 4
NOW = "2026-03-02T09:00:00+00:00"
WAIT_SECONDS = 30.0


class Receiver:
    """The webhook receiver: records each request's idempotency key once its signature checks
    out; holds request number ``hold_at`` open until ``release`` is set."""

    def __init__(self, hold_at: int | None) -> None:
        self.keys: list[str] = []
        self.hold_at = hold_at
        self.held = queue.Queue[str]()
        self.release = threading.Event()
        self.lock = threading.Lock()


def serve(receiver: Receiver) -> tuple[ThreadingHTTPServer, threading.Thread]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            key = verify(SECRET, body, dict(self.headers.items()))
            assert json.loads(body)["key"] == key
            with receiver.lock:
                receiver.keys.append(key)
                number = len(receiver.keys)
            if number == receiver.hold_at:
                receiver.held.put(key)
                receiver.release.wait(WAIT_SECONDS)
                return  # the client is dead by now
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"id": f"rcv-{number}"}).encode())

        def log_message(self, format: str, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver(hold_at=ANSWERED_BEFORE_THE_KILL + 1)
    server, thread = serve(hook)
    yield hook, f"http://127.0.0.1:{server.server_address[1]}/hooks/svcflow"
    hook.release.set()
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture(params=["sqlite", "postgres"])
def shared_store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store two processes share: a SQLite file, or a PostgreSQL database."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_schema_url")
        return url
    return f"sqlite:///{tmp_path / 'cases.db'}"


@pytest.mark.slow
def test_sigkill_during_delivery_then_restart_delivers_every_notification(
    tmp_path: Path, shared_store: str, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    flow = tmp_path / "callback.yaml"
    flow.write_text(FLOW, encoding="utf-8")
    engine = engine_for(shared_store, str(flow), NOW, url)
    cases = [engine.start("callback", {"customer": f"c{n}"}) for n in range(CASES)]
    queued = {row.key for row in engine.outbox()}
    assert len(queued) == CASES
    engine.close()

    worker = subprocess.Popen(
        [sys.executable, str(HERE / "delivery_crash_worker.py"), shared_store, str(flow), NOW, url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert worker.stdout is not None and worker.stdout.readline() == "READY\n"
        in_flight = hook.held.get(timeout=WAIT_SECONDS)
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(WAIT_SECONDS) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        if worker.stdout is not None:
            worker.stdout.close()
    hook.release.set()

    restarted = engine_for(shared_store, str(flow), NOW, url)
    clock = restarted.clock
    assert isinstance(clock, ManualClock)
    rows = {row.key: row for row in restarted.outbox()}
    assert set(rows) == queued  # nothing lost
    delivered = {key for key, row in rows.items() if row.status == "delivered"}
    assert len(delivered) == ANSWERED_BEFORE_THE_KILL
    assert rows[in_flight].status == "pending" and rows[in_flight].attempts == 0
    assert restarted.dispatch().attempted == 0  # the dead dispatcher's lease still holds
    clock.advance(restarted.dispatcher.lease + timedelta(seconds=1))
    hook.hold_at = None
    report = restarted.dispatch()
    assert {entry.key for entry in report.delivered} == queued - delivered
    assert {row.status for row in restarted.outbox()} == {"delivered"}
    received = Counter(hook.keys)
    assert set(received) == queued
    assert {key for key, count in received.items() if count > 1} == {in_flight}
    assert received[in_flight] == 2
    assert all(restarted.get(case.id).revision == 1 for case in cases)  # cases untouched
    restarted.close()
