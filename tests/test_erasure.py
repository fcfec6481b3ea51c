"""Erasing one customer (GDPR article 17, PIPL article 47): personal data gone, KPI figures the
same, other customers untouched (on every store kind)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, hookimpl, load_workflow_text
from svcflow.cli import main
from svcflow.errors import DeadLetterErased, UnknownCustomer, WorkflowDefinitionError
from svcflow.plugin import CustomerErasure
from svcflow.records import Customer
from svcflow.report import build_report
from svcflow.testing import EngineFactory, InlinePlugins, assert_erased

ERASABLE = MINIMAL.replace(
    "  customer: {type: string, required: true}\n",
    "  customer: {type: string, required: true, personal: true}\n",
).replace("  answer: string\n", "  answer: {type: string, personal: true}\n")


def test_erasing_a_customer_keeps_the_kpi_figures_and_nothing_personal(
    make_engine: Callable[..., Engine], clock: ManualClock
) -> None:
    engine = make_engine(ERASABLE)
    li = engine.customers.add(
        "Li Wei", email="li.wei@example.com", phone="+8613800138000", birthday=date(1990, 5, 1)
    )
    ann = engine.customers.add("Ann", email="ann@example.org")
    case = engine.start(
        "ticket", {"customer": "Li Wei"}, actor="email:li.wei@example.com", customer=li.id
    )
    clock.advance("20m")
    engine.advance()
    engine.fire(case.id, "take", actor="agent")
    engine.fire(case.id, "answer", {"answer": "call me on +8613800138000"}, actor="agent")
    engine.fire(case.id, "close", actor="agent")
    kept = engine.start("ticket", {"customer": "Ann"}, customer=ann.id)
    before = json.loads(build_report(engine.store).to_json())
    closed = engine.get(case.id)

    report = engine.erase_customer(li.id)

    assert json.loads(build_report(engine.store).to_json()) == before
    assert (report.customer_id, report.cases) == (li.id, (case.id,))
    erased = engine.get(case.id)
    assert (erased.state, erased.data["customer"], erased.data["answer"]) == (
        "closed",
        "[erased]",
        "[erased]",
    )
    assert erased.data["priority"] == "high"
    history = engine.history(case.id)
    text = json.dumps([[e.actor, e.payload, dict(e.details)] for e in history], default=str)
    assert "Li Wei" not in text and "8613800138000" not in text and "li.wei" not in text
    assert history[0].actor == "email:[erased]"
    assert [e.kind for e in history] == [
        "started",
        "timer",
        "transition",
        "transition",
        "transition",
        "erased",
    ]
    assert (erased.revision, erased.updated_at) == (closed.revision + 1, closed.updated_at)
    assert history[-1].details == {"erased": {"customer": True, "history_entries": 2}}
    assert all(row.address == "[erased]" for row in engine.outbox(case.id))
    assert engine.store.load_customer(li.id) == Customer(
        id=li.id, locale=li.locale, segment=li.segment
    )
    assert engine.customers.identify("email", "li.wei@example.com") is None
    assert engine.get(kept.id).data["customer"] == "Ann"
    assert engine.customers.identify("email", "ann@example.org") == ann


def test_erasing_an_unknown_customer_says_so(make_engine: Callable[..., Engine]) -> None:
    engine = make_engine(ERASABLE)
    with pytest.raises(UnknownCustomer) as caught:
        engine.erase_customer("c-missing")
    assert str(caught.value) == (
        "no customer 'c-missing'; add one with engine.customers.add(...) first"
    )


def test_personal_applies_to_string_fields_only() -> None:
    bad = MINIMAL.replace(
        "  attempts: {type: integer, default: 0}\n",
        "  attempts: {type: integer, default: 0, personal: true}\n",
    )
    with pytest.raises(WorkflowDefinitionError) as caught:
        load_workflow_text(bad, "ticket.yaml")
    assert str(caught.value) == (
        "1 problem in ticket.yaml\nticket.yaml:8:13: data.attempts: personal: true applies to "
        "string fields, not integer: an erased value reads '[erased]'"
    )


def test_svcflow_erase_customer_erases_for_every_handle_on_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "ticket.yaml").write_text(ERASABLE)
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    with Engine.from_directory(workflows, store=url) as engine:
        li = engine.customers.add("Li Wei", email="li.wei@example.com")
        case = engine.start("ticket", {"customer": "Li Wei"}, customer=li.id)
        assert engine.get(case.id).data["customer"] == "Li Wei"  # decoded and kept by this handle
        args = ["erase-customer", li.id, "--store", url, "--workflows", str(workflows)]
        assert main(args) == 0
        assert capsys.readouterr().out == (
            f"erased customer {li.id}: 1 case, 1 history entry redacted, 0 messages deleted, "
            "0 dead letters erased\n"
            f"  {case.id}\n"
        )
        erased = engine.get(case.id)
        assert (erased.data["customer"], erased.revision) == ("[erased]", 2)
        assert engine.history(case.id)[-1].actor == "svcflow-cli"


def test_erasing_deletes_the_stored_large_texts_of_personal_fields_only(tmp_path: Path) -> None:
    workflow = ERASABLE.replace("  attempts:", "  summary: string\n  attempts:")
    path = tmp_path / "cases.db"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    engine = Engine([load_workflow_text(workflow, "ticket.yaml")], f"sqlite:///{path}", clock)
    li = engine.customers.add("Li Wei", email="li.wei@example.com")
    case = engine.start("ticket", {"customer": "Li Wei"}, customer=li.id)
    engine.fire(case.id, "take")
    secret, summary = "my card number is 4111 " * 100, "the courier lost the parcel " * 100
    engine.fire(case.id, "answer", {"answer": secret})
    engine.fire(case.id, "retry", {"summary": summary})

    engine.erase_customer(li.id)

    [answered, retried] = engine.history(case.id)[2:4]
    assert (answered.payload, retried.payload) == ({"answer": "[erased]"}, {"summary": summary})
    engine.close()
    with sqlite3.connect(path) as db:
        assert [row[0] for row in db.execute("SELECT tail FROM history_texts")] == [summary]


def test_the_shipped_chat_workflow_erases_what_the_customer_wrote(tmp_path: Path) -> None:
    path = tmp_path / "cases.db"
    workflows = Path(__file__).parent.parent / "workflows"
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with Engine.from_directory(workflows, store=f"sqlite:///{path}", clock=clock) as engine:
        li = engine.customers.add("Li Wei", email="li.wei@example.com")
        words = "my address is 1 Long Road, Shanghai; " * 40
        data = {"customer": "li-wei-chat", "customer_name": "Li Wei", "question": words}
        case = engine.start("im_first_response", data, customer=li.id)
        engine.fire(case.id, "hand_over", {"agent": "ann"})
        engine.fire(case.id, "customer_message", {"last_message": words + "again"})
        engine.fire(case.id, "resolve")
        before = json.loads(build_report(engine.store).to_json())

        engine.erase_customer(li.id)

        assert json.loads(build_report(engine.store).to_json()) == before
        text = json.dumps([e._asdict() for e in engine.history(case.id)], default=str)
        assert "Long Road" not in text and "Li Wei" not in text and "li-wei-chat" not in text
        erased = engine.get(case.id).data
        assert {erased[name] for name in ("transcript", "question", "context")} == {"[erased]"}
        assert erased["channel"] == "chat"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT count(*) FROM history_texts").fetchone() == (0,)


class Archive:
    """A plugin keeping its own copy of what each address sent, erased on request."""

    def __init__(self) -> None:
        self.sent = {"li.wei@example.com": ["my card is 4111"], "ann@example.org": ["hello"]}
        self.heard: list[CustomerErasure] = []

    @hookimpl
    def svcflow_customer_erased(self, erasure: CustomerErasure) -> None:
        self.heard.append(erasure)
        for point in erasure.contact_points:
            self.sent.pop(point.address, None)


class BrokenArchive:
    @hookimpl
    async def svcflow_customer_erased(self, erasure: CustomerErasure) -> None:
        raise OSError(f"archive offline, could not erase {erasure.contact_points[0].address}")


def test_erasing_tells_plugins_and_erases_the_customers_dead_letters_only(
    make_engine: Callable[..., Engine], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    archive = Archive()
    engine = make_engine(ERASABLE, plugins=[("archive", archive), ("broken", BrokenArchive())])
    li = engine.customers.add("Li Wei", email="li.wei@example.com", phone="+8613800138000")
    ann = engine.customers.add("Ann", email="ann@example.org")
    case = engine.start("ticket", {"customer": "Li Wei"}, customer=li.id)
    kept = engine.start("ticket", {"customer": "Ann"}, customer=ann.id)
    at = clock.now()
    store = engine.store
    by_address = store.add_dead_letter(
        "email", "From: LI.WEI@example.com\r\n\r\nrefund!", "text", "no Subject header", at
    )
    replayed = store.add_dead_letter("sms", '{"text": "hi"}', "json", "no sender", at)
    store.close_dead_letter(replayed, case.id)
    encoded = store.add_dead_letter(
        "sms", "eyJmcm9tIjogIis4NjEzODAwMTM4MDAwIn0=", "base64", "not UTF-8", at
    )  # {"from": "+8613800138000"}
    others = store.add_dead_letter("email", "From: ann@example.org\r\n\r\nhi", "text", "bad", at)
    timers, outbox = engine.timers(kept.id), engine.outbox(kept.id)

    report = engine.erase_customer(li.id)

    assert (report.dead_letters, report.plugins_failed) == (3, ("broken",))
    assert archive.sent == {"ann@example.org": ["hello"]}
    [heard] = archive.heard
    assert (heard.customer_id, heard.cases, heard.at, heard.marker) == (
        li.id,
        (case.id,),
        at,
        "[erased]",
    )
    assert sorted(p.address for p in heard.contact_points) == [
        "+8613800138000",
        "li.wei@example.com",
    ]
    assert "plugin 'broken' failed in svcflow_customer_erased" in caplog.text
    assert "li.wei@example.com" not in caplog.text
    letters = {letter.id: letter for letter in engine.dead_letters(None)}
    for erased in (by_address, replayed, encoded):
        assert (letters[erased].raw, letters[erased].status) == ("[erased]", "erased")
    assert letters[by_address].error == "no Subject header"  # the reason is kept
    assert letters[others].raw == "From: ann@example.org\r\n\r\nhi"
    assert [letter.id for letter in engine.dead_letters()] == [others]  # open ones
    with pytest.raises(DeadLetterErased) as caught:
        engine.replay_dead_letter(by_address)
    assert str(caught.value) == (
        f"dead letter #{by_address} (email) cannot be replayed: its payload was erased with "
        "its customer's personal data (Engine.erase_customer); only its channel, reason and "
        "time are kept"
    )
    assert engine.get(kept.id).data["customer"] == "Ann"
    assert (engine.timers(kept.id), engine.outbox(kept.id)) == (timers, outbox)
    assert engine.erase_customer(li.id).dead_letters == 0  # erased once, not again


def test_assert_erased_checks_that_every_plugin_erased_its_copies(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    archive = Archive()
    svcflow_plugin(archive, "archive")
    engine = svcflow_engine(ERASABLE)
    li = engine.customers.add("Li Wei", email="li.wei@example.com")
    assert assert_erased(engine, li.id).plugins_failed == ()
    assert archive.sent == {"ann@example.org": ["hello"]}


def test_assert_erased_fails_naming_the_plugin_that_raised(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins
) -> None:
    svcflow_plugin(BrokenArchive(), "broken")
    engine = svcflow_engine(ERASABLE)
    li = engine.customers.add("Li Wei", email="li.wei@example.com")
    with pytest.raises(pytest.fail.Exception) as caught:
        assert_erased(engine, li.id)
    assert str(caught.value) == (
        f"customer {li.id} was erased, but plugin 'broken' raised in svcflow_customer_erased "
        "(see the log): its copies may remain"
    )
