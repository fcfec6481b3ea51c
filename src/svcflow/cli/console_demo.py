"""``svcflow serve --demo``: a short demo run into a new SQLite file, then the API and the web
console on it, with a manual clock the console can advance (docs/console.md)."""

from __future__ import annotations

import argparse
import socket
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from svcflow.cli.demo import DEMO_CHANNELS, DEMO_DIRECTORY, console_notifier

__all__ = ["DEMO_CONTACTS", "DEMO_DAYS", "run_console_demo"]

DEMO_CONTACTS = 200
DEMO_DAYS = 2


def run_console_demo(args: argparse.Namespace) -> int:
    """Run the demo traffic, open the console on its store and serve until SIGTERM."""
    ConsoleNotifier = console_notifier()
    if ConsoleNotifier is None:
        return 1
    folder = Path(tempfile.mkdtemp(prefix="svcflow-serve-demo-"))
    store = f"sqlite:///{folder / 'demo.db'}"
    with (folder / "notifications.log").open("w", encoding="utf-8") as log:
        notifier = ConsoleNotifier(log, channels=DEMO_CHANNELS)
        print(f"svcflow serve --demo: {DEMO_CONTACTS} contacts over {DEMO_DAYS} days into {store}")
        ended = _demo_run(store, notifier)
        _serve_demo(args, folder, store, notifier, ended)
    return 0


def _demo_run(store: str, notifier: Any) -> datetime:
    """The demo traffic into ``store``; the simulated moment it ended."""
    from svcflow import shipped_workflows
    from svcflow.demo import run_demo

    summary = run_demo(
        shipped_workflows(),
        store,
        contacts=DEMO_CONTACTS,
        days=DEMO_DAYS,
        plugins=[notifier],
        directory=DEMO_DIRECTORY,
    )
    return summary.simulated_until


def _serve_demo(
    args: argparse.Namespace, folder: Path, store: str, notifier: Any, ended: datetime
) -> None:
    """The console on ``store`` with a manual clock at ``ended`` and the live complaints,
    listening before it says where (``--port 0`` takes a free port)."""
    import uvicorn

    from svcflow import Engine, ManualClock, shipped_workflows
    from svcflow.demo.run import DEMO_PEOPLE
    from svcflow.serve import TokenFile, create_app
    from svcflow.serve.console.demo import DEMO_SETTINGS, start_live_cases
    from svcflow.serve.console.mounted import SETTINGS_STATE
    from svcflow.serve.server import signals_end_uvicorn_only

    with Engine.from_directory(
        shipped_workflows(),
        store=store,
        clock=ManualClock(ended),
        plugins=[notifier],
        load_plugins=False,
        directory=DEMO_DIRECTORY,
        roles=DEMO_PEOPLE,
    ) as engine:
        live = start_live_cases(engine)
        tokens = TokenFile(folder / "tokens.json")
        created = tokens.create("demo-agent", ["admin"])
        app = create_app(engine, tokens=tokens)
        setattr(app.state, SETTINGS_STATE, DEMO_SETTINGS)
        listener = socket.create_server((args.host, args.port))
        port = listener.getsockname()[1]
        print(
            f"  {len(live)} complaints open; the clock stands at "
            f"{engine.clock.now():%a %d %b %Y %H:%M} UTC and moves when the console says so\n"
            f"  console: http://{args.host}:{port}/console/\n"
            f"  sign in with the token {created.secret}\n"
            f"  notifications: {folder / 'notifications.log'}",
            flush=True,
        )
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", server_header=False))
        with listener, signals_end_uvicorn_only():  # SIGTERM: a clean stop, exit status 0
            server.run(sockets=[listener])
