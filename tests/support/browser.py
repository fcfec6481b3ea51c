"""A real headless Chromium for tests that check what a person would see.

:func:`chromium` returns Debian's ``/usr/bin/chromium``. When it is missing and this process
may install packages (root, ``apt-get`` present) it is installed once, saying so; otherwise the
caller gets :class:`BrowserUnavailable` saying how to install it. It is never skipped silently:
a report nobody looked at in a browser is not a checked report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
INSTALL_HINT = (
    "install Debian's chromium package: `sudo apt-get install -y --no-install-recommends "
    "chromium` (as root, the test suite installs it itself)"
)
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
_APT_TIMEOUT = 900

_install_failed: str | None = None


class BrowserUnavailable(RuntimeError):
    """Chromium is not installed and could not be installed here."""


def chromium(announce: Callable[[str], None] = print) -> Path:
    """The Chromium binary, installing Debian's package first when missing and allowed.

    An install is tried at most once per process; ``announce`` is told before it starts."""
    global _install_failed
    if CHROMIUM.exists():
        return CHROMIUM
    if _install_failed is not None:
        raise BrowserUnavailable(_install_failed)
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        why = "not root" if apt else "no apt-get"
        raise BrowserUnavailable(f"{CHROMIUM} is missing ({why}); {INSTALL_HINT}")
    announce(f"{CHROMIUM} is missing: installing Debian's chromium package with apt-get (once)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    lock_wait = "-o DPkg::Lock::Timeout=300"
    for command in (
        f"{apt} {lock_wait} update",
        f"{apt} {lock_wait} install -y --no-install-recommends chromium",
    ):
        done = subprocess.run(
            command.split(),
            capture_output=True,
            text=True,
            env=environment,
            timeout=_APT_TIMEOUT,
            check=False,
        )
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            _install_failed = f"`{command}` failed ({done.returncode}); {INSTALL_HINT}\n{tail}"
            raise BrowserUnavailable(_install_failed)
    if not CHROMIUM.exists():
        _install_failed = f"apt-get installed chromium but {CHROMIUM} is still missing"
        raise BrowserUnavailable(_install_failed)
    announce(f"installed {CHROMIUM}")
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
