"""The plugin host an engine uses, with svcflow's built-in plugins registered first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from svcflow.hooks.host import PluginHost
from svcflow.messaging.channels import BUILTIN_CHANNELS
from svcflow.messaging.classify import KeywordClassifier
from svcflow.messaging.directory import Directory, DirectoryEntry
from svcflow.messaging.matching import ThreadMatcher

__all__ = ["DIRECTORY_PLUGIN", "build_plugin_host"]

DIRECTORY_PLUGIN = "svcflow.directory"


def build_plugin_host(
    plugins: Iterable[object | tuple[str, object]] = (),
    *,
    load_plugins: bool = True,
    plugins_dir: str | Path | None = None,
    directory: Mapping[str, DirectoryEntry | Iterable[DirectoryEntry]] | None = None,
    roles: Mapping[str, Iterable[str]] | None = None,
) -> PluginHost:
    """The plugin host an engine uses: svcflow's built-ins (the six channels, the thread
    matcher, the keyword classifier, the directory of roles and of people's roles), installed
    plugins (unless ``load_plugins`` is false), a plugins directory and the host's own
    ``plugins``."""
    builtins: list[tuple[str, object]] = [(name, kind()) for name, kind in BUILTIN_CHANNELS]
    builtins += [
        ("svcflow.matcher", ThreadMatcher()),
        ("svcflow.classifier", KeywordClassifier()),
        (DIRECTORY_PLUGIN, Directory(directory or {}, roles=roles)),
    ]
    return PluginHost(
        plugins, builtins=builtins, entry_points=load_plugins, plugins_dir=plugins_dir
    )
