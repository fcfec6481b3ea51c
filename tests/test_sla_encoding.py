"""The SLA state's stored form (``svcflow.sla.encoding``): compact, and read back as the very same
record, whether a step just wrote it, it was read from JSON, or the compact form cannot say it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from support.compiled_build import compiled
from support.workflows import WORKFLOWS
from svcflow import Engine, ManualClock
from svcflow.sla import encoding
from svcflow.sla.clocks import Clock, Kept
from svcflow.sla.encoding import decode_sla, encode_sla
from svcflow.sla.escalation import Chain

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def complaint_states() -> list[dict[str, Any]]:
    """The SLA state of a shipped complaint after each step of its usual path."""
    clock = ManualClock(START)
    states = []
    with Engine.from_directory(WORKFLOWS, clock=clock, load_plugins=False) as engine:
        case = engine.start("complaint", {"customer": "Ann", "summary": "broken kettle"})
        states.append(dict(case.sla))
        for trigger, payload in [
            ("acknowledge", None),
            ("investigate", None),
            ("ask_customer", None),
            ("customer_replied", None),
            ("resolve", {"resolution": "replaced"}),
            ("follow_up_due", None),
            ("callback_done", {"satisfied": True}),
        ]:
            clock.advance("7m")
            case = engine.fire(case.id, trigger, payload)
            states.append(dict(case.sla))
    return states


STATES = complaint_states()


@pytest.mark.parametrize("state", STATES, ids=range(len(STATES)))
def test_a_state_a_step_wrote_reads_back_equal_with_its_records(state: dict[str, Any]) -> None:
    text = encode_sla(state)
    assert text.startswith("[1,")
    back = decode_sla(text)
    assert back == state
    assert json.dumps(back) == json.dumps(state)  # the same keys in the same order
    for group in back.values():
        for value in group.values():
            assert type(value) is Kept and value.decoded is not None


def test_a_state_read_from_json_text_encodes_compactly_and_reads_back_equal() -> None:
    for state in STATES:
        plain = json.loads(json.dumps(state))  # as a store written before hands it back
        text = encode_sla(plain)
        assert text.startswith("[1,") and decode_sla(text) == plain


def test_the_compact_form_is_a_fraction_of_the_json() -> None:
    sizes = [(len(encode_sla(s)), len(json.dumps(s, separators=(",", ":")))) for s in STATES]
    assert all(compact < plain / 2 for compact, plain in sizes), sizes


def test_json_text_written_before_is_read_as_it_is() -> None:
    old = json.dumps(STATES[-1], separators=(",", ":"))
    assert decode_sla(old) == STATES[-1]
    assert decode_sla(old.encode()) == STATES[-1]


def running(**changes: Any) -> Clock:
    clock = Clock(
        status="running",
        cycle=1,
        started_at=START,
        target=0,
        budget=timedelta(hours=8),
        calendar="24x7",
        used=timedelta(0),
        since=START,
        deadline=START + timedelta(hours=8),
        next_due=START + timedelta(hours=6),
    )
    return clock._replace(**changes)


@pytest.mark.parametrize(
    "state",
    [
        # a moment in another zone: read back from the compact form it would be in UTC
        {"metrics": {"m": running(since=START.astimezone(timezone(timedelta(hours=8)))).to_json()}},
        # a key the compact form does not know
        {"metrics": {"m": running().to_json()}, "care": {"next": "2026-03-03"}},
        {"metrics": {"m": {**running().to_json(), "note": "hand-written"}}},
        # an empty group reads back as no group
        {"metrics": {}},
        {"metrics": {"m": running().to_json()}, "escalations": {}},
        # a status the compact form has no letter for
        {"escalations": {"e": {"status": "paused", "round": 0, "level": 0, "next_due": None}}},
        {"metrics": {"m": {**running().to_json(), "status": "expired"}}},
        # the clock's keys in another order, or a moment written another way: read back from
        # the compact form they would be in the order and the form a step writes
        {"metrics": {"m": dict(reversed(running().to_json().items()))}},
        {"metrics": {"m": {**running().to_json(), "started_at": "2026-03-02T09:00:00Z"}}},
    ],
    ids=[
        "zone",
        "key",
        "clock-key",
        "empty",
        "empty-escalations",
        "status",
        "clock-status",
        "key-order",
        "moment-text",
    ],
)
def test_a_state_the_compact_form_cannot_say_is_kept_as_json(state: dict[str, Any]) -> None:
    text = encode_sla(state)
    assert text.startswith("{")
    assert decode_sla(text) == json.loads(json.dumps(state))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[2, 0]", "not an SLA state: '[2, 0]'"),
        ("[]", "not an SLA state: '[]'"),
        ("5", "not an SLA state: '5'"),
        # a long text is shown by its first 60 characters
        (
            "[" + "7, " * 40 + "7]",
            "not an SLA state: '[" + "7, " * 19 + "7,'",
        ),
    ],
)
def test_a_text_that_is_no_sla_state_is_refused(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        decode_sla(text)
    assert str(caught.value) == message


def test_the_stored_texts_are_exactly_the_documented_forms() -> None:
    """What a store writes, version 1 of the compact form: no spaces, no trailing nulls (a
    paused clock without deadline, a stopped chain without a due moment); and the plain JSON
    object, also without spaces, for what the compact form cannot say."""
    paused = running(
        status="paused", used=timedelta(hours=1), since=START + timedelta(hours=1)
    )._replace(deadline=None, next_due=None)
    state = {
        "metrics": {"m": paused.to_json()},
        "escalations": {"e": Chain("stopped", 0, 1, None).to_json()},
    }
    base = int((START - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    assert encode_sla(state) == (
        f'[1,{base},[["m","p",1,0,0,28800000000,"24x7",3600000000,3600000000,[]]],[["e","s",0,1]]]'
    )
    only_chains = {"escalations": {"e": Chain("running", 0, 0, START).to_json()}}
    assert encode_sla(only_chains) == f'[1,{base},[],[["e","r",0,0,0]]]'
    assert decode_sla(encode_sla(only_chains)) == only_chains
    kept_as_json = {"metrics": {}}
    assert encode_sla(kept_as_json) == '{"metrics":{}}'


moments = st.integers(min_value=0, max_value=10**17).map(
    lambda us: datetime(2000, 1, 1, tzinfo=UTC) + timedelta(microseconds=us)
)
durations = st.integers(min_value=0, max_value=10**13).map(lambda us: timedelta(microseconds=us))
clocks = st.builds(
    Clock,
    status=st.sampled_from(["running", "paused", "stopped", "cancelled"]),
    cycle=st.integers(min_value=1, max_value=50),
    started_at=moments,
    target=st.integers(min_value=0, max_value=5),
    budget=durations,
    calendar=st.sampled_from(["24x7", "business"]),
    used=durations,
    since=moments,
    warned=st.lists(st.integers(min_value=0, max_value=3), max_size=3).map(tuple),
    breached_at=st.none() | moments,
    deadline=st.none() | moments,
    next_due=st.none() | moments,
    label=st.just(None),
    within=st.just(None),
) | st.builds(running, label=st.just("8 hours"), within=st.just("8h"))
chains = st.builds(
    Chain,
    status=st.sampled_from(["running", "acknowledged", "stopped"]),
    round=st.integers(min_value=0, max_value=3),
    level=st.integers(min_value=0, max_value=3),
    next_due=st.none() | moments,
)


@given(
    st.dictionaries(st.sampled_from(["a", "b", "c"]), clocks, min_size=1),
    st.dictionaries(st.sampled_from(["x", "y"]), chains),
)
def test_any_clocks_and_chains_read_back_equal(
    metrics: dict[str, Clock], escalations: dict[str, Chain]
) -> None:
    state: dict[str, Any] = {"metrics": {k: v.to_json() for k, v in metrics.items()}}
    if escalations:
        state["escalations"] = {k: v.to_json() for k, v in escalations.items()}
    for given_state in (state, json.loads(json.dumps(state))):
        text = encode_sla(given_state)
        assert text.startswith("[1,")
        back = decode_sla(text)
        assert back == state and json.dumps(back) == json.dumps(state)
        assert {k: Clock.from_json(v) for k, v in back["metrics"].items()} == metrics


def test_a_clock_resumed_when_the_first_clock_started_reads_back_its_own_start() -> None:
    """Moments are kept as offsets from the first clock's start, so a second clock that started
    an hour earlier, on its first target, and resumed exactly then has a resume offset of 0:
    it still reads back started at its own start and counting from its resume."""
    later = START + timedelta(hours=1)
    first = running(started_at=later, since=later, budget=timedelta(hours=4))
    second = running(since=later, used=timedelta(minutes=30))
    state = {"metrics": {"reply": first.to_json(), "resolution": second.to_json()}}
    back = decode_sla(encode_sla(state))
    assert back == state
    assert Clock.from_json(back["metrics"]["resolution"]) == second


@pytest.mark.parametrize(
    "label", ["8 hours", "acht Stunden für Anfragen", "del\x7f", 'tab\tquote"back\\slash', "\ud800"]
)
def test_the_compact_text_escapes_as_json_does_whatever_the_label(label: str) -> None:
    """The compact text is written by pydantic-core's writer when that gives ``json``'s very
    text (issue 16); a label with non-ASCII text, DEL or a lone surrogate, which that writer
    does not escape (or refuses), is written by ``json`` itself: the same text either way."""
    clock = running(label=label, within="8h")
    state = {
        "metrics": {"m": clock.to_json()},
        "escalations": {"e": Chain("running", 0, 0, START).to_json()},
    }
    text = encode_sla(state)
    base = int((START - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds()) * 1_000_000
    assert text == json.dumps(
        [1, base, [[*json.loads(text)[2][0][:13], label, "8h"]], [["e", "r", 0, 0, 0]]],
        separators=(",", ":"),
    )
    assert text.isascii()
    assert decode_sla(text) == state


COUNTS_OWN_CALLS = pytest.mark.skipif(
    compiled(encoding), reason="counts the module's calls to its own functions: direct in C"
)


def _kept(state: dict[str, Any]) -> dict[str, Any]:
    """``state`` as a store hands it back: each clock and chain a ``Kept`` with its record."""
    return decode_sla(encode_sla(state))


@COUNTS_OWN_CALLS
def test_a_clock_kept_from_the_state_before_is_not_worked_out_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A step leaves most clocks as the very records it read: their rows are remembered by
    record (issue 16), so only the clock that changed is worked out again."""
    state = _kept({"metrics": {"reply": running().to_json(), "resolution": running().to_json()}})
    paused = _kept({"metrics": {"m": running(status="paused", used=timedelta(hours=1)).to_json()}})
    changed = {"metrics": {**state["metrics"], "resolution": paused["metrics"]["m"]}}
    text = encode_sla(state)
    worked_out: list[str] = []
    new_row = encoding._new_clock_row

    def counted(name: str, clock: Clock, base: int) -> list[Any]:
        worked_out.append(name)
        return new_row(name, clock, base)

    monkeypatch.setattr(encoding, "_new_clock_row", counted)
    assert encode_sla(state) == text
    assert worked_out == []
    assert decode_sla(encode_sla(changed)) == changed
    assert worked_out == ["resolution"]


def test_a_kept_clock_under_another_name_or_from_another_start_gets_its_own_row() -> None:
    reply = _kept({"metrics": {"reply": running().to_json()}})["metrics"]["reply"]
    earlier = running(started_at=START - timedelta(hours=1), since=START - timedelta(hours=1))
    for state in (
        {"metrics": {"reply": reply}},
        {"metrics": {"first": earlier.to_json(), "reply": reply}},  # moments from another base
        {"metrics": {"answer": reply}},  # the same record under another name
    ):
        assert decode_sla(encode_sla(state)) == state


def test_the_rows_remembered_are_bounded() -> None:
    states = [
        _kept({"metrics": {"m": running(used=timedelta(minutes=minutes)).to_json()}})
        for minutes in range(encoding._ROWS_KEPT + 1)
    ]
    encoding._rows.clear()
    for state in states:
        encode_sla(state)
    assert len(encoding._rows) == 1  # full at the last clock's row: cleared, then kept


def test_the_base_is_read_off_the_first_clocks_kept_row_whatever_base_it_was_kept_under(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The base (the first clock's start) is taken from that clock's kept row, which says its
    start less the base it was worked out with (issue 16): the same text as worked out anew,
    with no moment converted when every row is kept."""
    reply = _kept({"metrics": {"reply": running().to_json()}})["metrics"]["reply"]
    earlier = running(started_at=START - timedelta(hours=1), since=START - timedelta(hours=1))
    encoding._rows.clear()
    encode_sla({"metrics": {"first": earlier.to_json(), "reply": reply}})  # kept under that base
    alone = {"metrics": {"reply": reply}}
    text = encode_sla(alone)
    encoding._rows.clear()
    assert encode_sla(alone) == text  # as worked out with nothing kept
    assert decode_sla(text) == alone
    converted: list[datetime] = []
    us = encoding._us

    def counted(moment: datetime) -> int:
        converted.append(moment)
        return us(moment)

    monkeypatch.setattr(encoding, "_us", counted)
    assert encode_sla(alone) == text
    assert converted == []


@COUNTS_OWN_CALLS
def test_the_records_a_step_kept_are_taken_without_checking_them_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A clock or chain a step wrote carries its record: the encoder takes it as it is (issue
    16), and checks only JSON without one against its record (``_record``)."""
    state = _kept(
        {
            "metrics": {"reply": running().to_json()},
            "escalations": {"x": Chain("running", 0, 1, START).to_json()},
        }
    )
    text = encode_sla(state)
    checked: list[Any] = []
    record = encoding._record

    def counted(value: Any, kind: type[Clock] | type[Chain]) -> Any:
        checked.append(value)
        return record(value, kind)

    monkeypatch.setattr(encoding, "_record", counted)
    assert encode_sla(state) == text
    assert checked == []
    plain = json.loads(json.dumps(state))
    assert encode_sla(plain) == text
    assert len(checked) == 2
