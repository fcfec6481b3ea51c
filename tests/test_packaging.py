"""What an installed svcflow promises: one version everywhere, plugin packages pinned to a
compatible range, a licence, hook docs that match the changelog, a cheap pytest plugin and a
public API that resolves."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import svcflow
import svcflow.plugin
from support.workflows import ROOT
from svcflow.hooks import specs

PLUGIN_PACKAGES = ("svcflow-console", "svcflow-smtp", "svcflow-webhook", "svcflow-kiosk")


def test_the_version_is_written_once_and_installed_metadata_agrees() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert 'dynamic = ["version"]' in pyproject
    assert 'version = { attr = "svcflow.__version__" }' in pyproject
    assert importlib.metadata.version("svcflow") == svcflow.__version__


@pytest.mark.parametrize("package", PLUGIN_PACKAGES)
def test_plugin_packages_accept_this_svcflow_and_not_the_next_minor(package: str) -> None:
    requirement = next(
        Requirement(line)
        for line in importlib.metadata.requires(package) or []
        if Requirement(line).name == "svcflow"
    )
    major, minor, *_ = svcflow.__version__.split(".")
    assert requirement.specifier.contains(svcflow.__version__)
    assert not requirement.specifier.contains(f"{major}.{int(minor) + 1}.0")


def test_the_licence_file_is_the_apache_licence_the_metadata_names() -> None:
    licence = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    metadata = importlib.metadata.metadata("svcflow")
    assert "License :: OSI Approved :: Apache Software License" in metadata.get_all("Classifier")
    assert metadata.get_all("Project-URL")


def test_every_hook_says_it_was_added_in_a_version_the_changelog_knows() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = set(re.findall(r"^## (\d+\.\d+\.\d+)", changelog, re.MULTILINE))
    hooks = [name for name in dir(specs) if name.startswith("svcflow_")]
    added = {
        name: re.findall(r"Added in (\S+?)\.?$", getattr(specs, name).__doc__, re.M)
        for name in hooks
    }
    assert {
        name: versions for name, versions in added.items() if not set(versions) <= released
    } == {}
    assert all(added.values())


def test_every_public_name_resolves_and_dir_lists_it() -> None:
    for module in (svcflow, svcflow.plugin):
        missing = [name for name in module.__all__ if not hasattr(module, name)]
        assert missing == []
        assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="module 'svcflow' has no attribute 'Engin'"):
        svcflow.Engin  # noqa: B018


def test_the_plugin_module_hands_out_the_same_objects_as_the_internal_modules() -> None:
    from svcflow.errors import PermanentDeliveryError
    from svcflow.hooks.types import Delivery

    assert svcflow.plugin.Delivery is Delivery
    assert svcflow.plugin.PermanentDeliveryError is PermanentDeliveryError
    assert svcflow.plugin.hookimpl is svcflow.hookimpl


def test_pytest_in_a_project_with_svcflow_installed_does_not_import_the_engine(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_unrelated.py").write_text(
        "import sys\n"
        "def test_fixtures_are_there_and_nothing_heavy_is_loaded(svcflow_clock):\n"
        "    assert svcflow_clock.now().year == 2026\n"
        "    heavy = ('svcflow.engine', 'svcflow.definitions', 'pydantic', 'transitions')\n"
        "    assert sorted(m for m in sys.modules if m.startswith(heavy)) == []\n",
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_unrelated.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_import_svcflow_loads_the_engine_only_when_it_is_used() -> None:
    code = (
        "import sys, svcflow\n"
        "assert 'svcflow.engine' not in sys.modules\n"
        "assert svcflow.Engine.__module__.startswith('svcflow.engine')\n"
        "print('ok')\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert run.stdout == "ok\n", run.stderr
