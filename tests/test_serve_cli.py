"""``svcflow serve`` as a user starts it: a real process on a free port, stopped by SIGTERM."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
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


def _lines_until_started(server: subprocess.Popen[str]) -> list[str]:
    """The server's output up to uvicorn's "Application startup complete." (by then the socket
    listens): a blocking read of its pipe, so the test waits for the process, not for time."""
    assert server.stdout is not None
    lines: list[str] = []
    while not lines or "Application startup complete." not in lines[-1]:
        line = server.stdout.readline()
        if not line:
            raise AssertionError("svcflow serve ended before it listened:\n" + "".join(lines))
        lines.append(line)
    return lines


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
    started: list[str] = []
    try:
        started = _lines_until_started(server)
        authorised = {"Authorization": f"Bearer {token}"}
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", headers=authorised, timeout=30)
        assert ready.status_code == 200, ready.text
    finally:
        server.send_signal(signal.SIGTERM)
        rest, _ = server.communicate(timeout=60)
    out = "".join(started) + rest
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
