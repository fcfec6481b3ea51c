"""Stores by URL scheme: the built-ins, and a third-party store as one ``svcflow.stores``
entry point of an installed distribution."""

from __future__ import annotations

from pathlib import Path

import pytest

from svcflow.errors import StoreError
from svcflow.store.memory import MemoryStore
from svcflow.store.registry import ENTRY_POINT_GROUP, STORES, StoreRegistry, open_memory
from svcflow.store.sqlite import SqliteStore

SVCFLOW_OWN = ["postgres", "postgresql"]
"""The schemes svcflow's own distribution registers as entry points (the PostgreSQL store)."""


def _install(site: Path, name: str, entry_points: str, module: str = "") -> None:
    """A distribution on ``site`` as pip would leave it: metadata, entry points, a module."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(entry_points)
    if module:
        (site / f"{name}.py").write_text(module)


def test_the_built_in_schemes_open_their_stores(tmp_path: Path) -> None:
    assert isinstance(STORES.open("memory://"), MemoryStore)
    store = STORES.open(f"sqlite:///{tmp_path / 'cases.db'}?synchronous=FULL")
    assert isinstance(store, SqliteStore) and store.path == tmp_path / "cases.db"
    store.close()
    assert STORES.schemes()[:2] == ["memory", "sqlite"]


def test_a_third_party_store_is_one_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(
        tmp_path,
        "svcflow_teststore",
        f"[{ENTRY_POINT_GROUP}]\nteststore = svcflow_teststore:open_teststore\n",
        "from svcflow.store.memory import MemoryStore\n\n"
        "OPENED = []\n\n"
        "def open_teststore(url):\n"
        "    OPENED.append(url)\n"
        "    return MemoryStore()\n",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = StoreRegistry({"memory": open_memory})
    assert registry.schemes() == ["memory", "teststore", *SVCFLOW_OWN]
    store = registry.open("teststore://db.example/cases")
    import svcflow_teststore  # the module the entry point named, loaded on first use

    assert isinstance(store, MemoryStore)
    assert svcflow_teststore.OPENED == ["teststore://db.example/cases"]


def test_a_built_in_scheme_is_not_taken_over_by_an_entry_point(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, "svcflow_hijack", f"[{ENTRY_POINT_GROUP}]\nmemory = os:getcwd\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = StoreRegistry({"memory": open_memory})
    assert registry.schemes() == ["memory", *SVCFLOW_OWN]
    assert isinstance(registry.open("memory://"), MemoryStore)


def test_an_unknown_scheme_names_the_valid_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, "svcflow_db2", f"[{ENTRY_POINT_GROUP}]\ndb2 = svcflow_db2:open\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = StoreRegistry({"memory": open_memory})
    with pytest.raises(StoreError) as raised:
        registry.open("mysql://db/cases")
    assert str(raised.value) == (
        "unknown store URL 'mysql://db/cases': use 'memory://' or 'sqlite:///path/to/cases.db', "
        "or a scheme of an installed store: db2, postgres, postgresql"
    )


def test_an_entry_point_that_cannot_load_is_a_store_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install(tmp_path, "svcflow_broken", f"[{ENTRY_POINT_GROUP}]\nbroken = svcflow_missing:open\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = StoreRegistry({})
    with pytest.raises(StoreError) as raised:
        registry.open("broken://x")
    assert str(raised.value) == (
        "the store entry point 'broken' (svcflow_missing:open) in group 'svcflow.stores' cannot "
        "be loaded: ModuleNotFoundError: No module named 'svcflow_missing'"
    )
