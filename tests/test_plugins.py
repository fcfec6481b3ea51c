"""The plugin host: where plugins come from, what is checked at start-up, and each hook the
engine calls -- CEL functions, workflow actions, listeners and async plugins."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from svcflow import Engine, hookimpl
from svcflow.cli import main
from svcflow.clock import ManualClock
from svcflow.engine import build_plugin_host
from svcflow.errors import PluginError, WorkflowDefinitionError
from svcflow.hooks.host import PluginHost
from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt
from svcflow.records import Case, HistoryEntry
from svcflow.spec.extensions import ActionCall
from svcflow.testing import EngineFactory, InlinePlugins

BUILTINS = [
    "svcflow.channels.email",
    "svcflow.channels.sms",
    "svcflow.channels.chat",
    "svcflow.channels.web_form",
    "svcflow.channels.phone",
    "svcflow.channels.social",
    "svcflow.matcher",
    "svcflow.classifier",
    "svcflow.directory",
]

PRIORITY = """\
workflow: vip
version: 1
title: VIP routing
data:
  customer: {type: string, required: true}
  tier: string
  discount: {type: number, default: 0}
states:
  new: {initial: true}
  vip_desk: {}
  front_line: {}
  closed: {final: true}
transitions:
  - {trigger: close, from: "*", to: closed}
  - {trigger: route, from: new, to: vip_desk, when: is_vip(customer)}
  - {trigger: route, from: new, to: front_line}
  - trigger: price
    from: [vip_desk, front_line]
    actions: [{call: {action: crm_lookup, with: {customer: {expr: customer}, channel: email}}}]
"""


class Crm:
    """A plugin with a CEL function and a workflow action, as a CRM integration would be."""

    def __init__(self) -> None:
        self.calls: list[ActionCall] = []

    @hookimpl
    def svcflow_cel_functions(self) -> Mapping[str, Any]:
        return {"is_vip": lambda customer: str(customer).startswith("vip-")}

    @hookimpl
    def svcflow_workflow_actions(self) -> Mapping[str, Any]:
        return {"crm_lookup": self.lookup}

    def lookup(self, call: ActionCall) -> Mapping[str, Any]:
        self.calls.append(call)
        if call.arguments["customer"] == "broken":
            raise TimeoutError("CRM did not answer")
        return {"tier": "gold", "discount": 0.05}


def test_builtins_then_host_plugins_are_registered_and_listed() -> None:
    host = build_plugin_host([("crm", Crm())], load_plugins=False)
    listed = {info.name: info for info in host.plugins()}
    assert list(listed) == [*BUILTINS, "crm"]
    assert listed["crm"].source == "host"
    assert listed["crm"].hooks == ("svcflow_cel_functions", "svcflow_workflow_actions")
    assert listed["svcflow.channels.email"].source == "built-in"
    assert host.inbound_channels == ["chat", "email", "phone", "sms", "social", "web_form"]
    assert host.outbound_channels == []


def test_a_misspelled_hook_fails_at_start_up_naming_the_plugin() -> None:
    class Typo:
        @hookimpl
        def svcflow_delivr(self, delivery: Delivery) -> None: ...

    with pytest.raises(PluginError) as caught:
        PluginHost([("typo", Typo())], entry_points=False)
    assert str(caught.value) == (
        "plugin 'typo' (host) implements unknown hook 'svcflow_delivr'; did you mean "
        "'svcflow_deliver'? hooks: svcflow_actor_roles, svcflow_case_transition, "
        "svcflow_cel_functions, "
        "svcflow_choose_assignee, svcflow_classify_message, svcflow_customer_erased, "
        "svcflow_deliver, "
        "svcflow_identify_customer, svcflow_match_case, svcflow_parse_message, "
        "svcflow_register_channels, svcflow_resolve_recipients, svcflow_sla_breach, "
        "svcflow_sla_warning, svcflow_verify_request, svcflow_workflow_actions"
    )


def test_a_parameter_the_hook_does_not_have_fails_at_start_up() -> None:
    class Wrong:
        @hookimpl
        def svcflow_deliver(self, delivery: Delivery, retries: int) -> None: ...

    with pytest.raises(PluginError) as caught:
        PluginHost([("wrong", Wrong())], entry_points=False)
    assert str(caught.value).startswith("plugin 'wrong' (host) is invalid: Plugin 'wrong' for ")
    assert "hook 'svcflow_deliver'" in str(caught.value)
    assert "Argument(s) {'retries'} are declared in the hookimpl" in str(caught.value)


def test_async_is_refused_where_svcflow_cannot_await() -> None:
    class AsyncMatcher:
        @hookimpl
        async def svcflow_match_case(self, message: Any, lookup: Any) -> None: ...

    with pytest.raises(PluginError) as caught:
        PluginHost([("async-matcher", AsyncMatcher())], entry_points=False)
    assert str(caught.value) == (
        "plugin 'async-matcher' implements svcflow_match_case as 'async def'; svcflow calls it "
        "inside a step and cannot await it. Only svcflow_case_transition, svcflow_customer_erased, "
        "svcflow_deliver, "
        "svcflow_sla_breach, svcflow_sla_warning may be async"
    )


def test_two_plugins_owning_one_channel_fail_at_start_up() -> None:
    class Mailer:
        def __init__(self) -> None:
            self.sent: list[Delivery] = []

        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("email", outbound=True)]

    with pytest.raises(PluginError) as caught:
        PluginHost([("mailer-a", Mailer()), ("mailer-b", Mailer())], entry_points=False)
    assert str(caught.value) == (
        "channel 'email' (outbound) is claimed by two plugins, 'mailer-a' and 'mailer-b'; "
        "block one with SVCFLOW_DISABLE_PLUGINS"
    )


def test_a_plugin_named_in_the_environment_is_blocked() -> None:
    host = PluginHost(
        [("crm", Crm())],
        builtins=[("svcflow.classifier", object())],
        entry_points=False,
        environ={"SVCFLOW_DISABLE_PLUGINS": "crm, svcflow.classifier"},
    )
    assert host.plugins() == []
    assert host.blocked == {"crm", "svcflow.classifier"}
    assert host.cel_functions() == {}


def fake_distribution(root: Path, module: str, body: str, *, broken: bool = False) -> None:
    """An installed package with an entry point in the ``svcflow`` group, as pip leaves it."""
    (root / f"{module}.py").write_text(textwrap.dedent(body), encoding="utf-8")
    info = root / f"{module.replace('_', '-')}-1.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 1.2\n",
        encoding="utf-8",
    )
    target = f"{module}:missing" if broken else f"{module}:plugin"
    (info / "entry_points.txt").write_text(
        f"[svcflow]\n{module.removeprefix('svcflow_')} = {target}\n", encoding="utf-8"
    )


PAGER_PLUGIN = """\
from svcflow import hookimpl
from svcflow.hooks.types import ChannelInfo


class Pager:
    @hookimpl
    def svcflow_register_channels(self):
        return [ChannelInfo("pager", outbound=True, description="pages the on-call phone")]


plugin = Pager()
"""


def test_installed_packages_are_found_through_the_entry_point_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(tmp_path, "svcflow_pager", PAGER_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    host = build_plugin_host(environ_blocked := ())
    assert environ_blocked == ()
    [pager] = [info for info in host.plugins() if info.name == "pager"]
    assert pager.source == "entry point of svcflow-pager 1.2"
    assert "pager" in host.outbound_channels
    monkeypatch.setenv("SVCFLOW_DISABLE_PLUGINS", "pager")
    assert "pager" not in {info.name for info in build_plugin_host().plugins()}
    sys.modules.pop("svcflow_pager", None)


def test_a_package_whose_plugin_fails_to_load_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_distribution(tmp_path, "svcflow_pager", PAGER_PLUGIN, broken=True)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError) as caught:
        build_plugin_host()
    assert str(caught.value) == (
        "plugin 'pager' (entry point svcflow_pager:missing of svcflow-pager 1.2) failed to "
        "load: AttributeError: module 'svcflow_pager' has no attribute 'missing'; fix or "
        "uninstall it, or block it with SVCFLOW_DISABLE_PLUGINS=pager"
    )
    sys.modules.pop("svcflow_pager", None)


def test_a_plugins_directory_adds_cel_functions_to_workflows(
    tmp_path: Path, svcflow_engine: EngineFactory
) -> None:
    folder = tmp_path / "local-plugins"
    folder.mkdir()
    (folder / "loyalty.py").write_text(
        "from svcflow import hookimpl\n\n\n@hookimpl\ndef svcflow_cel_functions():\n"
        "    return {'is_vip': lambda customer: customer.startswith('vip-')}\n",
        encoding="utf-8",
    )
    (folder / "_private.py").write_text("raise RuntimeError('never imported')\n")
    engine = svcflow_engine(PRIORITY.split("  - trigger: price")[0], plugins_dir=folder)
    [loyalty] = [info for info in engine.plugins.plugins() if info.name == "loyalty"]
    assert loyalty.source == f"file {folder / 'loyalty.py'}"
    vip = engine.start("vip", {"customer": "vip-ann"})
    assert engine.fire(vip.id, "route").state == "vip_desk"
    other = engine.start("vip", {"customer": "bo"})
    assert engine.fire(other.id, "route").state == "front_line"


def test_a_workflow_using_a_function_no_plugin_provides_fails_to_load(
    svcflow_engine: EngineFactory,
) -> None:
    with pytest.raises(WorkflowDefinitionError) as caught:
        svcflow_engine(PRIORITY)
    assert str(caught.value) == (
        "2 problems in <test>\n"
        "<test>:15:53: transitions[1].when: unknown function 'is_vip' in expression "
        "`is_vip(customer)`; functions: all, bytes, contains, double, duration, dyn, endsWith, "
        "exists, exists_one, filter, getDate, getDayOfMonth, getDayOfWeek, getDayOfYear, "
        "getFullYear, getHours, getMilliseconds, getMinutes, getMonth, getSeconds, has, int, "
        "map, matches, size, startsWith, string, timestamp, type, uint\n"
        "<test>:19:31: transitions[3].actions[0].call.action: unknown action 'crm_lookup'; "
        "plugin actions: (none) (actions come from plugins: install or register the plugin "
        "that provides it)"
    )


def test_a_plugin_action_sets_fields_and_a_failing_one_writes_nothing(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    crm = Crm()
    svcflow_plugin(crm, "crm")
    engine = svcflow_engine(PRIORITY)
    case = engine.start("vip", {"customer": "vip-ann"})
    engine.fire(case.id, "route")
    priced = engine.fire(case.id, "price")
    assert (priced.data["tier"], priced.data["discount"]) == ("gold", 0.05)
    [call] = crm.calls
    assert (call.action, call.case_id, call.state) == ("crm_lookup", case.id, "vip_desk")
    assert call.arguments == {"customer": "vip-ann", "channel": "email"}
    broken = engine.start("vip", {"customer": "broken"})
    engine.fire(broken.id, "route")
    before = engine.get(broken.id)
    with pytest.raises(PluginError) as caught:
        engine.fire(broken.id, "price")
    assert str(caught.value) == (
        "<test>:19:15: plugin action 'crm_lookup' failed: TimeoutError: CRM did not answer; "
        "nothing was written"
    )
    assert engine.get(broken.id) == before


SLA_FLOW = """\
workflow: callback
version: 1
title: Callback
states:
  waiting: {initial: true}
  done: {final: true}
transitions:
  - {trigger: call_back, from: waiting, to: done}
sla:
  calendar: 24x7
  metrics:
    callback:
      start: {enter: waiting}
      stop: {enter: done}
      targets: [{within: 1h}]
      warnings: [{at: 50%}]
"""


class Listener:
    def __init__(self) -> None:
        self.heard: list[tuple[str, str, Any]] = []

    @hookimpl
    def svcflow_case_transition(self, case: Case, entry: HistoryEntry) -> None:
        self.heard.append(("transition", entry.kind, entry.to_state))

    @hookimpl
    async def svcflow_sla_warning(self, case: Case, event: Mapping[str, Any]) -> None:
        await asyncio.sleep(0)
        self.heard.append(("warning", event["metric"], event["used"]))

    @hookimpl
    def svcflow_sla_breach(self, case: Case, event: Mapping[str, Any]) -> None:
        self.heard.append(("breach", event["metric"], event["used"]))


class Grumpy:
    @hookimpl
    def svcflow_case_transition(self, case: Case, entry: HistoryEntry) -> None:
        raise RuntimeError("analytics warehouse down")


def test_listeners_hear_transitions_warnings_and_breaches_after_commit(
    svcflow_engine: EngineFactory,
    svcflow_plugin: InlinePlugins,
    svcflow_clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    listener = Listener()
    svcflow_plugin(Grumpy(), "grumpy")
    svcflow_plugin(listener, "listener")
    engine = svcflow_engine(SLA_FLOW)
    with caplog.at_level(logging.ERROR, logger="svcflow.plugins"):
        case = engine.start("callback")
        svcflow_clock.advance("2h")
        engine.advance()
    assert listener.heard == [
        ("transition", "started", "waiting"),
        ("transition", "sla", "waiting"),
        ("warning", "callback", "30m"),
        ("transition", "sla", "waiting"),
        ("breach", "callback", "1h"),
    ]
    assert caplog.text.count("plugin 'grumpy' failed in svcflow_case_transition") == 3
    assert "analytics warehouse down" in caplog.text
    assert len(engine.history(case.id)) == 3  # the failing listener undid nothing


def test_an_async_delivery_plugin_is_awaited(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    class AsyncPager:
        def __init__(self) -> None:
            self.sent: list[str] = []

        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        async def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
            await asyncio.sleep(0)
            self.sent.append(delivery.key)
            return DeliveryReceipt(f"page-{len(self.sent)}")

    pager = svcflow_plugin(AsyncPager(), "async-pager")
    engine = svcflow_engine(
        SLA_FLOW.replace(
            "  waiting: {initial: true}",
            "  waiting:\n    initial: true\n    on_enter: [{notify: {template: wait, to: oncall}}]",
        ),
        directory={"oncall": {"address": "7001", "channel": "pager"}},
    )
    case = engine.start("callback")
    report = engine.dispatch()
    assert [e.key for e in report.delivered] == [f"{case.id}:1:1:1"]
    assert isinstance(pager, AsyncPager) and pager.sent == [f"{case.id}:1:1:1"]
    assert engine.outbox(case.id)[0].reference == "page-1"


def test_the_plugins_command_lists_plugins_hooks_and_channels(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SVCFLOW_DISABLE_PLUGINS", "svcflow.classifier")
    folder = tmp_path / "local"
    folder.mkdir()
    (folder / "pager.py").write_text(PAGER_PLUGIN, encoding="utf-8")
    assert main(["plugins", "--plugins-dir", str(folder)]) == 0
    out = capsys.readouterr().out
    assert (
        "svcflow.channels.email  (built-in)\n"
        "  hooks: svcflow_parse_message, svcflow_register_channels\n"
        "  channel email (inbound): E-mail (RFC 5322 messages)\n"
    ) in out
    assert (
        f"pager  (file {folder / 'pager.py'})\n"
        "  hooks: svcflow_register_channels\n"
        "  channel pager (outbound): pages the on-call phone\n"
    ) in out
    assert "svcflow.classifier  (" not in out
    assert "blocked: svcflow.classifier\n" in out
    [inbound] = [line for line in out.splitlines() if line.startswith("inbound channels: ")]
    listed = inbound.removeprefix("inbound channels: ").split(", ")
    assert {"chat", "email", "phone", "sms", "social", "web_form"} <= set(listed)
    assert listed == sorted(listed)  # installed packages may add their own


def test_an_engine_loads_installed_plugins_unless_told_not_to(clock: ManualClock) -> None:
    engine = Engine([], "memory://", clock, load_plugins=False)
    assert [info.name for info in engine.plugins.plugins()] == BUILTINS
    engine.close()
