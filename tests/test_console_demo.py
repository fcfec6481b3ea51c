"""``svcflow serve --demo`` as a person runs it: the command in its own process runs the demo
traffic into a new store, prints where the console is and the token to sign in with, and
serves the console with its four live complaints at risk; advancing the clock from the console
fires their breaches. SIGTERM stops it."""

from __future__ import annotations

import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from svcflow.cli import main
from svcflow.serve.console.auth import csrf_token
from svcflow.serve.console.demo import LIVE_COMPLAINTS


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's output lines as they come (read by a thread, so a wait can time out)."""
    found: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            found.put(line)

    threading.Thread(target=read, daemon=True).start()
    return found


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The demo console's URL and token, read from what the command prints."""
    process = subprocess.Popen(
        [sys.executable, "-m", "svcflow", "serve", "--demo", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    printed = lines_of(process)
    shown = ""
    try:
        while "sign in with the token" not in shown:
            shown += printed.get(timeout=300)
        url = re.search(r"console: (http://\S+/console/)", shown)
        token = re.search(r"sign in with the token (\S+)", shown)
        assert url and token, shown
        assert "4 complaints open" in shown
        yield url.group(1), token.group(1)
    finally:
        process.terminate()
        # uvicorn stops gracefully; the command then closes the engine and exits with 0
        assert process.wait(timeout=60) == 0
        assert process.stdout is not None
        process.stdout.close()


def test_serve_demo_shows_live_complaints_and_advances_its_clock(demo: tuple[str, str]) -> None:
    url, token = demo
    with httpx.Client(base_url=url) as client:
        assert client.post("login", data={"token": token}).status_code == 303
        board = client.get("").text
        assert board.count('data-metric="first_response" data-status="at_risk"') == len(
            LIVE_COMPLAINTS
        )
        for queue in ("vip_desk", "logistics", "social_care", "after_sales"):
            assert f'data-queue="{queue}"' in board  # the complaint's routing table's queues
        moved = client.post("clock/advance", data={"csrf": csrf_token(token), "by": "20m"})
        assert moved.status_code == 303
        board = client.get("").text
        assert board.count('data-metric="first_response" data-status="breached"') == len(
            LIVE_COMPLAINTS
        )
        assert "Customer satisfaction" in client.get("report.html").text


def test_serve_without_a_store_names_both_ways(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve"]) == 1
    assert capsys.readouterr().err == (
        "error: svcflow serve needs --store URL (or --demo for the demo console)\n"
    )
