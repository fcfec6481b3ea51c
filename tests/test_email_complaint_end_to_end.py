"""One complaint on real parts, end to end: an e-mail through ``ingest`` starts a complaint, the
SMTP plugin delivers the acknowledgement to a local aiosmtpd server at the customer's address,
the customer's reply to the question asked of them (``Re:`` its subject, with its ``[case:]``
tag, and the thread in ``References``) threads onto the case, the case is
resolved and the resolution notice, which announces the satisfaction callback, is delivered.
Real SQLite file, injected clock, no sleep: the sink is read with a bounded wait on its handler.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from svcflow_smtp import SmtpNotifier

from svcflow import Engine
from svcflow.clock import ManualClock

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
CUSTOMER = "ann.lee@example.com"


class Sink:
    """An aiosmtpd handler that keeps every accepted message; ``wait`` blocks (bounded) until
    it holds ``count`` of them."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        message = message_from_bytes(cast(bytes, envelope.original_content), policy=default_policy)
        with self.arrived:
            self.messages.append((list(envelope.rcpt_tos), cast(EmailMessage, message)))
            self.arrived.notify_all()
        return "250 2.0.0 Queued"

    def wait(self, count: int) -> list[tuple[list[str], EmailMessage]]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=10)
            return list(self.messages)


@contextmanager
def smtp_sink() -> Iterator[tuple[Sink, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="mx.test")
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


def mail(message_id: str, body: str, subject: str = "Broken kettle", **headers: str) -> bytes:
    lines = [f"From: Ann Lee <{CUSTOMER}>", "To: support@shop.example"]
    lines += [f"Message-ID: {message_id}", f"Subject: {subject}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + f"\r\n\r\n{body}\r\n").encode()


def test_an_emailed_complaint_is_acknowledged_threaded_resolved_and_surveyed(
    tmp_path: Path,
) -> None:
    clock = ManualClock("2026-03-02T09:00:00+00:00")
    with smtp_sink() as (sink, port):
        notifier = SmtpNotifier(
            "127.0.0.1", port, sender="Support <support@shop.example>", security="none"
        )
        engine: Any = Engine.from_directory(
            WORKFLOWS,
            f"sqlite:///{tmp_path / 'cases.db'}",
            clock,
            plugins=[("smtp", notifier)],
            load_plugins=False,
        )
        with engine:
            taken = engine.ingest("email", mail("<c1@example.com>", "My kettle leaks; I complain."))
            case = taken.case
            assert (taken.outcome, case.workflow, case.state) == (
                "started",
                "complaint",
                "received",
            )
            assert case.data["channel"] == "email"
            engine.dispatch()
            [(to, acknowledgement)] = sink.wait(1)
            assert to == [CUSTOMER]
            assert case.id in str(acknowledgement["Subject"])
            assert engine.outbox(case.id)[0].status == "delivered"

            clock.advance("5m")
            engine.fire(case.id, "acknowledge", actor="agent-7")
            engine.fire(case.id, "investigate", actor="agent-7")
            engine.fire(case.id, "ask_customer", actor="agent-7")
            engine.dispatch()
            [_, (_, question)] = sink.wait(2)
            reply = engine.ingest(
                "email",
                mail(
                    "<c2@example.com>",
                    "It is the 1.7 l model, bought on 1 March.",
                    f"Re: {question['Subject']}",
                    In_Reply_To=str(question["Message-ID"]),
                    References=f"<c1@example.com> {question['Message-ID']}",
                ),
            )
            assert (reply.outcome, reply.case.id) == ("replied", case.id)
            assert reply.case.state == "investigating"

            clock.advance("1h")
            resolved = engine.fire(
                case.id, "resolve", {"resolution": "A new kettle is on its way"}, actor="agent-7"
            )
            assert resolved.state == "resolved"
            engine.dispatch()
            delivered = sink.wait(3)
    assert [to for to, _ in delivered] == [[CUSTOMER]] * 3
    survey = delivered[2][1]
    assert str(survey["Subject"]) == f"Your complaint is resolved [case:{case.id}]"
    assert "we will call you to ask whether you are satisfied" in survey.get_content()
