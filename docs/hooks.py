"""MkDocs hooks for the documentation site (mkdocs.yml ``hooks:``).

- The docs tag their fenced blocks for the test suite, which runs or checks them by tag:
  ```` ```yaml workflow````, ```` ```text output````. Markdown renderers expect only a language
  after the fence, so the site drops the tag before rendering.
- The changelog lives at the repository root (where packagers and the forge look for it); the
  site adds it as ``changelog.md`` and points the docs' ``../CHANGELOG.md`` links there.

The page files on disk are unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

_TAGGED_FENCE = re.compile(r"^(\s*```+)(\w+) \w+\s*$", re.MULTILINE)
_CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"


def on_files(files: Files, config: Any, **_: Any) -> Files:
    """Add the repository's changelog to the site."""
    files.append(
        File.generated(config, "changelog.md", content=_CHANGELOG.read_text(encoding="utf-8"))
    )
    return files


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Turn ```` ```yaml workflow```` into ```` ```yaml````; link the changelog's site page."""
    return _TAGGED_FENCE.sub(r"\1\2", markdown).replace("](../CHANGELOG.md)", "](changelog.md)")
