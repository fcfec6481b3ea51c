"""What the web console's pages cost: the SLA board and a case page, served by uvicorn on
localhost and fetched with httpx, on a SQLite file holding N open complaints (the shipped
workflow, every one with its first response and resolution clocks running, so every case is
read for the board). Run: ``python benches/bench_console.py``; it prints the median and the
slowest of 20 fetches per page and size.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.routing import Mount

from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.serve.console import Agent, ConsoleSettings, create_console

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support.serving import running

SIZES = (100, 1_000)
FETCHES = 20
TOKEN = "bench-token-0123456789"


def timed(client: httpx.Client, path: str) -> tuple[float, float]:
    """Median and slowest milliseconds of FETCHES GETs of ``path``."""
    spent = []
    for _ in range(FETCHES):
        began = time.perf_counter()
        answer = client.get(path)
        spent.append((time.perf_counter() - began) * 1000)
        assert answer.status_code == 200, answer.text[:200]
    return statistics.median(spent), max(spent)


def measure(size: int, folder: Path) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    agents = {TOKEN: Agent("bench", frozenset({"read", "write"}))}
    store = f"sqlite:///{folder / f'open-{size}.db'}"
    with Engine.from_directory(shipped_workflows(), store=store, clock=clock) as engine:
        ids = [engine.start("complaint", {"customer": f"c{n}"}).id for n in range(size)]
        clock.advance("10m")  # every first response now has 5 minutes left: all on the board
        console = create_console(engine, agents.get, ConsoleSettings())
        app = Starlette(routes=[Mount("/console", app=console)])
        with running(app) as url, httpx.Client(base_url=url) as client:
            client.post("/console/login", data={"token": TOKEN})
            board = timed(client, "/console/")
            case = timed(client, f"/console/cases/{ids[size // 2]}")
    print(f"{size:>6} open complaints   board {board[0]:8.1f} ms median, {board[1]:8.1f} ms max")
    print(f"{'':>6}                    case  {case[0]:8.1f} ms median, {case[1]:8.1f} ms max")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="svcflow-bench-console-") as folder:
        for size in SIZES:
            measure(size, Path(folder))


if __name__ == "__main__":
    main()
