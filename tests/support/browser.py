"""A real headless Chromium for tests that check what a person would see.

:func:`chromium` returns Debian's ``/usr/bin/chromium``. When it is missing and this process
may install packages (root, ``apt-get`` present) it is installed once, saying so; otherwise the
caller gets :class:`BrowserUnavailable` saying how to install it. It is never skipped silently:
a report nobody looked at in a browser is not a checked report.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from support.apt import install_package, remember_failure

CHROMIUM = Path("/usr/bin/chromium")
# What works headless in a container: no sandbox (root), no GPU, no network chatter at start-up.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed and could not be installed here."""


def chromium(announce: Callable[[str], None] = print) -> Path:
    """The Chromium binary, installing Debian's package first when missing and allowed.

    An install is tried at most once per process; ``announce`` is told before it starts."""
    if CHROMIUM.exists():
        return CHROMIUM
    install_package("chromium", f"{CHROMIUM} is missing", BrowserUnavailable, announce)
    if not CHROMIUM.exists():
        message = f"apt-get installed chromium but {CHROMIUM} is still missing"
        raise BrowserUnavailable(remember_failure("chromium", message))
    return CHROMIUM


def run_chromium(
    page: Path, arguments: Sequence[str], *, timeout: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """Open ``page`` (a local file) headless with ``arguments`` (e.g. ``--dump-dom``), in a new
    empty profile, and return the finished process (stdout holds a dumped DOM)."""
    binary = chromium()
    with tempfile.TemporaryDirectory(prefix="svcflow-chromium-") as profile:
        return subprocess.run(
            [binary, *FLAGS, f"--user-data-dir={profile}", *arguments, page.resolve().as_uri()],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
