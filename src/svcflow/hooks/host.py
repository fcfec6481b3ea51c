"""The plugin host: a typed facade over pluggy, so engine code never calls hooks loosely.

Plugins come from four places, registered in this order (pluggy asks the most recently registered
first, so for first-result hooks a host's own plugin wins over an installed one, which wins over a
built-in; a channel, though, has one owner, and a second is an error): svcflow's built-ins, the
``svcflow`` entry-point group of installed packages, a plugins directory (``SVCFLOW_PLUGINS_DIR`` or
``plugins_dir=``: each ``*.py`` file is a plugin, its module-level ``plugin`` object if it has one,
else the module itself), and plugin objects the host passes in.
``SVCFLOW_DISABLE_PLUGINS=name,name`` (or ``blocked=``) blocks plugins by name, built-ins included.
Everything is checked at start-up: a hook implementation no hook spec matches (a misspelling), a
parameter the spec does not have, an ``async def`` where svcflow cannot await it, two plugins owning
one channel, a CEL function or action defined twice -- each a :class:`~svcflow.errors.PluginError`
that names the plugin.

Async plugins: pluggy calls hooks synchronously and does not await. ``svcflow_deliver`` and the
listener hooks may be ``async def``; the host runs their coroutines on its own event-loop thread
and waits for the result, so they work the same whether the host application is async or not.
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from svcflow.errors import (
    DeliveryFailed,
    MessageParseError,
    PluginError,
    UnknownChannel,
    did_you_mean,
)
from svcflow.hooks import specs as hookspecs
from svcflow.hooks.specs import ASYNC_HOOKS, PROJECT
from svcflow.hooks.types import (
    Assignment,
    CaseLookup,
    ChannelInfo,
    Classification,
    CustomerErasure,
    Delivery,
    DeliveryReceipt,
    InboundMessage,
    Recipient,
)
from svcflow.privacy import masked_logger
from svcflow.records import Case, Customer, HistoryEntry
from svcflow.spec.extensions import ActionCall, Extensions

__all__ = [
    "BLOCK_ENV",
    "ENTRY_POINT_GROUP",
    "PLUGINS_DIR_ENV",
    "PluginHost",
    "PluginInfo",
    "WorkflowAction",
]

ENTRY_POINT_GROUP = "svcflow"
BLOCK_ENV = "SVCFLOW_DISABLE_PLUGINS"
PLUGINS_DIR_ENV = "SVCFLOW_PLUGINS_DIR"
DEFAULT_DELIVERY_TIMEOUT = 30.0

WorkflowAction = Callable[[ActionCall], Mapping[str, Any] | None]

_log = masked_logger("svcflow.plugins")


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """One registered plugin, as ``svcflow plugins`` lists it."""

    name: str
    source: str
    hooks: tuple[str, ...]
    channels: tuple[ChannelInfo, ...] = ()


@dataclass(slots=True)
class _Owners:
    inbound: dict[str, str] = field(default_factory=dict)
    outbound: dict[str, str] = field(default_factory=dict)
    info: dict[str, list[ChannelInfo]] = field(default_factory=dict)


class PluginHost:
    """The loaded plugins of one engine, and the only way engine code calls hooks.

    ``plugins`` are objects (or ``(name, object)`` pairs) with ``@svcflow.hookimpl`` methods or
    functions. ``entry_points=False`` skips installed packages (for tests and for hosts that
    choose plugins explicitly). ``builtins`` are the plugin objects svcflow registers first
    (the engine passes its channels, matcher, classifier and directory).
    """

    def __init__(
        self,
        plugins: Iterable[object | tuple[str, object]] = (),
        *,
        builtins: Iterable[tuple[str, object]] = (),
        entry_points: bool = True,
        plugins_dir: str | Path | None = None,
        blocked: Iterable[str] = (),
        environ: Mapping[str, str] | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        self._manager = pluggy.PluginManager(PROJECT)
        self._manager.add_hookspecs(hookspecs)
        self._sources: dict[str, str] = {}
        self.blocked = frozenset(
            {
                *blocked,
                *(name.strip() for name in env.get(BLOCK_ENV, "").split(",") if name.strip()),
            }
        )
        for name in self.blocked:
            self._manager.set_blocked(name)
        for name, plugin in builtins:
            self._register(plugin, name, "built-in")
        if entry_points:
            self._load_entry_points()
        directory = plugins_dir if plugins_dir is not None else env.get(PLUGINS_DIR_ENV)
        if directory:
            self._load_directory(Path(directory))
        for given in plugins:
            name, plugin = given if isinstance(given, tuple) else (None, given)
            self._register(plugin, name or _default_name(plugin), "host")
        self._check()
        self._owners = self._channel_owners()
        self._functions = self._named("svcflow_cel_functions", "CEL function")
        self._actions: dict[str, WorkflowAction] = self._named(
            "svcflow_workflow_actions", "workflow action"
        )
        self._owned: dict[tuple[str, str], Callable[..., Any] | None] = {}
        self._roles = _sole(self._caller("svcflow_actor_roles"), ("actor",))
        self._recipients = _sole(
            self._caller("svcflow_resolve_recipients"), ("role", "case", "customer", "message")
        )
        self._listening = any(
            self._caller(name).get_hookimpls()
            for name in ("svcflow_case_transition", "svcflow_sla_warning", "svcflow_sla_breach")
        )
        self._loop: _LoopThread | None = None
        self._loop_lock = threading.Lock()

    # -- loading ----------------------------------------------------------------------------------

    def _register(self, plugin: object, name: str, source: str) -> None:
        if self._manager.is_blocked(name):
            return
        if self._manager.has_plugin(name):
            raise PluginError(
                f"two plugins are named '{name}' ({self._sources[name]} and {source}); plugin "
                "names must be unique"
            )
        try:
            self._manager.register(plugin, name=name)
        except pluggy.PluginValidationError as error:
            raise PluginError(f"plugin '{name}' ({source}) is invalid: {error}") from None
        self._sources[name] = source

    def _load_entry_points(self) -> None:
        for point in entry_points(group=ENTRY_POINT_GROUP):
            if self._manager.is_blocked(point.name):
                continue
            package = f"{point.dist.name} {point.dist.version}" if point.dist else "unknown package"
            try:
                plugin = point.load()
            except Exception as error:
                raise PluginError(
                    f"plugin '{point.name}' (entry point {point.value} of {package}) failed to "
                    f"load: {type(error).__name__}: {error}; fix or uninstall it, or block it "
                    f"with {BLOCK_ENV}={point.name}"
                ) from error
            self._register(plugin, point.name, f"entry point of {package}")

    def _load_directory(self, directory: Path) -> None:
        if not directory.is_dir():
            raise PluginError(
                f"the plugins directory {directory} does not exist; create it or unset "
                f"{PLUGINS_DIR_ENV}"
            )
        for file in sorted(directory.glob("*.py")):
            if file.name.startswith("_") or self._manager.is_blocked(file.stem):
                continue
            module = _import_file(file)
            self._register(getattr(module, "plugin", module), file.stem, f"file {file}")

    def _check(self) -> None:
        """Fail at start-up, naming the plugin, for anything that would otherwise fail late."""
        known = sorted(name for name in dir(hookspecs) if name.startswith("svcflow_"))
        for name, plugin in self._manager.list_name_plugin():
            if plugin is None:
                continue
            for attribute in _hook_like_names(plugin):
                if attribute not in known:
                    raise PluginError(
                        f"plugin '{name}' ({self._sources.get(name, 'host')}) implements "
                        f"unknown hook '{attribute}'" + did_you_mean(attribute, known, noun="hook")
                    )
        try:
            self._manager.check_pending()
        except pluggy.PluginValidationError as error:
            raise PluginError(str(error)) from None
        for hook_name in known:
            if hook_name in ASYNC_HOOKS:
                continue
            for impl in self._caller(hook_name).get_hookimpls():
                if inspect.iscoroutinefunction(impl.function):
                    raise PluginError(
                        f"plugin '{impl.plugin_name}' implements {hook_name} as 'async def'; "
                        f"svcflow calls it inside a step and cannot await it. Only "
                        f"{', '.join(sorted(ASYNC_HOOKS))} may be async"
                    )

    def _channel_owners(self) -> _Owners:
        owners = _Owners()
        for impl in self._caller("svcflow_register_channels").get_hookimpls():
            declared = list(impl.function() or ())
            owners.info[impl.plugin_name] = declared
            for channel in declared:
                for direction, table in (
                    ("inbound", owners.inbound),
                    ("outbound", owners.outbound),
                ):
                    if not getattr(channel, direction):
                        continue
                    if channel.name in table and table[channel.name] != impl.plugin_name:
                        raise PluginError(
                            f"channel '{channel.name}' ({direction}) is claimed by two plugins, "
                            f"'{table[channel.name]}' and '{impl.plugin_name}'; block one with "
                            f"{BLOCK_ENV}"
                        )
                    table[channel.name] = impl.plugin_name
        return owners

    def _named(self, hook_name: str, noun: str) -> dict[str, Any]:
        found: dict[str, Any] = {}
        owner: dict[str, str] = {}
        for impl in self._caller(hook_name).get_hookimpls():
            for name, value in dict(impl.function() or {}).items():
                if name in found:
                    raise PluginError(
                        f"{noun} '{name}' is defined by two plugins, '{owner[name]}' and "
                        f"'{impl.plugin_name}'; rename one or block one with {BLOCK_ENV}"
                    )
                if not callable(value):
                    raise PluginError(
                        f"{noun} '{name}' of plugin '{impl.plugin_name}' is not callable"
                    )
                found[name], owner[name] = value, impl.plugin_name
        return found

    def _caller(self, hook_name: str) -> Any:
        return getattr(self._manager.hook, hook_name)

    # -- what is loaded ---------------------------------------------------------------------------

    def plugins(self) -> list[PluginInfo]:
        """Every registered plugin: its name, where it came from, the hooks it implements."""
        listed = []
        for name, plugin in self._manager.list_name_plugin():
            if plugin is None:  # a blocked name
                continue
            callers = self._manager.get_hookcallers(plugin) or []
            hooks = tuple(sorted(caller.name for caller in callers))
            listed.append(
                PluginInfo(
                    name,
                    self._sources.get(name, "host"),
                    hooks,
                    tuple(self._owners.info.get(name, ())),
                )
            )
        return listed

    @property
    def inbound_channels(self) -> list[str]:
        return sorted(self._owners.inbound)

    @property
    def outbound_channels(self) -> list[str]:
        return sorted(self._owners.outbound)

    def get(self, name: str) -> object | None:
        """The registered plugin object named ``name`` (None if absent or blocked)."""
        plugin: object | None = self._manager.get_plugin(name)
        return plugin

    def extensions(self) -> Extensions:
        """The plugin CEL functions and actions, for loading workflows with
        ``svcflow.spec.extensions.using_extensions``."""
        return Extensions(self.cel_functions(), self.workflow_actions())

    def cel_functions(self) -> dict[str, Callable[..., Any]]:
        """Every plugin CEL function by name (known to workflows as they load)."""
        return dict(self._functions)

    def workflow_actions(self) -> dict[str, WorkflowAction]:
        """Every plugin workflow action by name (``- call: {action: NAME}``)."""
        return dict(self._actions)

    # -- intake -----------------------------------------------------------------------------------

    def verify_request(
        self, channel: str, body: bytes, headers: Mapping[str, str], url: str
    ) -> bool:
        """Whether the owner of inbound ``channel`` accepts the request's signature (True when
        it does not check signatures); ``UnknownChannel`` when nobody reads ``channel``."""
        if channel not in self._owners.inbound:
            raise UnknownChannel(channel, self._owners.inbound, "inbound")
        function = self._owned_function("svcflow_verify_request", self._owners.inbound, channel)
        if function is None:
            return True
        verdict = function(channel=channel, body=body, headers=headers, url=url)
        return verdict is None or verdict is True

    def parse(self, channel: str, raw: Any) -> InboundMessage:
        """The owning plugin's reading of ``raw``; ``MessageParseError`` says why not."""
        function = self._owned_function("svcflow_parse_message", self._owners.inbound, channel)
        if function is None:
            raise UnknownChannel(channel, self._owners.inbound, "inbound")
        message = function(channel=channel, raw=raw)
        if not isinstance(message, InboundMessage):
            raise MessageParseError(
                f"the '{self._owners.inbound[channel]}' plugin returned "
                f"{type(message).__name__} instead of an InboundMessage"
            )
        return message

    def identify_customer(
        self, channel: str, address: str, message: InboundMessage
    ) -> Customer | None:
        found: Customer | None = self._manager.hook.svcflow_identify_customer(
            channel=channel, address=address, message=message
        )
        return found

    def reply_channel(self, channel: str) -> str | None:
        """The reply channel the plugin owning ``channel`` inbound declared, if any."""
        for declared in self._owners.info.values():
            for info in declared:
                if info.name == channel and info.reply_channel:
                    return info.reply_channel
        return None

    def match_case(self, message: InboundMessage, lookup: CaseLookup) -> str | None:
        found: str | None = self._manager.hook.svcflow_match_case(message=message, lookup=lookup)
        return found

    def classify(self, message: InboundMessage) -> InboundMessage:
        """``message`` with every classifier's verdict merged: for each part the first plugin
        that sets it wins (most recently registered first); tags are combined."""
        verdicts: list[Classification | None] = self._manager.hook.svcflow_classify_message(
            message=message
        )
        for verdict in reversed([v for v in verdicts if v is not None]):
            message = message.classified(verdict)
        return message

    def choose_assignee(self, message: InboundMessage, workflow: str) -> Assignment | None:
        chosen: Assignment | None = self._manager.hook.svcflow_choose_assignee(
            message=message, workflow=workflow
        )
        return chosen

    # -- authority --------------------------------------------------------------------------------

    def actor_roles(self, actor: str) -> frozenset[str]:
        """The roles the host's identity system gives ``actor`` (none if nobody knows them)."""
        found: Iterable[str] | None = (
            self._manager.hook.svcflow_actor_roles(actor=actor)
            if self._roles is None
            else self._roles(actor)
        )
        return frozenset() if found is None else frozenset(str(role) for role in found)

    # -- notifications ----------------------------------------------------------------------------

    def resolve_recipients(
        self,
        role: str,
        case: Case,
        customer: Customer | None = None,
        message: InboundMessage | None = None,
    ) -> list[Recipient] | None:
        found: list[Recipient] | None = (
            self._manager.hook.svcflow_resolve_recipients(
                role=role, case=case, customer=customer, message=message
            )
            if self._recipients is None
            else self._recipients(role, case, customer, message)
        )
        return None if found is None else list(found)

    def deliver(
        self, delivery: Delivery, timeout: float = DEFAULT_DELIVERY_TIMEOUT
    ) -> DeliveryReceipt:
        """Hand ``delivery`` to the plugin owning its channel; raise ``DeliveryFailed``
        (retry later) or ``PermanentDeliveryError`` (dead-letter), or whatever the plugin
        raised.

        ``timeout`` (seconds) bounds the whole attempt, for every plugin: a synchronous one
        runs on a worker thread that is abandoned (left to finish on its own) when the time
        is up, a coroutine is awaited on the host's loop thread and cancelled. Either way the
        caller gets ``DeliveryFailed`` at the deadline, and the receiver may still get this
        attempt: delivery is at least once, keyed by ``delivery.key``."""
        owners = self._owners.outbound
        function = self._owned_function("svcflow_deliver", owners, delivery.channel)
        if function is None:
            raise DeliveryFailed(str(UnknownChannel(delivery.channel, owners, "outbound")))
        deadline = time.monotonic() + timeout
        try:
            result = _within(lambda: function(delivery=delivery), timeout)
            result = self._settle(result, max(deadline - time.monotonic(), 0.001))
        except _Overdue:
            raise DeliveryFailed(
                f"the '{owners[delivery.channel]}' plugin did not finish a "
                f"'{delivery.channel}' delivery within {timeout:g} s"
            ) from None
        if result is None:
            raise DeliveryFailed(
                f"the '{owners[delivery.channel]}' plugin returned nothing for a "
                f"'{delivery.channel}' delivery; svcflow_deliver must return a receipt"
            )
        return result if isinstance(result, DeliveryReceipt) else DeliveryReceipt(str(result))

    # -- listeners --------------------------------------------------------------------------------

    def has_listeners(self) -> bool:
        """Whether any plugin listens (plugins are fixed once the host starts, so this is
        decided once; the engine asks after every commit)."""
        return self._listening

    def case_changed(self, case: Case, entry: HistoryEntry) -> None:
        """Tell listeners about a committed change: the transition, then each SLA warning and
        breach it recorded. A listener that raises is logged; the others still hear of it."""
        self._notify_listeners("svcflow_case_transition", case=case, entry=entry)
        if entry.kind != "sla":  # warnings and breaches happen when their timer fires; a
            return  # later stop repeats "breached" as the clock's outcome
        for event in entry.details.get("sla", ()):
            kind = event.get("event")
            if kind == "warned":
                self._notify_listeners("svcflow_sla_warning", case=case, event=event)
            elif kind == "breached":
                self._notify_listeners("svcflow_sla_breach", case=case, event=event)

    def customer_erased(self, erasure: CustomerErasure) -> tuple[str, ...]:
        """Tell every plugin that keeps copies that a customer was erased; the names of those
        that raised (each logged without the customer's data), in call order."""
        failed: list[str] = []
        for impl in self._caller("svcflow_customer_erased").get_hookimpls():
            try:
                self._settle(impl.function(erasure=erasure), DEFAULT_DELIVERY_TIMEOUT)
            except Exception as error:
                _log.error(
                    "plugin '%s' failed in svcflow_customer_erased for customer %s: %s",
                    impl.plugin_name,
                    erasure.customer_id,
                    type(error).__name__,
                )
                failed.append(impl.plugin_name)
        return tuple(failed)

    def _notify_listeners(self, hook_name: str, **arguments: Any) -> None:
        for impl in self._caller(hook_name).get_hookimpls():
            try:
                self._settle(impl.function(**arguments), DEFAULT_DELIVERY_TIMEOUT)
            except Exception:
                _log.exception("plugin '%s' failed in %s", impl.plugin_name, hook_name)

    # -- plumbing ---------------------------------------------------------------------------------

    def _owned_function(
        self, hook_name: str, owners: Mapping[str, str], channel: str
    ) -> Callable[..., Any] | None:
        owner = owners.get(channel)
        if owner is None:
            return None
        key = (hook_name, owner)
        if key not in self._owned:
            self._owned[key] = next(
                (
                    impl.function
                    for impl in self._caller(hook_name).get_hookimpls()
                    if impl.plugin_name == owner
                ),
                None,
            )
        return self._owned[key]

    def _settle(self, result: Any, timeout: float) -> Any:
        if not inspect.iscoroutine(result):
            return result
        with self._loop_lock:
            if self._loop is None:
                self._loop = _LoopThread()
        return self._loop.run(result, timeout)

    def close(self) -> None:
        """Stop the event-loop thread of async plugins, if one was started."""
        with self._loop_lock:
            if self._loop is not None:
                self._loop.stop()
                self._loop = None


class _Overdue(Exception):
    """A plugin call ran past its deadline."""


def _within(call: Callable[[], Any], timeout: float) -> Any:
    """``call()`` on a daemon worker thread, waited for at most ``timeout`` seconds: its
    result, or what it raised; ``_Overdue`` when the time is up (the thread runs on)."""
    outcome: list[Any] = []
    failure: list[BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            failure.append(error)
        finally:
            done.set()

    threading.Thread(target=run, name="svcflow-delivery", daemon=True).start()
    if not done.wait(timeout):
        raise _Overdue(f"did not finish within {timeout:g} s")
    if failure:
        raise failure[0]
    return outcome[0]


class _LoopThread:
    """An asyncio loop on a daemon thread, where async plugin coroutines run."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="svcflow-async-plugins", daemon=True
        )
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any], timeout: float) -> Any:
        future = asyncio.run_coroutine_threadsafe(coroutine, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            raise _Overdue(f"did not finish within {timeout:g} s") from None

    def stop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


def _sole(caller: Any, parameters: tuple[str, ...]) -> Callable[..., Any] | None:
    """A ``firstresult`` hook's only implementation, to call with the hook's ``parameters`` in
    order without pluggy's loop (what it returns is what pluggy would return from it alone);
    None when several plugins implement the hook, or a wrapper does. Asked on every event
    (the roles of an actor, the recipients of a notice), with plugins fixed once the host
    starts; pluggy's call monitoring does not see these calls."""
    found = caller.get_hookimpls()
    if len(found) != 1 or found[0].hookwrapper or found[0].wrapper or found[0].kwargnames:
        return None
    function: Callable[..., Any] = found[0].function
    names = tuple(found[0].argnames)
    if names == parameters:
        return function
    positions = [parameters.index(name) for name in names]
    return lambda *given: function(*[given[at] for at in positions])


def _default_name(plugin: object) -> str:
    if isinstance(plugin, ModuleType):
        return plugin.__name__
    return f"{type(plugin).__module__}.{type(plugin).__qualname__}"


def _hook_like_names(plugin: object) -> list[str]:
    """Attributes marked as svcflow hook implementations (whatever their name)."""
    names = []
    for attribute in dir(plugin):
        try:
            value = getattr(plugin, attribute)
        except Exception:
            continue
        options = getattr(value, f"{PROJECT}_impl", None)
        if options is not None:
            names.append((options or {}).get("specname") or attribute)
    return names


def _import_file(file: Path) -> ModuleType:
    module_name = f"svcflow_plugins_dir.{file.stem}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    if spec is None or spec.loader is None:
        raise PluginError(f"cannot import plugin file {file}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[module_name]
        raise PluginError(
            f"plugin file {file} failed to import: {type(error).__name__}: {error}"
        ) from error
    return module
