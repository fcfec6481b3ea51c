"""Installing a missing Debian package for the test suite, once, saying so.

Tests that need a real program (a browser, a database server) install it themselves when the
process may (root, ``apt-get`` present), so CI on a clean machine needs nothing pre-installed.
Otherwise they fail with how to install it: a check that needs the program is never skipped
silently.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable

import pytest

_APT_TIMEOUT = 900
_LOCK_WAIT = "-o DPkg::Lock::Timeout=300"

_failures: dict[str, str] = {}


def install_hint(package: str) -> str:
    """How a person installs ``package`` by hand."""
    return (
        f"install Debian's {package} package: `sudo apt-get install -y --no-install-recommends "
        f"{package}` (as root, the test suite installs it itself)"
    )


def install_package(
    package: str,
    missing: str,
    error: type[Exception],
    announce: Callable[[str], None],
) -> None:
    """Install Debian's ``package`` with apt-get, because ``missing`` (what is not there) says
    it is needed.

    Raises ``error`` with the install hint when this process may not install (not root, no
    apt-get) or apt-get fails. An install is tried at most once per process and package: a
    failure is raised again without a second attempt. ``announce`` is told before it starts."""
    if package in _failures:
        raise error(_failures[package])
    apt = shutil.which("apt-get")
    if os.geteuid() != 0 or apt is None:
        why = "not root" if apt else "no apt-get"
        raise error(f"{missing} ({why}); {install_hint(package)}")
    announce(f"{missing}: installing Debian's {package} package with apt-get (once)")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        f"{apt} {_LOCK_WAIT} update",
        f"{apt} {_LOCK_WAIT} install -y --no-install-recommends {package}",
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
            _failures[package] = (
                f"`{command}` failed ({done.returncode}); {install_hint(package)}\n{tail}"
            )
            raise error(_failures[package])
    announce(f"installed Debian's {package} package")


def remember_failure(package: str, message: str) -> str:
    """Record that ``package`` installed but is still unusable, so later calls fail at once."""
    _failures[package] = message
    return message


def terminal_announcer(config: pytest.Config, label: str) -> Callable[[str], None]:
    """A function that prints a line on the terminal even while pytest captures output, for
    news a person waiting on the suite should see (a package being installed)."""
    capture = config.pluginmanager.getplugin("capturemanager")

    def announce(line: str) -> None:
        if capture is None:  # output capture is off: print goes straight to the terminal
            print(f"\n[{label}] {line}", flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(f"\n[{label}] {line}", flush=True)

    return announce
