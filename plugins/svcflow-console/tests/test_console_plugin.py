"""The console plugin prints one readable block per delivery to the stream it was given."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pluggy
import pytest
import svcflow_console
from svcflow_console import ConsoleNotifier

from svcflow.errors import DeliveryFailed
from svcflow.hooks import specs as hookspecs
from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt, Recipient


def make_delivery(
    *,
    channel: str = "console",
    urgent: bool = False,
    name: str | None = "Li Wei",
    role: str | None = "customer",
    body: str = "Dear Li Wei,\n\na team lead now looks after your complaint.",
) -> Delivery:
    return Delivery(
        key="C-17:3:1",
        case_id="C-17",
        template="complaint_escalated",
        recipient=Recipient("li.wei@example.com", channel, name=name, role=role, locale="en"),
        subject="Your complaint is being escalated",
        body=body,
        locale="en",
        urgent=urgent,
        attempt=2,
        created_at=datetime(2026, 3, 2, 9, 20, tzinfo=UTC),
    )


def test_prints_a_readable_block_with_every_part() -> None:
    stream = io.StringIO()
    receipt = ConsoleNotifier(stream).svcflow_deliver(make_delivery(urgent=True))
    assert stream.getvalue() == (
        "--- 2026-03-02 09:20:00+00:00  URGENT ---\n"
        "To:      Li Wei <li.wei@example.com> (customer)\n"
        "Subject: Your complaint is being escalated\n"
        "    Dear Li Wei,\n"
        "\n"
        "    a team lead now looks after your complaint.\n"
        "Key:     C-17:3:1 (case C-17, attempt 2)\n"
        "\n"
    )
    assert receipt == DeliveryReceipt(reference=None, detail="printed to StringIO")


def test_not_urgent_without_name_role_or_body() -> None:
    stream = io.StringIO()
    ConsoleNotifier(stream).svcflow_deliver(make_delivery(name=None, role=None, body=""))
    assert stream.getvalue() == (
        "--- 2026-03-02 09:20:00+00:00 ---\n"
        "To:      li.wei@example.com\n"
        "Subject: Your complaint is being escalated\n"
        "Key:     C-17:3:1 (case C-17, attempt 2)\n"
        "\n"
    )


def test_defaults_to_stdout_at_delivery_time(capsys: pytest.CaptureFixture[str]) -> None:
    notifier = ConsoleNotifier()
    notifier.svcflow_deliver(make_delivery(body="你好"))
    out = capsys.readouterr().out
    assert out.splitlines()[3] == "    你好"
    assert svcflow_console.plugin.stream is notifier.stream


def test_ignores_other_channels() -> None:
    stream = io.StringIO()
    assert ConsoleNotifier(stream).svcflow_deliver(make_delivery(channel="email")) is None
    assert stream.getvalue() == ""


def test_registers_console_as_outbound() -> None:
    assert ConsoleNotifier().svcflow_register_channels() == [
        ChannelInfo("console", outbound=True, description="prints notifications to a terminal")
    ]


def test_stands_in_for_other_channels_it_is_given() -> None:
    stream = io.StringIO()
    notifier = ConsoleNotifier(stream, channels=("console", "sms", "email"))
    assert [info.name for info in notifier.svcflow_register_channels()] == [
        "console",
        "sms",
        "email",
    ]
    receipt = notifier.svcflow_deliver(make_delivery(channel="sms"))
    assert isinstance(receipt, DeliveryReceipt)
    assert "Subject: Your complaint is being escalated" in stream.getvalue()
    assert notifier.svcflow_deliver(make_delivery(channel="chat")) is None


def test_closed_stream_is_a_retryable_failure() -> None:
    stream = io.StringIO()
    stream.close()
    with pytest.raises(DeliveryFailed) as caught:
        ConsoleNotifier(stream).svcflow_deliver(make_delivery())
    assert str(caught.value) == (
        "could not print notification C-17:3:1 to StringIO: I/O operation on closed file"
    )


def test_works_through_pluggy_with_the_hookspecs() -> None:
    stream = io.StringIO()
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(ConsoleNotifier(stream), name="console")
    manager.check_pending()
    receipt = manager.hook.svcflow_deliver(delivery=make_delivery())
    assert receipt == DeliveryReceipt(detail="printed to StringIO")
    assert stream.getvalue().startswith("--- 2026-03-02 09:20:00+00:00 ---\n")


def test_entry_point_names_the_module_instance() -> None:
    from importlib.metadata import entry_points

    (point,) = [p for p in entry_points(group="svcflow") if p.name == "console"]
    assert point.value == "svcflow_console:plugin"
    assert point.load() is svcflow_console.plugin
