"""The build compiled with mypyc (``SVCFLOW_COMPILE=1 pip install .``; docs/performance.md,
"The compiled build"): asked for by one setting, refused as an editable install, and behaving as
the pure build does: its lane builds the wheel as a user would and runs the goldens, the crash
tests and the stores' tests against it."""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

import svcflow.compiled
from support.compiled_build import LANE_TESTS, Lane, compiled_modules
from support.workflows import ROOT
from svcflow.compiled import raised_from

LANE_TIMEOUT = 1200.0


def _backend() -> ModuleType:
    """``build_backend/svcflow_backend.py``, as pip loads it (``backend-path``)."""
    spec = importlib.util.spec_from_file_location(
        "svcflow_backend", ROOT / "build_backend" / "svcflow_backend.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
@pytest.mark.compiled_build
def test_the_compiled_build_passes_the_goldens_crash_and_store_tests(
    compiled_lane: Lane,
) -> None:
    status, log = compiled_lane.wait(LANE_TIMEOUT)
    assert status == 0, log[-8000:]
    modules = compiled_modules()
    assert f"{len(modules)} of {len(modules)} modules compiled, from" in log
    assert "svcflow-compiled-" in log.split("modules compiled, from", 1)[1].splitlines()[0]
    assert " passed" in log.splitlines()[-1] and "failed" not in log.splitlines()[-1]


def test_the_lane_runs_tests_that_exist() -> None:
    assert [test for test in LANE_TESTS if not (ROOT / test).is_file()] == []


def test_the_compiled_modules_are_modules_of_the_package() -> None:
    missing = [
        name
        for name in compiled_modules()
        if not (ROOT / "src" / f"{name.replace('.', '/')}.py").is_file()
    ]
    assert compiled_modules() and missing == []


@pytest.mark.parametrize("asked", ["", "0"])
def test_the_pure_build_asks_for_what_setuptools_asks_for_and_no_compiler(
    asked: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVCFLOW_COMPILE", asked)
    backend = _backend()
    monkeypatch.setattr(backend._setuptools, "get_requires_for_build_wheel", lambda _: ["wheel"])
    assert backend.compiling() is False
    assert backend.get_requires_for_build_wheel() == ["wheel"]


def test_the_compiled_build_asks_for_the_mypy_it_is_tested_with(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SVCFLOW_COMPILE", "1")
    backend = _backend()
    assert backend.compiling() is True
    assert backend.get_requires_for_build_wheel() == ["mypy==2.4.1"]


def test_an_unclear_setting_is_refused_saying_what_is_valid(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SVCFLOW_COMPILE", "yes")
    with pytest.raises(ValueError) as refused:
        _backend().get_requires_for_build_wheel()
    assert str(refused.value) == (
        "SVCFLOW_COMPILE='yes': use 1 for the build compiled with mypyc, or 0 (or leave it "
        "unset) for the pure-Python build"
    )


def test_an_editable_install_is_never_compiled(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SVCFLOW_COMPILE", "1")
    backend = _backend()
    for refused in (
        lambda: backend.get_requires_for_build_editable(),
        lambda: backend.build_editable(str(tmp_path)),
    ):
        with pytest.raises(ValueError, match="does not make an editable install") as caught:
            refused()
        assert "SVCFLOW_COMPILE=1 pip install ." in str(caught.value)
    assert list(tmp_path.iterdir()) == []


def test_without_mypy_installed_the_class_attributes_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "mypy_extensions", None)  # import fails, as without mypy
    try:
        pure = importlib.reload(svcflow.compiled)

        class Store:
            pass

        assert pure.mypyc_attr(allow_interpreted_subclasses=True)(Store) is Store
        assert pure.mypyc_attr.__module__ == "svcflow.compiled"
    finally:
        monkeypatch.undo()
        importlib.reload(svcflow.compiled)
    assert svcflow.compiled.mypyc_attr.__module__ == "mypy_extensions"


def test_the_compiled_modules_chain_exceptions_with_raised_from_not_from() -> None:
    """mypyc ignores ``from`` in ``raise error from cause`` (``svcflow.compiled``): a compiled
    module that wrote it would lose the cause and show the context it meant to hide."""
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in (ROOT / "src" / f"{name.replace('.', '/')}.py" for name in compiled_modules())
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Raise) and node.cause is not None
    ]
    assert found == []


def test_raised_from_chains_as_raise_from_does() -> None:
    def fail(cause: BaseException | None) -> None:
        try:
            raise KeyError("inner")
        except KeyError:
            raise raised_from(ValueError("outer"), cause)  # noqa: B904

    cause = OSError("disk")
    with pytest.raises(ValueError) as caught:
        fail(cause)
    assert caught.value.__cause__ is cause and caught.value.__suppress_context__
    with pytest.raises(ValueError) as caught:
        fail(None)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert isinstance(caught.value.__context__, KeyError)  # kept, as ``from None`` keeps it


@pytest.mark.parametrize("hook", ["build_sdist", "prepare_metadata_for_build_wheel"])
def test_the_sdist_and_the_wheels_metadata_are_made_pure_whatever_the_setting(
    hook: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An sdist carries the sources (whoever builds a wheel from it chooses), and the
    metadata is the same for both builds: neither runs mypyc's code generation."""
    monkeypatch.setenv("SVCFLOW_COMPILE", "1")
    backend = _backend()
    seen: list[str | None] = []

    def setuptools_hook(directory: str, config_settings: object = None) -> str:
        seen.append(os.environ.get("SVCFLOW_COMPILE"))
        return "made"

    monkeypatch.setattr(backend._setuptools, hook, setuptools_hook)
    assert getattr(backend, hook)(str(tmp_path)) == "made"
    assert seen == [None]
    assert os.environ["SVCFLOW_COMPILE"] == "1"  # as it was, for the hooks after it
