"""The package's type hints and lint rules are checked in the suite, so they stay true."""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from collections.abc import Collection
from pathlib import Path

import pytest

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


# -- the shape of the source tree ------------------------------------------------------------------

SOURCE = ROOT / "src" / "svcflow"
LONGEST_FUNCTION = 60
MANY_FIELDS = 6
MOST_POSITIONAL = 3


def _module_name(path: Path) -> str:
    parts = path.relative_to(SOURCE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _source_modules() -> dict[str, ast.Module]:
    return {
        _module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(SOURCE.rglob("*.py"))
    }


def _imported_modules(tree: ast.Module, known: Collection[str]) -> set[str]:
    """The svcflow modules a module imports anywhere in it (TYPE_CHECKING blocks and function
    bodies included): ``from a.b import c`` names the module ``a.b.c`` when there is one."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module in known:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                found.add(submodule if submodule in known else node.module)
    return found


def test_lint_imports_keeps_every_layer_contract() -> None:
    """The contracts in pyproject.toml (layers and forbidden imports) hold; the output names
    the offending import chain when one breaks."""
    command = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(command), "--no-cache"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_import_circles_in_the_package() -> None:
    modules = _source_modules()
    graph = {name: _imported_modules(tree, modules) - {name} for name, tree in modules.items()}
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        pytest.fail("import circle: " + " -> ".join(error.args[1]))


def test_no_function_is_longer_than_sixty_lines() -> None:
    offenders = [
        f"{SOURCE.parent / name.replace('.', '/')}.py:{node.lineno} {node.name} "
        f"({node.end_lineno - node.lineno + 1} lines)"
        for name, tree in _source_modules().items()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > LONGEST_FUNCTION
    ]
    assert offenders == [], "split these functions:\n" + "\n".join(offenders)


def _is_record(node: ast.ClassDef) -> bool:
    bases = {ast.unparse(base) for base in node.bases}
    decorators = {ast.unparse(d).split("(")[0] for d in node.decorator_list}
    return "NamedTuple" in bases or "dataclass" in decorators


def _field_count(node: ast.ClassDef) -> int:
    return sum(
        1
        for item in node.body
        if isinstance(item, ast.AnnAssign)
        and isinstance(item.target, ast.Name)
        and "ClassVar" not in ast.unparse(item.annotation)
    )


def _record_built(called: str) -> str:
    """The record a call builds: ``Case(...)``, or ``Case.__new__(Case, ...)`` (the same
    record without ``type.__call__`` packing the keywords into a dict; see records.py)."""
    return called.removesuffix(".__new__").rsplit(".", 1)[-1]


def test_records_with_many_fields_are_built_by_keyword() -> None:
    """A positional call with many arguments of one type passes the type checker even when two
    are swapped; records of six fields or more are built by keyword."""
    modules = _source_modules()
    records = {
        node.name
        for tree in modules.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef) and _is_record(node) and _field_count(node) >= MANY_FIELDS
    }
    assert {"Case", "CaseChange", "HistoryEntry", "NewDelivery", "OutboxEntry"} <= records
    offenders = [
        f"{name}:{node.lineno} {ast.unparse(node.func)}(...) with {len(node.args)} positional"
        for name, tree in modules.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _record_built(ast.unparse(node.func)) in records
        and len(node.args) > MOST_POSITIONAL + ast.unparse(node.func).endswith(".__new__")
    ]
    assert offenders == [], "build these records by keyword:\n" + "\n".join(offenders)
