"""Personal data and secrets: masked in every log line, kept out of stored outbox rows."""

from __future__ import annotations

import ast
import logging
from pathlib import Path

import pytest

from support.workflows import ROOT
from svcflow import Engine, hookimpl
from svcflow.errors import PermanentDeliveryError
from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt
from svcflow.privacy import mask, masked_logger, strip_url_credentials
from svcflow.testing import EngineFactory, InlinePlugins


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            "refused recipient jane.doe@example.com: 550",
            "refused recipient j***@***.com: 550",
        ),
        ("call +44 20 7946 0958 now", "call +***58 now"),
        ("tel:+4915112345678", "tel:+***78"),
        ("phone (+1) 555-123-4567", "phone +***67"),
        ("SMS to 0612345678 failed", "SMS to ***78 failed"),
        ("US 555-123-4567.", "US ***67."),
        ("https://bob:s3cret@hooks.example.com/x", "https://***@hooks.example.com/x"),
    ],
)
def test_addresses_phone_numbers_and_url_credentials_are_masked(text: str, masked: str) -> None:
    assert mask(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "retrying at 2026-12-03T04:30:00+00:00 (attempt 3 of 6, 120 s)",
        "case c-000123 key 0b9f4e2a:1:1:1 on 10.0.0.12:8080",
        "2026-12-03 04:30:00 took 12:34:56.123456789",
        "ids 12345678901234567890 and 1234567",
    ],
)
def test_dates_times_keys_and_long_ids_are_left_alone(text: str) -> None:
    assert mask(text) == text


def test_the_masked_logger_masks_arguments_and_exception_text(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logger = masked_logger("svcflow.test-privacy")
    assert masked_logger("svcflow.test-privacy") is logger and len(logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="svcflow.test-privacy"):
        logger.info("to %s or %s", "ann@example.com", "+33 6 12 34 56 78")
        try:
            raise ValueError("no mailbox ann@example.com")
        except ValueError:
            logger.exception("failed")
    assert [record.getMessage() for record in caplog.records] == [
        "to a***@***.com or +***78",
        "failed",
    ]
    assert "ValueError: no mailbox a***@***.com" in caplog.text
    assert "ann@" not in caplog.text


def test_strip_url_credentials_leaves_other_addresses_alone() -> None:
    assert strip_url_credentials("https://u:p@crm.example.com:8443/h?x=1") == (
        "https://crm.example.com:8443/h?x=1"
    )
    for address in ("ann@example.com", "+4915112345678", "https://crm.example.com/a@b"):
        assert strip_url_credentials(address) == address


def test_no_module_gets_a_logger_without_the_mask() -> None:
    sources = [*(ROOT / "src").rglob("*.py"), *(ROOT / "plugins").glob("*/src/**/*.py")]
    offenders = []
    for path in sources:
        if path.name == "privacy.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "getLogger"
                and isinstance(node.value, ast.Name)
                and node.value.id == "logging"
            ) or (isinstance(node, ast.ImportFrom) and node.module == "logging"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == [], "use svcflow.privacy.masked_logger instead of logging.getLogger"


CONTACT = """\
workflow: contact
version: 1
title: Contact
data:
  customer_email: {type: string, default: ""}
states:
  open:
    initial: true
    on_enter: [{notify: {template: hello, to: [customer, crm]}}]
  done: {final: true}
transitions:
  - {trigger: close, from: open, to: done}
"""


CRM_URL = "https://crm:s3cret@crm.example.com/h"


def test_url_credentials_never_reach_stored_rows_or_templates(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, tmp_path: Path
) -> None:
    folder = tmp_path / "templates" / "en"
    folder.mkdir(parents=True)
    (folder / "hello.j2").write_text("Hello, sent to {{ recipient.address }}", encoding="utf-8")
    engine: Engine = svcflow_engine(
        CONTACT,
        templates=tmp_path / "templates",
        directory={
            "crm": {"address": "https://crm:s3cret@crm.example.com/h", "channel": "webhook"}
        },
    )
    case = engine.start("contact", {"customer_email": "ann@example.com"})
    [_, crm] = engine.outbox(case.id)
    assert crm.address == "https://crm.example.com/h"
    assert crm.body == "Hello, sent to https://crm.example.com/h\n"
    engine.dispatch()
    assert "s3cret" not in repr(engine.outbox(case.id))


def test_a_failing_plugin_is_logged_without_the_customers_address(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, caplog: pytest.LogCaptureFixture
) -> None:
    class Refuses:
        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
            raise PermanentDeliveryError(f"no pager {delivery.recipient.address}")

    svcflow_plugin(Refuses(), "refuses")
    engine = svcflow_engine(
        CONTACT.replace("to: [customer, crm]", "to: [customer], channel: pager")
    )
    case = engine.start("contact", {"customer_email": "+49 151 1234 5678"})
    with caplog.at_level(logging.ERROR, logger="svcflow.outbox"):
        engine.dispatch()
    assert [record.getMessage() for record in caplog.records] == [
        f"notification {case.id}:1:1:1 dead-lettered: permanent failure: "
        "PermanentDeliveryError: no pager +***78"
    ]
