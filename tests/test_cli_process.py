"""The ``svcflow`` command as a process: version, ``python -m``, a closed pipe, store URLs, and
the README's command list kept in step with the parser."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

import pytest

import svcflow
from support.workflows import ROOT, WORKFLOWS
from svcflow.cli import main
from svcflow.cli.parser import build_parser

SVCFLOW = Path(sys.executable).with_name("svcflow")


def test_version_from_the_script_and_from_python_dash_m() -> None:
    for command in ([str(SVCFLOW)], [sys.executable, "-m", "svcflow"]):
        run = subprocess.run([*command, "--version"], capture_output=True, text=True, check=False)
        assert (run.returncode, run.stdout, run.stderr) == (
            0,
            f"svcflow {svcflow.__version__}\n",
            "",
        )


def test_a_reader_that_stops_early_ends_the_command_quietly_with_zero() -> None:
    process = subprocess.Popen(
        [str(SVCFLOW), "validate", str(WORKFLOWS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head -1` once it has its line
    errors = process.stderr.read()
    process.stderr.close()
    assert (process.wait(timeout=120), errors) == (0, b"")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "sqlite:///{dir}/cases.db?timeout=5",
            "error: unknown option timeout='5' in store URL 'sqlite:///{dir}/cases.db?timeout=5'; "
            "the SQLite store takes: synchronous=NORMAL|FULL\n",
        ),
        (
            "sqlite:///{dir}/cases.db?synchronous=sometimes",
            "error: invalid synchronous='sometimes' for the SQLite store; use NORMAL or FULL\n",
        ),
        (
            "memory://?size=5",
            "error: invalid memory store URL 'memory://?size=5': write memory:// (it takes no "
            "options)\n",
        ),
    ],
)
def test_a_bad_store_url_is_one_clear_line_and_nothing_is_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, url: str, message: str
) -> None:
    scenario = ROOT / "tests" / "scenarios" / "complaint_happy_path.yaml"
    workflow = str(WORKFLOWS / "complaint.yaml")
    url = url.format(dir=tmp_path)
    code = main(["simulate", workflow, "--scenario", str(scenario), "--store", url])
    err = capsys.readouterr().err
    assert (code, err) == (1, message.format(dir=tmp_path))
    assert list(tmp_path.iterdir()) == []


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Command line", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    return [line for line in section.splitlines() if line.startswith("svcflow ")]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_readme_lists_every_command_with_options_the_parser_knows() -> None:
    lines = _readme_commands()
    listed = {line.split()[1] for line in lines if not line.split()[1].startswith("-")}
    commands = _subcommands()
    assert listed == set(commands)
    for line in lines:
        usage = line.split("  ")[0] + " " + " ".join(re.findall(r"\[(-[^]]*)\]", line))
        name = usage.split()[1]
        parser = build_parser() if name.startswith("-") else commands[name]
        known = {option for action in parser._actions for option in action.option_strings}
        shown = set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", usage))
        assert shown <= known, f"{line!r}: {sorted(shown - known)} are not options of {name}"
