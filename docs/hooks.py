"""MkDocs hooks for the documentation site (mkdocs.yml ``hooks:``).

The docs tag their fenced blocks for the test suite, which runs or checks them by tag: ```` ```yaml
workflow````, ```` ```text output````. Markdown renderers expect only a language after the fence,
so the site drops the tag before rendering; the page text on disk is unchanged.
"""

from __future__ import annotations

import re
from typing import Any

_TAGGED_FENCE = re.compile(r"^(\s*```+)(\w+) \w+\s*$", re.MULTILINE)


def on_page_markdown(markdown: str, **_: Any) -> str:
    """Turn ```` ```yaml workflow```` into ```` ```yaml```` before the page is rendered."""
    return _TAGGED_FENCE.sub(r"\1\2", markdown)
