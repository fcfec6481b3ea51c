"""``svcflow serve`` as a user starts it: a real process on a free port, stopped by SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from support.workflows import MINIMAL
from svcflow.cli import main
from svcflow.serve import TokenFile


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _answer(url: str, server: subprocess.Popen[str], token: str) -> httpx.Response:
    """The first answer of ``url`` once the server listens (it takes a second to start)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            return httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
        except httpx.TransportError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # waiting for another process to listen, not for time to pass


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_svcflow_serve_answers_and_stops_on_sigterm(tmp_path: Path, workers: int) -> None:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "ticket.yaml").write_text(MINIMAL, encoding="utf-8")
    tokens = tmp_path / "tokens.json"
    token = TokenFile(tokens).create("ops", ["read"]).secret
    port = _free_port()
    command = [sys.executable, "-m", "svcflow", "serve", "--store",
               f"sqlite:///{tmp_path / 'cases.db'}", "--workflows", str(tmp_path / "flows"),
               "--tokens", str(tokens), "--port", str(port), "--workers", str(workers),
               "--with-worker"]  # fmt: skip
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        ready = _answer(f"http://127.0.0.1:{port}/ready", server, token)
        assert ready.status_code == 200, ready.text
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=60)
    assert server.returncode == 0, out
    assert out.splitlines()[0] == (
        f"svcflow serve on http://127.0.0.1:{port} for sqlite:///{tmp_path / 'cases.db'}"
        + (f", {workers} processes" if workers > 1 else "")
        + ", with a worker"
    )


def test_several_workers_cannot_share_a_memory_store(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = main(["serve", "--store", "memory://", "--workers", "2",
                   "--tokens", str(tmp_path / "t.json")])  # fmt: skip
    assert status == 1
    assert capsys.readouterr().err == (
        "error: a memory:// store cannot be shared by several worker processes; use "
        "--workers 1, or a sqlite:/// or postgresql:// store\n"
    )
