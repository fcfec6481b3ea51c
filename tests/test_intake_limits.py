"""Size limits on inbound messages (issue 13): an oversized or over-wide payload is refused
with a clear reason and kept as a dead letter (a capped prefix, with its size and hash); what
the store holds otherwise is untouched."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from svcflow import Engine
from svcflow.clock import ManualClock
from svcflow.errors import MessageRejected
from svcflow.messaging.limits import IntakeLimits
from svcflow.testing import EngineFactory
from test_intake import FIRST_EMAIL, INTAKE


@pytest.fixture
def desk(svcflow_engine: EngineFactory) -> Engine:
    return svcflow_engine(INTAKE)


def rejected(engine: Engine, channel: str, raw: object) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        engine.ingest(channel, raw)
    return caught.value


def test_a_100_mib_mail_is_refused_and_only_its_start_kept(desk: Engine) -> None:
    earlier = desk.ingest("email", FIRST_EMAIL).case
    mail = FIRST_EMAIL + b"x" * (100 * 1024 * 1024)
    error = rejected(desk, "email", mail)
    digest = hashlib.sha256(mail).hexdigest()
    assert error.reason == (
        f"the payload has {len(mail):,} bytes, more than the limit of 10,000,000 "
        f"(IntakeLimits.max_bytes); sha256 {digest}, the first 65,536 bytes are kept"
    )
    [letter] = desk.dead_letters()
    assert letter.id == error.dead_letter_id and letter.encoding == "truncated-bytes-utf8"
    assert letter.raw.encode() == mail[:65536]
    assert [case.id for case in desk.find()] == [earlier.id]
    with pytest.raises(MessageRejected) as replay:
        desk.replay_dead_letter(letter.id)
    assert replay.value.reason == (
        f"dead letter #{letter.id} keeps only the first part of an oversized payload and "
        "cannot be replayed; ask the sender for a smaller message"
    )


def test_a_references_header_with_40k_ids_is_refused_before_any_thread_row(
    desk: Engine,
) -> None:
    references = " ".join(f"<r{n}@example.com>" for n in range(40_000))
    mail = FIRST_EMAIL.replace(b"Message-ID:", f"References: {references}\nMessage-ID:".encode())
    error = rejected(desk, "email", mail)
    assert error.reason == (
        "the message refers to 40,000 earlier messages, more than the limit of 100 "
        "(IntakeLimits.max_references)"
    )
    assert desk.find() == [] and len(desk.dead_letters()) == 1
    assert desk.dead_letters()[0].raw.encode() == mail  # under max_bytes: kept whole


def test_a_mail_with_50k_header_fields_is_refused_before_it_is_parsed(desk: Engine) -> None:
    earlier = desk.ingest("email", FIRST_EMAIL).case
    spam = "".join(f"X-Tag-{n}: {n}\r\n\t folded\r\n" for n in range(50_000))
    mail = FIRST_EMAIL.replace(b"Message-ID:", f"{spam}Message-ID:".encode())
    error = rejected(desk, "email", mail)
    assert error.reason == (
        "the message has 50,005 header fields, more than the limit of 1,000 "
        "(IntakeLimits.max_headers)"
    )
    [letter] = desk.dead_letters()
    assert (letter.id, letter.raw.encode()) == (error.dead_letter_id, mail)  # kept whole
    assert [case.id for case in desk.find()] == [earlier.id]
    body_lines = FIRST_EMAIL + b"\n" + b"Not-a-header: in the body\n" * 5_000
    assert desk.ingest("email", body_lines.replace(b"<first@", b"<second@")).outcome == "started"


def test_chat_json_with_100k_keys_is_refused(desk: Engine) -> None:
    payload = {"conversation_id": "c9", "message_id": "m1", "from": "u1", "text": "hi"}
    nested = {**payload, "extra": {f"k{n}": n for n in range(100_000)}}
    error = rejected(desk, "chat", json.dumps(nested))
    assert error.reason == "the payload has more than 10,000 keys (IntakeLimits.max_keys)"
    wide = {**payload, **{f"k{n}": n for n in range(100_000)}}
    error = rejected(desk, "chat", wide)
    assert error.reason == (
        "the payload has 100,004 top-level fields, more than the limit of 500 "
        "(IntakeLimits.max_fields)"
    )
    assert desk.find() == [] and len(desk.dead_letters()) == 2


def test_deep_nesting_is_refused_even_past_pythons_recursion_limit(desk: Engine) -> None:
    deep = '{"a":' * 100_000 + "1" + "}" * 100_000
    error = rejected(desk, "chat", deep)
    assert error.reason == "the payload is nested more than 32 levels deep (IntakeLimits.max_depth)"
    usual = {"conversation_id": "c9", "message_id": "m1", "from": "u1", "text": "hi"}
    assert desk.ingest("chat", {**usual, "meta": {"a": [{"b": [1]}]}}).outcome == "started"


def test_limits_are_settings(svcflow_engine: EngineFactory) -> None:
    strict = svcflow_engine(INTAKE, intake_limits=IntakeLimits(max_bytes=100, kept_bytes=10))
    error = rejected(strict, "email", FIRST_EMAIL)
    assert error.reason.startswith(f"the payload has {len(FIRST_EMAIL):,} bytes, more than")
    assert strict.dead_letters()[0].raw == FIRST_EMAIL[:10].decode()
    with pytest.raises(ValueError) as caught:
        IntakeLimits(max_references=0)
    assert str(caught.value) == "IntakeLimits.max_references must be a positive integer, not 0"


def test_dead_letters_are_listed_in_pages_and_expire_after_30_days(
    desk: Engine, svcflow_clock: ManualClock
) -> None:
    for n in range(3):
        rejected(desk, "sms", {"text": f"no sender {n}"})
        svcflow_clock.advance("10d")
    first, second, third = (d.id for d in desk.dead_letters(limit=None))
    assert [d.id for d in desk.dead_letters(limit=2)] == [first, second]
    assert [d.id for d in desk.dead_letters(after=second)] == [third]
    assert desk.purge_dead_letters() == 0  # the oldest is 30 days old, not more
    svcflow_clock.advance("1s")
    assert desk.purge_dead_letters() == 1
    assert [d.id for d in desk.dead_letters()] == [second, third]
    assert desk.purge_dead_letters(timedelta(days=15)) == 1
    with pytest.raises(MessageRejected) as caught:
        desk.replay_dead_letter(first)
    assert caught.value.reason == f"there is no dead letter #{first}"
