"""The package's type hints and lint rules are checked in the suite, so they stay true."""

from __future__ import annotations

import subprocess
import sys

from support.workflows import ROOT


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *command], capture_output=True, text=True, check=False, cwd=ROOT
    )


PLUGIN_SOURCES = sorted(
    str(path.relative_to(ROOT))
    for folder in (ROOT / "plugins", ROOT / "docs" / "examples")
    for path in folder.glob("*/src")
)


def test_mypy_strict_passes_on_the_package_and_the_plugin_packages() -> None:
    done = run("mypy", "--no-incremental", "src")
    assert done.returncode == 0, done.stdout + done.stderr
    assert PLUGIN_SOURCES, "no plugin packages found under plugins/ and docs/examples/"
    for source in PLUGIN_SOURCES:  # one run each: every package has its own top-level module
        done = run("mypy", "--no-incremental", source)
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_ci_script_runs_exactly_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()[-1]
    assert f"```sh\n{script}\n```" in readme


def test_ruff_passes() -> None:
    done = run("ruff", "check", "src", "tests", "benches", "plugins", "docs/examples")
    assert done.returncode == 0, done.stdout + done.stderr
