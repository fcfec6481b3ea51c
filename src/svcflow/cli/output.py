"""Where a command's text goes: a file named with ``-o``, or standard output."""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["write"]


def write(text: str, output: str | None) -> None:
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
