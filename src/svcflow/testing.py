"""Test helpers for plugin authors and host applications: a pytest plugin.

Installed with svcflow and registered through the ``pytest11`` entry point, so its fixtures are
available in any project's tests without imports. Because pytest loads it in every test session
of a project that has svcflow installed, it imports the engine, pydantic and the loaders only
when a fixture or class here is first used:

``svcflow_clock``
    A :class:`~svcflow.ManualClock` at Monday 2026-03-02 09:00 UTC. Move it with ``advance``.
``svcflow_captured``
    A delivery plugin that owns the outbound channels ``email``, ``sms``, ``chat``, ``social``,
    ``webhook`` and ``console`` and keeps every :class:`~svcflow.hooks.types.Delivery` in
    ``.deliveries`` instead of sending it. ``fail_next(n)`` makes the next ``n`` deliveries
    raise, to test retries.
``svcflow_plugin``
    Registers an inline plugin (any object or module with ``@svcflow.hookimpl`` functions) on
    the engines ``svcflow_engine`` builds afterwards.
``svcflow_engine``
    A factory: ``svcflow_engine(workflows, **options)`` builds an :class:`~svcflow.Engine` on a
    fresh SQLite file in ``tmp_path`` with ``svcflow_clock``, the captured deliveries and the
    inline plugins, and without installed plugins (``load_plugins=False``) so tests do not
    depend on what else is installed. ``workflows`` is a folder, a workflow file, YAML text or
    loaded workflows. Engines are closed after the test.

``assert_erased(engine, customer_id)`` (a function) erases a customer and fails the test,
naming the plugins, when a plugin's ``svcflow_customer_erased`` raised (the engine only logs
that and lists them in ``ErasureReport.plugins_failed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from svcflow.clock import ManualClock
from svcflow.errors import DeliveryFailed
from svcflow.hooks.specs import hookimpl

if TYPE_CHECKING:
    from svcflow.definitions.workflow import LoadedWorkflow
    from svcflow.engine import Engine, ErasureReport
    from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt

__all__ = ["START", "CapturedDeliveries", "EngineFactory", "InlinePlugins", "assert_erased"]

START = datetime.fromisoformat("2026-03-02T09:00:00+00:00")
CAPTURED_CHANNELS = ("email", "sms", "chat", "social", "webhook", "console")


class CapturedDeliveries:
    """A delivery plugin that records instead of sending (see module docs)."""

    def __init__(self, channels: Iterable[str] = CAPTURED_CHANNELS) -> None:
        self.channels = tuple(channels)
        self.deliveries: list[Delivery] = []
        self.attempts: list[Delivery] = []
        self._failures: list[Exception] = []

    def fail_next(self, count: int = 1, error: Exception | None = None) -> None:
        """Make the next ``count`` deliveries raise ``error`` (a ``DeliveryFailed`` by default)."""
        self._failures.extend([error or DeliveryFailed("captured delivery told to fail")] * count)

    def by_template(self, template: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.template == template]

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        from svcflow.hooks.types import ChannelInfo

        return [ChannelInfo(name, outbound=True, description="captured") for name in self.channels]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt | None:
        from svcflow.hooks.types import DeliveryReceipt

        if delivery.channel not in self.channels:
            return None
        self.attempts.append(delivery)
        if self._failures:
            raise self._failures.pop(0)
        self.deliveries.append(delivery)
        return DeliveryReceipt(f"captured-{len(self.deliveries)}")


class EngineFactory:
    """What the ``svcflow_engine`` fixture returns: call it to build an engine."""

    def __init__(
        self,
        folder: Path,
        clock: ManualClock,
        captured: CapturedDeliveries,
        inline: list[object],
    ) -> None:
        self._folder, self._clock, self._captured, self._inline = folder, clock, captured, inline
        self.engines: list[Engine] = []

    def __call__(
        self,
        workflows: str | Path | Iterable[LoadedWorkflow],
        *,
        store: str | None = None,
        **options: Any,
    ) -> Engine:
        from svcflow.definitions.workflow import load_workflow_text
        from svcflow.engine import Engine, build_plugin_host
        from svcflow.spec.extensions import using_extensions

        store = store or f"sqlite:///{self._folder / f'cases-{len(self.engines)}.db'}"
        options.setdefault("load_plugins", False)
        plugins = [("svcflow.testing.captured", self._captured), *self._inline]
        plugins.extend(options.pop("plugins", ()))
        if isinstance(workflows, Path) or (
            isinstance(workflows, str) and "\n" not in workflows and Path(workflows).exists()
        ):
            path = Path(workflows)
            engine = Engine.from_directory(path, store, self._clock, plugins=plugins, **options)
        else:
            host = build_plugin_host(
                plugins,
                load_plugins=options.pop("load_plugins"),
                plugins_dir=options.pop("plugins_dir", None),
                directory=options.pop("directory", None),
            )
            with using_extensions(host.extensions()):
                loaded = (
                    [load_workflow_text(workflows, "<test>")]
                    if isinstance(workflows, str)
                    else list(workflows)
                )
            engine = Engine(loaded, store, self._clock, plugin_host=host, **options)
        self.engines.append(engine)
        return engine

    def close(self) -> None:
        for engine in self.engines:
            engine.close()


@pytest.fixture
def svcflow_clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def svcflow_captured() -> CapturedDeliveries:
    return CapturedDeliveries()


class InlinePlugins:
    """What the ``svcflow_plugin`` fixture returns: call it with a plugin (and optionally a
    name) to have the engines built afterwards register it; it returns the plugin."""

    def __init__(self) -> None:
        self.registered: list[object] = []

    def __call__(self, plugin: object, name: str | None = None) -> object:
        self.registered.append(plugin if name is None else (name, plugin))
        return plugin


@pytest.fixture
def svcflow_plugin() -> InlinePlugins:
    return InlinePlugins()


@pytest.fixture
def svcflow_engine(
    tmp_path: Path,
    svcflow_clock: ManualClock,
    svcflow_captured: CapturedDeliveries,
    svcflow_plugin: InlinePlugins,
) -> Iterator[EngineFactory]:
    factory = EngineFactory(tmp_path, svcflow_clock, svcflow_captured, svcflow_plugin.registered)
    yield factory
    factory.close()


def assert_erased(engine: Engine, customer_id: str) -> ErasureReport:
    """Erase the customer (``engine.erase_customer``) and return the report; fail the test,
    naming them, if plugins raised in ``svcflow_customer_erased`` (their copies may remain)."""
    report = engine.erase_customer(customer_id)
    if report.plugins_failed:
        names = ", ".join(f"'{name}'" for name in report.plugins_failed)
        pytest.fail(
            f"customer {customer_id} was erased, but plugin {names} raised in "
            "svcflow_customer_erased (see the log): its copies may remain",
            pytrace=False,
        )
    return report
