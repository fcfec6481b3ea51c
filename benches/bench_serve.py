"""``svcflow serve`` under a bounded load on localhost: requests/s and latency of ``fire``.

For each store (a SQLite file in WAL mode, and the test suite's throwaway PostgreSQL server)
and each number of uvicorn worker processes (1 and 4), the script starts ``svcflow serve`` as
a subprocess on a free port, starts ``--cases`` cases through the API, then fires ``remind``
(a transition that stays in its state, one committed event each) ``--requests`` times from
``--clients`` client threads, each on cases of its own (no conflicts), over keep-alive
connections. It prints requests per second over the whole run and the p50 and p99 latency a
client saw. Client and server share this machine's cores, so the figures are a floor.

Run under ``nice``: ``nice -n 19 python benches/bench_serve.py [--requests 2000]``.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from support.postgres import TemporaryCluster
from support.workflows import MINIMAL
from svcflow.serve import TokenFile


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def _server(store: str, workers: int, folder: Path) -> Iterator[tuple[str, str]]:
    """``svcflow serve`` on a free port until the block ends; yields its URL and a token."""
    (folder / "workflows").mkdir(exist_ok=True)
    (folder / "workflows" / "ticket.yaml").write_text(MINIMAL, encoding="utf-8")
    tokens = folder / "tokens.json"
    secret = TokenFile(tokens).create("bench", ["read", "write"]).secret
    port = _free_port()
    command = [sys.executable, "-m", "svcflow", "serve", "--store", store, "--workers",
               str(workers), "--workflows", str(folder / "workflows"), "--tokens", str(tokens),
               "--port", str(port), "--token-rate", "0", "--address-rate", "0"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, server)
        yield url, secret
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)


def _wait_until_up(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"svcflow serve exited with {server.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError("svcflow serve did not come up within 120 s")


def _client(url: str, secret: str, cases: list[str], requests: int, out: list[float]) -> None:
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        for n in range(requests):
            started = time.perf_counter()
            answer = client.post(f"/cases/{cases[n % len(cases)]}/triggers/remind", json={})
            out.append(time.perf_counter() - started)
            answer.raise_for_status()


def measure(url: str, secret: str, options: argparse.Namespace) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of firing ``remind`` through the API."""
    headers = {"Authorization": f"Bearer {secret}"}
    with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
        ids = [
            client.post("/cases", json={"workflow": "ticket", "data": {"customer": f"c{n}"}})
            .raise_for_status()
            .json()["id"]
            for n in range(options.cases)
        ]
    share = options.requests // options.clients
    latencies: list[list[float]] = [[] for _ in range(options.clients)]
    threads = [
        threading.Thread(
            target=_client, args=(url, secret, ids[k :: options.clients], share, latencies[k])
        )
        for k in range(options.clients)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for found in latencies for x in found)
    cuts = statistics.quantiles(every, n=100)
    return len(every) / elapsed, cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="fires per configuration")
    parser.add_argument("--clients", type=int, default=8, help="client threads")
    parser.add_argument("--cases", type=int, default=64, help="cases the fires are spread on")
    options = parser.parse_args()
    print(f"svcflow serve, fire 'remind': {options.requests} requests from {options.clients} "
          f"client threads over {options.cases} cases; {os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'store':<10} {'workers':>7} {'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8}")
    with TemporaryCluster() as cluster:
        for kind in ("sqlite", "postgres"):
            for workers in (1, 4):
                with tempfile.TemporaryDirectory() as temporary:
                    folder = Path(temporary)
                    store = (
                        f"sqlite:///{folder / 'cases.db'}"
                        if kind == "sqlite"
                        else cluster.create_database()
                    )
                    with _server(store, workers, folder) as (url, secret):
                        rate, p50, p99 = measure(url, secret, options)
                print(f"{kind:<10} {workers:>7} {rate:>11.0f} {p50:>8.1f} {p99:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
