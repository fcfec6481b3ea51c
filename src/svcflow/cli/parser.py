"""The ``svcflow`` command line's parser: every command, its options and the function it runs."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable

from svcflow import __version__
from svcflow.shipped import shipped_workflows

__all__ = ["build_parser"]

_MODULES = {
    "run_validate": "validate",
    "run_graph": "definitions",
    "run_decide": "definitions",
    "run_schema": "definitions",
    "run_demo_command": "demo",
    "run_init": "init",
    "run_simulate": "running",
    "run_report": "running",
    "run_plugins": "running",
    "run_timers": "store",
    "run_migrate_cases": "store",
    "run_purge": "store",
    "run_erase_customer": "store",
    "run_worker": "workers",
    "run_status": "workers",
    "run_migrate": "workers",
    "run_serve": "serving",
    "run_tokens": "serving",
}
_TOKENS = "svcflow-tokens.json"  # svcflow serve's API token file, in the working directory


def _command(name: str) -> Callable[[argparse.Namespace], int]:
    """The command function ``name``, imported when the command runs: ``svcflow --help`` (or
    any one command) does not load pydantic, CEL and the engine for the others."""

    def run(args: argparse.Namespace) -> int:
        module = importlib.import_module(f"svcflow.cli.{_MODULES[name]}")
        return int(getattr(module, name)(args))

    return run


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="svcflow", description="Customer-service workflows, SLAs and escalations."
    )
    parser.add_argument("--version", action="version", version=f"svcflow {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    _definition_commands(commands)
    _running_commands(commands)
    _store_commands(commands)
    _worker_commands(commands)
    _serve_commands(commands)
    return parser


Commands = argparse._SubParsersAction  # the type add_subparsers returns


def _definition_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """validate, graph, decide, schema: commands that read definition files."""
    validate = commands.add_parser("validate", help="check workflow files; print every problem")
    validate.add_argument("paths", nargs="+", help="files or directories")
    validate.set_defaults(run=_command("run_validate"))

    graph = commands.add_parser(
        "graph", help="print a Mermaid diagram of a workflow, or a rules file's tables as Markdown"
    )
    graph.add_argument("file")
    graph.add_argument("--table", help="print this table of the file as Markdown")
    graph.add_argument("-o", "--output", help="write to this file instead of stdout")
    graph.set_defaults(run=_command("run_graph"))

    decide = commands.add_parser("decide", help="evaluate a decision table and say why")
    decide.add_argument("table", help="the table's name")
    decide.add_argument(
        "--input", nargs="+", action="extend", metavar="NAME=VALUE", help="a value it reads"
    )
    decide.add_argument(
        "--rules", default="workflows", help="a rules or workflow file, or a directory of them"
    )
    decide.set_defaults(run=_command("run_decide"))

    init = commands.add_parser(
        "init", help="write the shipped workflows, templates, calendar and a scenario to DIR"
    )
    init.add_argument("directory", metavar="DIR", help="a new or empty directory")
    init.set_defaults(run=_command("run_init"))

    schema = commands.add_parser(
        "schema", help="print the JSON Schema of workflow, calendar or rules files"
    )
    schema.add_argument(
        "--kind",
        choices=("workflow", "calendar", "rules"),
        default="workflow",
        help="which file language (default: workflow)",
    )
    schema.add_argument("-o", "--output", help="write to this file instead of stdout")
    schema.set_defaults(run=_command("run_schema"))


def _running_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """simulate, demo, report, plugins: commands that run cases or read a store."""
    simulate = commands.add_parser("simulate", help="dry-run scenarios on a manual clock")
    simulate.add_argument("file", help="the workflow file")
    simulate.add_argument(
        "--scenario", action="append", required=True, help="a scenario file (repeatable)"
    )
    simulate.add_argument(
        "--store", default="memory://", help="store URL (default memory://, nothing is kept)"
    )
    simulate.set_defaults(run=_command("run_simulate"))

    demo = commands.add_parser(
        "demo", help="simulate a week of service traffic on a SQLite store, then report on it"
    )
    demo.add_argument(
        "--workflows",
        default=str(shipped_workflows()),
        help="workflow directory (default: the workflows that ship with svcflow)",
    )
    demo.add_argument(
        "--store",
        default="sqlite:///svcflow-demo.db",
        help="store URL; an existing SQLite demo file is replaced",
    )
    demo.add_argument("--contacts", type=int, default=3000, help="contacts in the week")
    demo.add_argument("--days", type=int, default=7)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=_command("run_demo_command"))

    report = commands.add_parser(
        "report", help="KPI report from a store's history: terminal table, JSON or HTML"
    )
    report.add_argument(
        "--store",
        default="sqlite:///svcflow-demo.db",
        help="store URL (default sqlite:///svcflow-demo.db, what svcflow demo writes)",
    )
    report.add_argument(
        "--workflows",
        help="read each workflow's kpi: section (targets, which clocks time the first response) "
        "from the workflow files in this directory",
    )
    report.add_argument("--format", choices=("text", "json", "html"), default="text")
    report.add_argument(
        "--lang",
        choices=("en", "zh-CN"),
        default="en",
        help="language of the text and HTML report (zh-CN needs Babel, in the serve extra)",
    )
    report.add_argument("-o", "--output", help="write to this file instead of stdout")
    report.set_defaults(run=_command("run_report"))

    plugins = commands.add_parser(
        "plugins", help="list the loaded plugins, the hooks each implements and their channels"
    )
    plugins.add_argument("--plugins-dir", help="also load the *.py plugins in this directory")
    plugins.set_defaults(run=_command("run_plugins"))


def _store_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """timers, migrate-cases, purge, erase-customer: commands that look after a running store."""
    timers = commands.add_parser(
        "timers", help="list the timers parked as failed; release them after fixing the cause"
    )
    timers.add_argument("--store", required=True, help="store URL, e.g. sqlite:///cases.db")
    chosen = timers.add_mutually_exclusive_group()
    chosen.add_argument("--retry", type=int, metavar="ID", help="release this failed timer")
    chosen.add_argument("--retry-all", action="store_true", help="release every failed timer")
    timers.set_defaults(run=_command("run_timers"))

    migrate = commands.add_parser(
        "migrate-cases", help="move running cases to another version of their workflow"
    )
    migrate.add_argument("plan", help="the migration plan (YAML, see docs/migrations.md)")
    migrate.add_argument("--workflows", default="workflows", help="workflow directory")
    migrate.add_argument("--store", required=True, help="store URL, e.g. sqlite:///cases.db")
    migrate.add_argument("--actor", default="svcflow-cli", help="who runs it, for the history")
    migrate.add_argument("--dry-run", action="store_true", help="show the moves; write nothing")
    migrate.set_defaults(run=_command("run_migrate_cases"))

    purge = commands.add_parser(
        "purge",
        help="delete closed cases past their workflow's retention and expire old dead letters",
    )
    purge.add_argument("--store", required=True, help="store URL, e.g. sqlite:///cases.db")
    purge.add_argument("--workflows", default="workflows", help="workflow directory")
    purge.add_argument(
        "--dead-letters-days",
        type=int,
        default=30,
        metavar="DAYS",
        help="delete dead letters received more than DAYS days ago (default 30)",
    )
    purge.add_argument("--dry-run", action="store_true", help="count what would go; delete nothing")
    purge.set_defaults(run=_command("run_purge"))

    erase = commands.add_parser(
        "erase-customer",
        help="erase one customer's personal data (GDPR, PIPL); the KPI figures stay the same",
    )
    erase.add_argument("customer_id", help="the customer's id (engine.customers)")
    erase.add_argument("--store", required=True, help="store URL, e.g. sqlite:///cases.db")
    erase.add_argument("--workflows", default="workflows", help="workflow directory")
    erase.add_argument("--actor", default="svcflow-cli", help="who runs it, for the history")
    erase.set_defaults(run=_command("run_erase_customer"))


def _worker_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """worker, status, migrate: commands that run a store's workers or look after its schema."""
    worker = commands.add_parser(
        "worker", help="fire due timers and deliver notifications until SIGTERM (run any number)"
    )
    worker.add_argument("--store", required=True, help="store URL, e.g. postgresql://host/db")
    worker.add_argument("--workflows", default="workflows", help="workflow directory")
    worker.add_argument(
        "--poll",
        type=float,
        help="seconds between looks when idle (default 5; PostgreSQL wakes workers sooner)",
    )
    worker.add_argument(
        "--batch", type=int, help="timers, and deliveries, one round claims (default 256)"
    )
    worker.set_defaults(run=_command("run_worker"))

    status = commands.add_parser(
        "status", help="due-timer lag, outbox depth, failed timers and dead rows of a store"
    )
    status.add_argument("--store", required=True, help="store URL")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(run=_command("run_status"))

    migrate = commands.add_parser("migrate", help="bring a store's schema up to date")
    migrate.add_argument("--store", required=True, help="store URL")
    migrate.set_defaults(run=_command("run_migrate"))


def _serve_commands(commands: Commands[argparse.ArgumentParser]) -> None:
    """serve, tokens: the HTTP API and the API tokens that may call it."""
    serve = commands.add_parser(
        "serve", help="the HTTP API (cases, channel webhooks, health, metrics) under uvicorn"
    )
    serve.add_argument("--store", help="store URL, e.g. sqlite:///cases.db (not with --demo)")
    serve.add_argument(
        "--demo",
        action="store_true",
        help="the web console on a short demo run, with a clock it can advance",
    )
    serve.add_argument("--workflows", default="workflows", help="workflow directory")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes (default 1); each opens the store, which must not be memory://",
    )
    serve.add_argument(
        "--with-worker",
        action="store_true",
        help="also fire due timers and deliver notifications in this process",
    )
    serve.add_argument("--tokens", default=_TOKENS, help=f"the API token file ({_TOKENS})")
    _serve_limits(serve)
    serve.set_defaults(run=_command("run_serve"))

    tokens = commands.add_parser("tokens", help="create, list or revoke the API's tokens")
    tokens.add_argument("--tokens", default=_TOKENS, help=f"the API token file ({_TOKENS})")
    actions = tokens.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="a new token; printed once, stored hashed")
    create.add_argument("name", help="who or what uses it, e.g. crm-prod")
    create.add_argument(
        "--scope",
        action="append",
        choices=("read", "write", "ingest", "admin"),
        help="read, write, ingest or admin (repeatable; default read)",
    )
    actions.add_parser("list", help="every token: id, name, scopes, created, revoked")
    revoke = actions.add_parser("revoke", help="refuse this token from now on")
    revoke.add_argument("id", help="the token's id (see svcflow tokens list)")
    tokens.set_defaults(run=_command("run_tokens"))


def _serve_limits(serve: argparse.ArgumentParser) -> None:
    """svcflow serve's limits: body sizes and request rates."""
    serve.add_argument(
        "--max-body",
        type=int,
        default=1024 * 1024,
        metavar="BYTES",
        help="largest request body taken; larger ones get 413 (default 1048576)",
    )
    serve.add_argument(
        "--max-message",
        type=int,
        default=16 * 1024 * 1024,
        metavar="BYTES",
        help="largest POST /channels/{channel} body taken; larger ones get 413 (default 16777216)",
    )
    serve.add_argument(
        "--token-rate",
        type=float,
        default=100.0,
        metavar="N",
        help="requests a second one API token may send, bursts of 2 s; more get 429 "
        "(default 100; 0: no limit)",
    )
    serve.add_argument(
        "--address-rate",
        type=float,
        default=200.0,
        metavar="N",
        help="requests a second one client address may send, bursts of 2 s; more get 429 "
        "(default 200; 0: no limit)",
    )
