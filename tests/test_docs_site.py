"""The documentation site builds in MkDocs' strict mode, API reference included.

Strict mode turns every warning into a failure: a link to a page or anchor that does not exist,
an API reference (``[Engine][svcflow.engine.facade.Engine]``) that names no documented object,
a ``::: module`` that cannot be collected. The build runs as a user runs it (``mkdocs build``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from support.workflows import ROOT


def _build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        cwd=config.parent,
        env=os.environ | {"NO_MKDOCS_2_WARNING": "1"},
    )


def test_the_site_builds_strictly_with_an_api_reference(tmp_path: Path) -> None:
    built = _build(ROOT / "mkdocs.yml", tmp_path / "site")
    assert built.returncode == 0, built.stderr
    engine = (tmp_path / "site" / "reference" / "engine" / "index.html").read_text()
    assert 'id="svcflow.engine.facade.Engine.fire"' in engine
    assert "naming the triggers" in engine  # Engine.fire's docstring
    operations = (tmp_path / "site" / "operations" / "index.html").read_text()
    assert 'href="../reference/engine/#svcflow.engine.runner.Runner"' in operations
    assert not (tmp_path / "site" / "hooks.py").exists()


def test_a_broken_api_reference_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(
        "# Broken\n\nSee [Engine.fly][svcflow.engine.facade.Engine.fly].\n\n"
        "::: svcflow.engine.facade.Engine\n    options:\n      members: [fire]\n"
    )
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        "site_name: broken\nstrict: true\nplugins:\n  - mkdocstrings:\n      handlers:\n"
        f"        python:\n          paths: [{ROOT / 'src'}]\n"
    )
    built = _build(config, tmp_path / "site")
    assert built.returncode == 1
    assert "Could not find cross-reference target 'svcflow.engine.facade.Engine.fly'" in (
        built.stderr
    )
