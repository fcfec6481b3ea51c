"""Stores by URL: the URL's scheme names the store kind, and a registry maps it to a factory.

``memory://`` and ``sqlite:///path.db`` are built in. A third-party store is one entry point in
the ``svcflow.stores`` group: its name is the URL scheme, its value a callable that takes the
whole URL and returns a :class:`~svcflow.store.base.Store` (see ``docs/embedding.md``). A
built-in scheme cannot be taken over by an installed package; entry points are read the first
time an unknown scheme is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import EntryPoint, entry_points
from urllib.parse import parse_qs, urlsplit

from svcflow.errors import StoreError
from svcflow.store.base import Store

__all__ = ["ENTRY_POINT_GROUP", "STORES", "StoreFactory", "StoreRegistry", "open_store"]

ENTRY_POINT_GROUP = "svcflow.stores"

StoreFactory = Callable[[str], Store]
"""Opens a store from its whole URL (scheme included)."""


SQLITE_OPTIONS = {"synchronous": ("NORMAL", "FULL")}
"""The query options a ``sqlite:`` URL may carry, with their values."""


def open_memory(url: str) -> Store:
    """``memory://``: a store that lives as long as the process (tests, simulations)."""
    from svcflow.store.memory import MemoryStore

    parts = urlsplit(url)
    if parts.netloc or parts.path or parts.query:
        raise StoreError(f"invalid memory store URL {url!r}: write memory:// (it takes no options)")
    return MemoryStore()


def open_sqlite(url: str) -> Store:
    """``sqlite:///relative.db`` or ``sqlite:////absolute/path.db``, with query options
    (``synchronous=FULL|NORMAL``)."""
    from svcflow.store.sqlite import SqliteStore

    parts = urlsplit(url)
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if parts.netloc or not path:
        raise StoreError(
            f"invalid SQLite store URL {url!r}: write sqlite:///cases.db for a file relative "
            "to the working directory or sqlite:////var/lib/svcflow/cases.db for an absolute "
            "path"
        )
    options = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    unknown = sorted(set(options) - set(SQLITE_OPTIONS))
    if unknown:
        valid = "; ".join(f"{name}={'|'.join(vals)}" for name, vals in SQLITE_OPTIONS.items())
        raise StoreError(
            f"unknown option {unknown[0]}={options[unknown[0]]!r} in store URL {url!r}; "
            f"the SQLite store takes: {valid}"
        )
    return SqliteStore(path, **options)


class StoreRegistry:
    """URL scheme -> store factory: the built-ins, then the ``svcflow.stores`` entry points."""

    def __init__(
        self, builtins: Mapping[str, StoreFactory], group: str = ENTRY_POINT_GROUP
    ) -> None:
        self._builtins = dict(builtins)
        self._group = group
        self._installed: dict[str, StoreFactory] | None = None

    def schemes(self) -> list[str]:
        """Every scheme a URL may use: built-in ones first, then installed ones."""
        return [*self._builtins, *(s for s in self._entry_points() if s not in self._builtins)]

    def factory(self, scheme: str) -> StoreFactory | None:
        """The factory for ``scheme``, or None when neither svcflow nor a package has one."""
        if scheme in self._builtins:
            return self._builtins[scheme]
        return self._entry_points().get(scheme)

    def open(self, url: str) -> Store:
        """Open the store ``url`` names; ``StoreError`` says which schemes exist otherwise."""
        factory = self.factory(urlsplit(url).scheme)
        if factory is None:
            installed = [s for s in self.schemes() if s not in self._builtins]
            more = (
                f", or a scheme of an installed store: {', '.join(installed)}" if installed else ""
            )
            raise StoreError(
                f"unknown store URL {url!r}: use 'memory://' or 'sqlite:///path/to/cases.db'{more}"
            )
        return factory(url)

    def _entry_points(self) -> dict[str, StoreFactory]:
        if self._installed is None:
            self._installed = {
                point.name: _loader(point) for point in entry_points(group=self._group)
            }
        return self._installed


def _loader(point: EntryPoint) -> StoreFactory:
    """A factory that loads the entry point when first used, naming it if that fails."""

    def open_with(url: str) -> Store:
        try:
            factory = point.load()
        except Exception as error:
            raise StoreError(
                f"the store entry point {point.name!r} ({point.value}) in group "
                f"'{point.group}' cannot be loaded: {type(error).__name__}: {error}"
            ) from error
        store: Store = factory(url)
        return store

    return open_with


STORES = StoreRegistry({"memory": open_memory, "sqlite": open_sqlite})
"""The registry ``open_store`` and ``Engine(store="...")`` use."""


def open_store(url: str) -> Store:
    """Open a store from a URL: ``memory://``, ``sqlite:///relative.db`` /
    ``sqlite:////absolute/path.db`` (query options: ``synchronous=FULL|NORMAL``), or a scheme
    an installed package registers in the ``svcflow.stores`` entry-point group."""
    return STORES.open(url)
