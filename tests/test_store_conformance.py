"""What every store promises, checked on each: memory, SQLite and PostgreSQL.

The ``store`` fixture opens a new, empty store of each kind through its URL (the way hosts
open them); ``twin`` opens a second handle on the same data (another process's connection, or
the same object for the memory store). Each test names the promise of
:class:`svcflow.store.base.Store` it checks.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from svcflow.errors import (
    ConcurrencyConflict,
    InvalidCursor,
    InvalidQuery,
    StoreError,
    WorkflowVersionConflict,
)
from svcflow.records import (
    Case,
    ContactPoint,
    Customer,
    HistoryEntry,
    PendingSignal,
    Refusal,
)
from svcflow.store.base import (
    CaseChange,
    DuplicateMessage,
    IdempotentReplay,
    NewDelivery,
    NewMessage,
    NewNotification,
    NewTimer,
    ScopeTaken,
    Store,
    TimerGone,
    Workload,
)
from svcflow.store.postgres import SCHEMA_VERSION as POSTGRES_VERSION
from svcflow.store.query import CaseQuery
from svcflow.store.registry import open_store
from svcflow.store.sqlite import SCHEMA_VERSION as SQLITE_VERSION

T0 = datetime.fromisoformat("2026-03-02T09:00:00+00:00")


class JsonCodec:
    """Case data as plain JSON (the engine's codec also checks the workflow's data model)."""

    def encode(self, workflow: str, version: int, data: Mapping[str, Any]) -> str:
        return json.dumps(dict(data), sort_keys=True)

    def decode(self, workflow: str, version: int, text: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(text)
        return found

    def plain(self, workflow: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.encode(workflow, version, data))
        return found

    def from_plain(self, workflow: str, version: int, data: Mapping[str, Any]) -> dict[str, Any]:
        return dict(data)

    def encode_sla(self, sla: Mapping[str, Any]) -> str:
        return json.dumps(dict(sla), sort_keys=True)

    def decode_sla(self, text: str) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(text)
        return found


def _open(url: str) -> Store:
    store = open_store(url)
    store.attach_codec(JsonCodec())
    return store


@pytest.fixture
def stores(store_url: str) -> Iterator[tuple[Store, Store]]:
    """Two handles on one new store: two connections (SQLite, PostgreSQL) or one object."""
    first = _open(store_url)
    second = first if store_url == "memory://" else _open(store_url)
    yield first, second
    first.close()
    second.close()


@pytest.fixture
def store(stores: tuple[Store, Store]) -> Store:
    return stores[0]


def _case(case_id: str = "c1", revision: int = 1, state: str = "new", **data: Any) -> Case:
    moment = T0 + timedelta(minutes=revision - 1)
    return Case(
        id=case_id,
        workflow="ticket",
        version=1,
        state=state,
        data={"customer": "ann", **data},
        revision=revision,
        created_at=T0,
        updated_at=moment,
        sla={},
    )


def _entry(case: Case, kind: str = "started") -> HistoryEntry:
    return HistoryEntry(
        case_id=case.id,
        seq=case.revision,
        at=case.updated_at,
        actor="system",
        kind=kind,
        trigger=None if kind == "started" else "take",
        from_state=None,
        to_state=case.state,
        payload=None,
        version=1,
    )


def _change(case: Case, **parts: Any) -> CaseChange:
    expected = None if case.revision == 1 else case.revision - 1
    kind = "started" if expected is None else "transition"
    return CaseChange(case=case, expected_revision=expected, history=_entry(case, kind), **parts)


def _timer(trigger: str, minutes: int, owner: str = "new", keep: bool = False) -> NewTimer:
    return NewTimer(trigger, T0 + timedelta(minutes=minutes), owner, keep)


def _delivery(key: str, minutes: int = 0) -> NewDelivery:
    return NewDelivery(
        key=key,
        notification_key="c1:n1",
        template="opened",
        channel="email",
        address="ann@example.org",
        name="Ann",
        role="customer",
        locale="en",
        subject="Your ticket",
        body="We have it.",
        urgent=False,
        next_attempt_at=T0 + timedelta(minutes=minutes),
    )


def _message(message_id: str, *threads: str, sender: str = "ann@example.org") -> NewMessage:
    return NewMessage(
        channel="email",
        message_id=message_id,
        sender=sender,
        thread_keys=(message_id, *threads),
        received_at=T0,
        message={"text": f"body of {message_id}", "emoji": "ünï ✓"},
    )


# -- cases, revisions, history --------------------------------------------------------------------


def test_a_committed_case_reads_back_as_it_was_written_from_any_handle(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    case = _case(sla={"first_response": {"status": "running"}})._replace(
        sla={"first_response": {"status": "running"}}
    )
    first.commit(_change(case))
    assert second.load_case("c1") == case
    assert second.load_case("nobody") is None
    assert second.history("c1") == [_entry(case)]
    assert [c.id for c in second.find_cases(workflow="ticket", state="new")] == ["c1"]
    assert second.find_cases(state="closed") == []


def test_cases_read_together_are_the_cases_read_one_by_one(
    stores: tuple[Store, Store],
) -> None:
    """Issue 16: ``advance`` reads the cases of a claimed batch of timers in one go."""
    first, second = stores
    ids = [f"c{n:03d}" for n in range(600)]  # more than one statement's worth of ids
    first.commit_many([_change(_case(case_id, customer=case_id)) for case_id in ids])
    first.commit(_change(_case("c007", revision=2, state="open", customer="c007")))
    wanted = ["c599", "nobody", "c007", "c000", "c007", *ids[100:560]]
    found = second.load_cases(wanted)
    assert sorted(found) == ["c000", "c007", *ids[100:560], "c599"]  # in no promised order
    assert all(found[case_id] == second.load_case(case_id) for case_id in found)
    assert found["c007"] == _case("c007", revision=2, state="open", customer="c007")
    assert second.load_cases([]) == {} and second.load_cases(["nobody"]) == {}


def test_a_stale_revision_is_a_conflict_and_writes_nothing(stores: tuple[Store, Store]) -> None:
    first, second = stores
    first.commit(_change(_case(), timers=[_timer("remind", 15)]))
    first.commit(_change(_case(revision=2, state="open")))
    with pytest.raises(ConcurrencyConflict) as caught:
        second.commit(
            _change(
                _case(revision=2, state="closed"),
                timers=[_timer("later", 5)],
                idempotency_key="k",
            )
        )
    assert str(caught.value) == (
        "case c1 was changed by another writer: expected revision 1, store is at revision 2; "
        "nothing was written, re-read the case and retry"
    )
    assert first.load_case("c1") == _case(revision=2, state="open")
    assert [t.trigger for t in first.timers("c1")] == ["remind"]
    assert first.idempotency("k") is None
    assert len(first.history("c1")) == 2


def test_a_second_new_case_with_the_same_id_is_a_conflict(stores: tuple[Store, Store]) -> None:
    first, second = stores
    first.commit(_change(_case()))
    with pytest.raises(ConcurrencyConflict) as caught:
        second.commit(_change(_case(customer="bob")))
    assert (caught.value.expected_revision, caught.value.actual_revision) == (0, 1)
    assert first.load_case("c1") == _case()


def test_an_idempotency_key_answers_its_first_result_and_writes_nothing_more(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_change(_case(), idempotency_key="start-1", idempotency_scope="start:ticket"))
    with pytest.raises(IdempotentReplay) as caught:
        second.commit(_change(_case(revision=2, state="open"), idempotency_key="start-1"))
    assert caught.value.record.key == "start-1"
    assert caught.value.record.scope == "start:ticket"
    assert caught.value.record.case == _case()
    assert second.idempotency("start-1") == caught.value.record
    assert first.load_case("c1") == _case()


def test_histories_come_case_by_case_in_seq_order(store: Store) -> None:
    for case_id in ("b", "a"):
        store.commit(_change(_case(case_id)))
        store.commit(_change(_case(case_id, revision=2, state="open")))
    found = [(h.case_id, h.workflow, [e.seq for e in h.entries]) for h in store.histories()]
    assert found == [("a", "ticket", [1, 2]), ("b", "ticket", [1, 2])]


# -- timers ---------------------------------------------------------------------------------------


def test_due_timers_come_earliest_first_with_ties_in_creation_order(store: Store) -> None:
    store.commit(_change(_case(), timers=[_timer("late", 30), _timer("tie1", 10)]))
    store.commit(_change(_case("c2"), timers=[_timer("tie2", 10), _timer("early", 5)]))
    store.commit(_change(_case("c3"), timers=[_timer("future", 90)]))
    due = store.due_timers(T0 + timedelta(minutes=30), 10)
    assert [t.trigger for t in due] == ["early", "tie1", "tie2", "late"]
    assert [t.trigger for t in store.due_timers(T0 + timedelta(minutes=30), 2)] == [
        "early",
        "tie1",
    ]
    assert due[0].due_at == T0 + timedelta(minutes=5)
    assert (due[0].case_id, due[0].owner_state, due[0].keep) == ("c2", "new", False)


def test_leaving_a_state_cancels_its_timers_except_kept_ones_and_named_ones(store: Store) -> None:
    store.commit(
        _change(
            _case(),
            timers=[_timer("remind", 15), _timer("expire", 60, keep=True), _timer("sla", 90)],
        )
    )
    store.commit(
        _change(
            _case(revision=2, state="open"),
            cancel_owned_by="new",
            cancel_triggers=["sla"],
            timers=[_timer("nudge", 20, owner="open")],
        )
    )
    assert [t.trigger for t in store.timers("c1")] == ["nudge", "expire"]


def test_timers_added_by_one_change_are_each_ended_by_their_own_trigger(
    stores: tuple[Store, Store],
) -> None:
    """Store.commit: the SQL stores add a change's timers in one statement (issue 16) and
    remember each one's id for the next change of the case."""
    first, second = stores
    triggers = ["a", "b", "c", "d", "e"]
    first.commit(
        _change(_case(), timers=[_timer(t, 10 + n, keep=True) for n, t in enumerate(triggers)])
    )
    first.commit(_change(_case(revision=2), cancel_triggers=["a", "d"]))
    assert [t.trigger for t in second.timers("c1")] == ["b", "c", "e"]
    assert [t.due_at for t in second.timers("c1")] == [
        T0 + timedelta(minutes=m) for m in (11, 12, 14)
    ]
    assert sorted(t.id for t in second.timers("c1")) == [t.id for t in second.timers("c1")]


def test_a_consumed_timer_goes_with_the_event_and_a_fired_one_is_gone(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_change(_case(), timers=[_timer("remind", 15)]))
    [timer] = first.timers("c1")
    first.commit(_change(_case(revision=2, state="open"), consume_timer=timer.id))
    with pytest.raises(TimerGone):
        second.commit(_change(_case(revision=3, state="closed"), consume_timer=timer.id))
    assert first.timers("c1") == []
    assert first.load_case("c1") == _case(revision=2, state="open")


def test_claimed_timers_are_leased_and_claimed_again_when_the_lease_runs_out(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_change(_case(), timers=[_timer("a", 1), _timer("b", 2)]))
    first.commit(_change(_case("c2"), timers=[_timer("c", 3)]))
    now, lease = T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)
    assert [t.trigger for t in first.claim_due_timers(now, 2, "one", lease)] == ["a", "b"]
    # The other runner skips the held timers, and c1's "b" waits behind the held "a".
    assert [t.trigger for t in second.claim_due_timers(now, 10, "two", lease)] == ["c"]
    assert second.claim_due_timers(now, 10, "three", lease) == []
    # A runner sees its own claims again (a retry after a failed round).
    assert [t.trigger for t in first.claim_due_timers(now, 10, "one", lease)] == ["a", "b"]
    later = lease + timedelta(seconds=1)
    assert [t.trigger for t in second.claim_due_timers(later, 10, "two", later)] == [
        "a",
        "b",
        "c",
    ]


def test_a_failing_timer_is_retried_later_then_parked_until_released(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_change(_case(), timers=[_timer("check", 0)]))
    [timer] = first.timers("c1")
    retry_at = T0 + timedelta(minutes=1)
    retrying = second.timer_failed(timer.id, "TimeoutError: CRM", retry_at)
    assert retrying is not None
    assert (retrying.status, retrying.attempts, retrying.retry_at) == ("retrying", 1, retry_at)
    assert first.due_timers(T0, 10) == []
    assert first.claim_due_timers(T0, 10, "one", retry_at) == []
    assert [t.id for t in first.claim_due_timers(retry_at, 10, "one", retry_at)] == [timer.id]
    parked = second.timer_failed(timer.id, "TimeoutError: CRM again", None)
    assert parked is not None and (parked.status, parked.attempts) == ("failed", 2)
    assert first.due_timers(T0 + timedelta(days=1), 10) == []
    assert first.claim_due_timers(T0 + timedelta(days=1), 10, "two", T0) == []
    assert [t.last_error for t in first.failed_timers()] == ["TimeoutError: CRM again"]
    assert second.release_timer(timer.id) is True
    assert second.release_timer(timer.id) is False
    [released] = first.timers("c1")
    assert (released.status, released.attempts, released.retry_at) == ("pending", 0, None)
    assert released.last_error == "TimeoutError: CRM again"
    assert [t.id for t in first.due_timers(T0, 10)] == [timer.id]
    assert first.timer_failed(timer.id + 100, "gone", None) is None


# -- the outbox -----------------------------------------------------------------------------------


def _queue(store: Store, *deliveries: NewDelivery) -> None:
    note = NewNotification("c1:n1", "opened", ("customer",), "email", False)
    store.commit(_change(_case(), notifications=[note], deliveries=deliveries))


def test_a_notifications_recipients_and_context_read_back_as_committed(store: Store) -> None:
    plain = NewNotification("c1:n1", "opened", ("customer", "team_lead"), "email", False)
    given = plain._replace(key="c1:n2", context={"order": "A-7", "items": [1, 2.5, None]})
    store.commit(_change(_case(), notifications=[plain, given]))
    read = {n.key: (n.recipients, dict(n.context)) for n in store.notifications("c1")}
    assert read == {
        "c1:n1": (("customer", "team_lead"), {}),
        "c1:n2": (("customer", "team_lead"), {"order": "A-7", "items": [1, 2.5, None]}),
    }


def test_deliveries_are_claimed_oldest_first_under_a_lease(stores: tuple[Store, Store]) -> None:
    first, second = stores
    _queue(first, _delivery("d1", 2), _delivery("d2", 1), _delivery("d3", 30))
    now, lease = T0 + timedelta(minutes=5), T0 + timedelta(minutes=6)
    claimed = first.claim_deliveries(now, 10, "one", lease)
    assert [e.key for e in claimed] == ["d2", "d1"]
    assert second.claim_deliveries(now, 10, "two", lease) == []
    assert [e.key for e in second.claim_deliveries(lease, 10, "two", lease)] == ["d2", "d1"]
    entry = claimed[0]
    assert (entry.address, entry.subject, entry.attempts, entry.status) == (
        "ann@example.org",
        "Your ticket",
        0,
        "pending",
    )


def test_attempts_are_recorded_and_the_notification_follows_its_deliveries(
    store: Store,
) -> None:
    _queue(store, _delivery("d1"), _delivery("d2"))
    one, two = store.claim_deliveries(T0, 10, "one", T0 + timedelta(minutes=1))
    store.record_attempt(one.id, "delivered", 1, T0, reference="msg-1")
    retry_at = T0 + timedelta(minutes=10)
    store.record_attempt(two.id, "pending", 1, T0, next_attempt_at=retry_at, error="timeout")
    assert store.notifications("c1")[0].status == "pending"
    assert store.claim_deliveries(T0, 10, "two", T0) == []
    [again] = store.claim_deliveries(retry_at, 10, "two", retry_at)
    assert (again.key, again.attempts, again.last_error) == ("d2", 1, "timeout")
    store.record_attempt(two.id, "dead", 5, retry_at, error="mailbox gone")
    assert [(e.key, e.status, e.reference) for e in store.outbox("c1")] == [
        ("d1", "delivered", "msg-1"),
        ("d2", "dead", None),
    ]
    assert store.outbox(status="delivered")[0].delivered_at == T0
    assert [n.status for n in store.notifications(status="dead")] == ["dead"]


def _unreached(case_id: str, role: str, why: str) -> NewDelivery:
    return NewDelivery(
        key=f"{case_id}:n1:{role}",
        notification_key=f"{case_id}:n1",
        template="opened",
        channel="",
        address="",
        name=None,
        role=role,
        locale="en",
        subject="",
        body="",
        urgent=False,
        next_attempt_at=T0,
        status="undeliverable",
        error=f"no recipient for role '{role}' on case {case_id}: {why}",
    )


def test_the_reasons_of_rows_that_reached_nobody_read_back_as_written(
    stores: tuple[Store, Store],
) -> None:
    """Store.outbox: a row's ``last_error`` reads back as written (the SQL stores keep the
    reason of an undeliverable row once for all cases, issue 16)."""
    first, second = stores
    why = "the case has no customer"
    for case_id in ("c1", "c2"):
        rows = [_unreached(case_id, "customer", why), _unreached(case_id, "agent", "{case}")]
        note = NewNotification(f"{case_id}:n1", "opened", ("customer", "agent"), None, False)
        first.commit(_change(_case(case_id), notifications=[note], deliveries=rows))
    for handle in (first, second):
        assert [(e.case_id, e.role, e.status, e.last_error) for e in handle.outbox()] == [
            (
                "c1",
                "customer",
                "undeliverable",
                f"no recipient for role 'customer' on case c1: {why}",
            ),
            ("c1", "agent", "undeliverable", "no recipient for role 'agent' on case c1: {case}"),
            (
                "c2",
                "customer",
                "undeliverable",
                f"no recipient for role 'customer' on case c2: {why}",
            ),
            ("c2", "agent", "undeliverable", "no recipient for role 'agent' on case c2: {case}"),
        ]
    entry = first.outbox("c2")[0]
    first.record_attempt(entry.id, "dead", 1, T0, error="given up by hand")
    assert second.outbox("c2")[0].last_error == "given up by hand"
    assert (
        second.outbox("c1")[0].last_error == f"no recipient for role 'customer' on case c1: {why}"
    )


def test_the_workload_counts_what_waits_at_a_moment(store: Store) -> None:
    _queue(store, _delivery("d1", 1), _delivery("d2", 2), _delivery("d3", 30))
    store.commit(_change(_case("c2"), timers=[_timer("a", 3), _timer("b", 4), _timer("c", 60)]))
    [a, b, _] = store.timers("c2")
    store.timer_failed(a.id, "boom", None)
    [first, second] = store.claim_deliveries(T0 + timedelta(minutes=5), 2, "one", T0)
    store.record_attempt(first.id, "dead", 5, T0, error="gone")
    store.add_dead_letter("email", "junk", "utf-8", "no sender", T0)
    work = store.workload(T0 + timedelta(minutes=5))
    assert work == Workload(
        due_timers=1,
        oldest_due_timer=b.due_at,
        failed_timers=1,
        outbox_pending=2,
        outbox_due=1,
        oldest_due_delivery=second.next_attempt_at,
        dead_deliveries=1,
        open_dead_letters=1,
    )
    assert store.workload(T0).due_timers == 0


# -- inbound messages and dead letters ------------------------------------------------------------


def test_a_message_taken_twice_is_refused_naming_the_case_it_went_to(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_change(_case(), messages=[_message("m1", "ref-0")]))
    with pytest.raises(DuplicateMessage) as caught:
        second.commit(_change(_case("c2"), messages=[_message("m1")]))
    assert caught.value.case_id == "c1"
    assert second.load_case("c2") is None
    assert second.message_case("email", "m1") == "c1"
    assert second.message_case("sms", "m1") is None
    assert second.thread_case(["ref-0", "nothing"]) == "c1"
    assert second.thread_case([]) is None
    assert second.sender_cases("ann@example.org") == ["c1"]
    assert second.case_messages("c1") == [{"text": "body of m1", "emoji": "ünï ✓"}]


def test_dead_letters_are_kept_listed_and_closed(store: Store) -> None:
    first = store.add_dead_letter("email", "not mail", "utf-8", "no From header", T0)
    second = store.add_dead_letter("sms", "???", "latin-1", "no sender", T0)
    assert second > first
    store.commit(_change(_case()))
    store.close_dead_letter(first, "c1")
    [replayed] = store.dead_letters("replayed")
    assert (replayed.id, replayed.case_id, replayed.raw) == (first, "c1", "not mail")
    assert [d.error for d in store.dead_letters("open")] == ["no sender"]
    assert [d.id for d in store.dead_letters()] == [first, second]


def test_dead_letters_are_listed_in_pages_read_one_by_one_and_purged(store: Store) -> None:
    ids = [
        store.add_dead_letter("sms", f"payload {n}", "text", "no sender", T0 + timedelta(days=n))
        for n in range(5)
    ]
    assert [d.id for d in store.dead_letters(limit=2)] == ids[:2]
    assert [d.id for d in store.dead_letters(after=ids[1], limit=2)] == ids[2:4]
    assert [d.id for d in store.dead_letters("open", after=ids[3])] == ids[4:]
    letter = store.dead_letter(ids[2])
    assert letter is not None and letter.raw == "payload 2"
    assert store.dead_letter(ids[-1] + 100) is None
    assert store.purge_dead_letters(T0 + timedelta(days=2)) == 2
    assert [d.id for d in store.dead_letters()] == ids[2:]
    assert store.purge_dead_letters(T0) == 0


def test_a_purged_case_takes_everything_kept_for_it_and_leaves_the_others(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    for case_id, message_id in (("c1", "m1"), ("c2", "m2")):
        first.commit(
            _change(
                _case(case_id),
                timers=[_timer("remind", 30)],
                notifications=[NewNotification(f"{case_id}:n1", "opened", ("ann",), None, False)],
                deliveries=[_delivery(f"{case_id}:d1")._replace(notification_key=f"{case_id}:n1")],
                messages=[_message(message_id, f"ref-{case_id}")],
                idempotency_key=f"key-{case_id}",
                idempotency_scope="start",
                customer_id="cust-1",
                open_scope=f"care:{case_id}",
            )
        )
    assert second.purge_cases(["c1", "c1", "missing"]) == 1
    # the customer owns the other case only, and the purged case's scope is free again
    assert second.case_customer("c1") is None and second.customer_cases("cust-1") == ["c2"]
    assert second.open_scope_case("care:c1") is None
    assert second.open_scope_case("care:c2") == "c2"
    assert second.load_case("c1") is None and second.history("c1") == []
    assert second.timers("c1") == [] and second.outbox("c1") == []
    assert second.notifications("c1") == [] and second.case_messages("c1") == []
    assert second.message_case("email", "m1") is None
    assert second.thread_case(["ref-c1"]) is None
    assert second.idempotency("key-c1") is None
    assert [t.case_id for t in first.due_timers(T0 + timedelta(hours=1), 10)] == ["c2"]
    assert [c.id for c in first.find_cases()] == ["c2"]
    assert len(first.history("c2")) == 1 and len(first.outbox("c2")) == 1
    assert first.thread_case(["ref-c2"]) == "c2"
    assert second.purge_cases([]) == 0
    first.commit(_change(_case("c3"), customer_id="cust-1", open_scope="care:c1"))
    assert second.open_scope_case("care:c1") == "c3"


def test_large_texts_in_history_read_back_as_committed(stores: tuple[Store, Store]) -> None:
    first, second = stores
    opened = _case()
    transcript = "I wrote this. " * 100
    with_nul = "\x00 hostile " * 200
    started = _entry(opened)._replace(payload={"question": transcript, "raw": with_nul})
    first.commit(_change(opened)._replace(history=started))
    taken = _case(revision=2, state="open")
    longer = transcript + "\n" + "And this. " * 200
    extra = {"set": {"transcript": longer, "n": 2}}
    entry = _entry(taken, "transition")._replace(payload={"more": "x" * 2000}, details=extra)
    second.commit(_change(taken)._replace(history=entry))
    assert second.history("c1") == first.history("c1") == [started, entry]
    [history] = [h for h in first.histories() if h.case_id == "c1"]
    assert list(history.entries) == [started, entry]


def _signal(key: str, customer_id: str | None = None) -> PendingSignal:
    start = {"customer": "Li Wei"} if customer_id else {"reason": "resolved"}
    return PendingSignal(key, "care_retention", customer_id, start, None, T0)


def test_an_erased_customer_loses_messages_contacts_and_the_redacted_values(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    li = Customer(
        id="li",
        name="Li Wei",
        locale="zh",
        contact_points=(ContactPoint("email", "li@example.com"),),
        preferred="email",
    )
    first.save_customer(li)
    first.commit(
        _change(
            _case(),
            messages=[_message("m1", "ref-1")],
            deliveries=[_delivery("c1:d1"), _delivery("c1:d2")._replace(role="agent", name="Bo")],
            idempotency_key="k1",
            idempotency_scope="start",
            customer_id="li",
            signals=[_signal("c1:1:care_retention", "li")],
        )
    )
    first.commit(
        _change(_case("c2"), messages=[_message("m2")], signals=[_signal("c2:1:care_revisit")])
    )
    assert second.customer_cases("li") == ["c1"] and second.customer_cases("nobody") == []
    case = second.load_case("c1")
    assert case is not None
    [entry] = second.history("c1")
    assert first.load_case("c1") == case  # the other handle has decoded it at revision 1
    with pytest.raises(ConcurrencyConflict):
        second.erase_customer("li", [case._replace(revision=5)], [], "[erased]")
    erased = case._replace(data={**case.data, "customer": "[erased]"}, revision=2)
    redacted = entry._replace(actor="email:[erased]", payload={"customer": "[erased]"})
    added = entry._replace(seq=2, kind="erased", payload=None, details={"erased": {}})
    assert second.erase_customer("li", [erased], [redacted, added], "[erased]") == 1
    assert first.load_case("c1") == erased
    assert first.history("c1") == [redacted, added]
    assert first.case_messages("c1") == [] and first.thread_case(["ref-1"]) is None
    assert first.idempotency("k1") is None
    rows = [
        (r.address, r.name, r.subject, r.body, r.status, r.last_error) for r in first.outbox("c1")
    ]
    assert rows == [
        ("[erased]", None, "[erased]", "[erased]", "dead", "the customer was erased"),
        ("ann@example.org", "Bo", "[erased]", "[erased]", "dead", "the customer was erased"),
    ]
    assert first.load_customer("li") == Customer(id="li", locale="zh")
    assert first.customer_by_contact("email", "li@example.com") is None
    assert len(first.case_messages("c2")) == 1
    assert [s.key for s in first.pending_signals(10)] == ["c2:1:care_revisit"]


def test_refused_events_are_kept_per_case_oldest_first(stores: tuple[Store, Store]) -> None:
    first, second = stores
    for n, case_id in enumerate(["c1", "c2", "c1"]):
        first.add_refusal(
            Refusal(
                case_id=case_id,
                at=T0 + timedelta(minutes=n),
                actor=f"agent-{n}",
                trigger="approve",
                state="review",
                reason="needs role manager",
                roles=("agent",),
                required=("manager", "director"),
            )
        )
    assert [(r.actor, r.at) for r in second.refusals("c1")] == [
        ("agent-0", T0),
        ("agent-2", T0 + timedelta(minutes=2)),
    ]
    [only] = second.refusals("c2")
    assert (only.roles, only.required, only.reason) == (
        ("agent",),
        ("manager", "director"),
        "needs role manager",
    )
    assert len(second.refusals()) == 3


# -- workflow versions and the schema -------------------------------------------------------------


def test_a_changed_definition_of_a_version_with_cases_is_refused(store: Store) -> None:
    store.register_workflow("ticket", 1, "aaa", "name: ticket", "ticket.yaml")
    store.register_workflow("ticket", 1, "aaa", "name: ticket", "ticket.yaml")
    store.register_workflow("ticket", 1, "bbb", "name: ticket # edited", "ticket.yaml")
    assert store.workflow_source("ticket", 1) == ("name: ticket # edited", "ticket.yaml")
    store.commit(_change(_case()))
    with pytest.raises(WorkflowVersionConflict):
        store.register_workflow("ticket", 1, "ccc", "name: ticket # again", "ticket.yaml")
    assert store.workflow_source("ticket", 1) == ("name: ticket # edited", "ticket.yaml")
    assert store.workflow_source("ticket", 2) is None


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_store_written_by_a_newer_svcflow_is_refused(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        path = tmp_path / "cases.db"
        url, where = f"sqlite:///{path}", str(path)
        version = SQLITE_VERSION
        _open(url).close()
        with sqlite3.connect(path) as db:
            db.execute("UPDATE schema_version SET version = 99")
    else:
        url = request.getfixturevalue("postgres_database_url")
        where, version = url, POSTGRES_VERSION
        _open(url).close()
        with psycopg.connect(url, autocommit=True) as db:
            db.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError) as caught:
        _open(url)
    assert str(caught.value) == (
        f"the store {where} has schema version 99, newer than this svcflow understands "
        f"({version}); upgrade svcflow"
    )


# -- finding cases: filters, keyset pages, counts --------------------------------------------------


def _clock(status: str, due_minutes: int | None, breached: bool = False) -> dict[str, Any]:
    """An SLA clock as the engine keeps it with the case (only the fields queries read)."""
    deadline = None if due_minutes is None else (T0 + timedelta(minutes=due_minutes)).isoformat()
    return {
        "status": status,
        "deadline": deadline,
        "breached_at": deadline if breached else None,
    }


def _found(store: Store, query: CaseQuery) -> list[str]:
    found = [case.id for case in store.find(query)]
    assert store.count(query) == len(found)
    return found


def _board(store: Store) -> None:
    """Six cases: two owners, two assignees and queues, SLA clocks in every status."""
    cases = [
        _case("a", assignee="li", queue="vip")._replace(
            sla={"metrics": {"response": _clock("running", 10)}}
        ),
        _case("b", assignee="li")._replace(
            sla={"metrics": {"response": _clock("stopped", 5), "resolve": _clock("running", 90)}}
        ),
        _case("c", state="open", assignee="wang", queue="vip")._replace(
            sla={"metrics": {"response": _clock("running", 5, breached=True)}}
        ),
        _case("d", state="open", assignee=7)._replace(
            sla={"metrics": {"response": _clock("paused", None)}}
        ),
        _case("e")._replace(workflow="chat", sla={"metrics": {"reply": _clock("running", 1)}}),
        _case("f", state="closed")._replace(
            sla={"metrics": {"response": _clock("stopped", 5, breached=True)}}
        ),
    ]
    for case in cases:
        store.commit(_change(case, customer_id="crm-1" if case.id in "ace" else None))


def test_find_answers_every_filter_and_count_agrees(stores: tuple[Store, Store]) -> None:
    first, second = stores
    _board(first)
    assert _found(second, CaseQuery()) == ["a", "b", "c", "d", "e", "f"]
    assert _found(second, CaseQuery(workflow="ticket", state="open")) == ["c", "d"]
    assert _found(second, CaseQuery(customer="crm-1")) == ["a", "c", "e"]
    assert _found(second, CaseQuery(assignee="li")) == ["a", "b"]
    assert _found(second, CaseQuery(assignee="7")) == []  # not text: not an assignee
    assert _found(second, CaseQuery(queue="vip", customer="crm-1")) == ["a", "c"]
    assert _found(second, CaseQuery(sla="running")) == ["a", "b", "e"]
    assert _found(second, CaseQuery(sla="breached")) == ["c"]  # f's clock stopped
    soon = CaseQuery(sla="at_risk", due_by=T0 + timedelta(minutes=10))
    assert _found(second, soon) == ["a", "e"]
    assert _found(second, soon._replace(by_deadline=True)) == ["e", "a"]
    assert _found(second, CaseQuery(updated_since=T0 + timedelta(seconds=1))) == []
    assert _found(second, CaseQuery(updated_since=T0)) == ["a", "b", "c", "d", "e", "f"]


def test_what_find_filters_on_follows_each_committed_change(stores: tuple[Store, Store]) -> None:
    first, second = stores
    first.commit(_change(_case(assignee="li")))
    moved = _case(revision=2, assignee="wang", queue="vip")._replace(
        sla={"metrics": {"response": _clock("running", 3)}}
    )
    first.commit(_change(moved))
    assert _found(second, CaseQuery(assignee="li")) == []
    assert _found(second, CaseQuery(assignee="wang", queue="vip", sla="running")) == ["c1"]
    breached = moved._replace(revision=3, sla={"metrics": {"response": _clock("running", 3, True)}})
    first.commit(_change(breached))
    assert _found(second, CaseQuery(sla="running")) == []
    assert _found(second, CaseQuery(sla="breached", assignee="wang")) == ["c1"]


def test_pages_follow_their_cursor_even_when_cases_are_added_between_them(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    for index, case_id in enumerate(["p3", "p1", "p2", "p5", "p4"]):
        created = T0 + timedelta(minutes=index // 2)  # ties on created_at go by id
        first.commit(_change(_case(case_id)._replace(created_at=created)))
    page = second.find(CaseQuery(), limit=2)
    assert [c.id for c in page] == ["p1", "p3"] and page.next is not None
    first.commit(_change(_case("p0")))  # created at T0: before the cursor, not seen again
    first.commit(_change(_case("p9")._replace(created_at=T0 + timedelta(hours=1))))
    page = second.find(CaseQuery(), after=page.next, limit=2)
    assert [c.id for c in page] == ["p2", "p5"] and page.next is not None
    page = second.find(CaseQuery(), after=page.next, limit=2)
    assert [c.id for c in page] == ["p4", "p9"] and page.next is None  # nothing after it
    everything = second.find(CaseQuery())
    assert len(everything) == 7 and everything.next is None


def test_a_query_that_cannot_be_answered_says_why(store: Store) -> None:
    with pytest.raises(InvalidQuery) as caught:
        store.find(CaseQuery(sla="late"))
    assert str(caught.value) == (
        "unknown SLA status 'late' to find cases by; use one of running, at_risk, breached"
    )
    with pytest.raises(InvalidQuery) as caught:
        store.count(CaseQuery(sla="at_risk"))
    assert str(caught.value) == "finding cases at risk needs due_by, the moment they breach by"
    with pytest.raises(InvalidQuery) as caught:
        store.find(CaseQuery(), limit=0)
    assert str(caught.value) == "invalid page size 0; ask for at least 1 case, or None for all"
    store.commit(_change(_case("c1")._replace(sla={"metrics": {"r": _clock("running", 1)}})))
    store.commit(_change(_case("c2")._replace(sla={"metrics": {"r": _clock("running", 2)}})))
    by_deadline = CaseQuery(by_deadline=True)
    cursor = store.find(by_deadline, limit=1).next
    assert cursor is not None
    with pytest.raises(InvalidCursor) as wrong_order:
        store.find(CaseQuery(), after=cursor)
    assert str(wrong_order.value) == (
        f"invalid page cursor {cursor[:37] + '...'!r}: pass the 'next' of a page found in the "
        "same order (by creation), or no cursor for the first page"
    )
    with pytest.raises(InvalidCursor):
        store.find(by_deadline, after="not a cursor")
    assert [c.id for c in store.find(by_deadline, after=cursor)] == ["c2"]


# -- several changes in one transaction -----------------------------------------------------------


def test_a_batch_keeps_every_change_but_the_refused_ones_which_write_nothing(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_change(_case("old"), timers=[_timer("remind", 15)]))
    [timer] = first.timers("old")
    first.commit(_change(_case("old", revision=2), consume_timer=timer.id))
    first.commit(_change(_case("taken"), messages=[_message("m1")], idempotency_key="k1"))
    batch = [
        _change(_case("a"), timers=[_timer("remind", 5)], deliveries=[_delivery("a:1")]),
        _change(_case("old", revision=2, state="stale")),  # revision 2 exists: a conflict
        _change(_case("b"), messages=[_message("m1")]),  # m1 went to "taken"
        _change(_case("a", revision=2, state="open")),  # follows the batch's first change
        _change(_case("old", revision=3), consume_timer=timer.id),  # fired already
        _change(_case("c"), idempotency_key="k1"),  # the key "taken" was started with
        _change(_case("d"), idempotency_key="k2"),
        _change(_case("e"), idempotency_key="k2"),  # the same key, earlier in this batch
    ]
    outcomes = second.commit_many(batch)
    assert [type(o).__name__ if o else None for o in outcomes] == [
        None,
        "ConcurrencyConflict",
        "DuplicateMessage",
        None,
        "TimerGone",
        "IdempotentReplay",
        None,
        "IdempotentReplay",
    ]
    assert isinstance(outcomes[2], DuplicateMessage) and outcomes[2].case_id == "taken"
    assert isinstance(outcomes[7], IdempotentReplay) and outcomes[7].record.case.id == "d"
    assert [c.id for c in first.find(CaseQuery())] == ["a", "d", "old", "taken"]
    assert first.load_case("a") == _case("a", revision=2, state="open")
    assert first.load_case("old") == _case("old", revision=2)
    assert [t.trigger for t in first.timers("a")] == ["remind"]
    assert [e.key for e in first.outbox()] == ["a:1"]
    assert [e.seq for e in first.history("a")] == [1, 2]
    assert second.commit_many([]) == []


# -- proactive care (issue 19): customer-scoped cases, customer dates, recurring timers --------


def _scoped(case_id: str, scope: str = "care:cust-1", **parts: Any) -> CaseChange:
    return _change(_case(case_id), customer_id="cust-1", open_scope=scope, **parts)


def test_one_open_case_holds_a_customer_scope_until_it_releases_it(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    first.commit(_scoped("c1"))
    with pytest.raises(ScopeTaken) as caught:
        second.commit(_scoped("c2"))
    assert caught.value.case_id == "c1"
    assert second.load_case("c2") is None and second.history("c2") == []
    assert second.open_scope_case("care:cust-1") == "c1"
    second.commit(_scoped("c3", scope="care:cust-2"))  # another customer's key is free
    closed = _case("c1", revision=2, state="closed")
    first.commit(_change(closed, release_scope=True))
    assert second.open_scope_case("care:cust-1") is None
    second.commit(_scoped("c2"))
    assert first.open_scope_case("care:cust-1") == "c2"
    assert first.case_customer("c2") == "cust-1"


def test_racing_starts_of_one_customer_scope_leave_exactly_one_case(
    stores: tuple[Store, Store],
) -> None:
    first, second = stores
    outcomes: list[str] = []

    def start(case_id: str) -> None:
        handle = first if case_id.endswith(("0", "2", "4", "6")) else second
        try:
            handle.commit(_scoped(case_id))
            outcomes.append("started")
        except ScopeTaken as taken:
            outcomes.append(f"taken by {taken.case_id}")

    threads = [threading.Thread(target=start, args=(f"c{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    holder = first.open_scope_case("care:cust-1")
    assert outcomes.count("started") == 1
    assert sorted(outcomes) == ["started", *[f"taken by {holder}"] * 7]
    assert [case.id for case in first.find_cases()] == [holder]


def test_a_customer_counts_their_cases_by_workflow_since_a_moment(store: Store) -> None:
    for n, (workflow, days_ago) in enumerate(
        [("complaint", 100), ("complaint", 30), ("complaint", 1), ("survey", 5)]
    ):
        case = _case(f"c{n}")._replace(workflow=workflow, created_at=T0 - timedelta(days=days_ago))
        store.commit(_change(case, customer_id="cust-1"))
    store.commit(_change(_case("other"), customer_id="cust-2"))
    assert store.customer_case_counts("cust-1", T0 - timedelta(days=90)) == {
        "complaint": 2,
        "survey": 1,
    }
    assert store.customer_case_counts("nobody", T0) == {}


def test_a_customer_keeps_time_zone_birthday_since_and_leaving(stores: tuple[Store, Store]) -> None:
    first, second = stores
    customer = Customer(
        id="cust-1",
        name="Li Wei",
        segment="vip",
        timezone="Asia/Shanghai",
        birthday=date(2000, 2, 29),
        since=date(2019, 6, 1),
    )
    first.save_customer(customer)
    assert second.load_customer("cust-1") == customer
    gone = customer._replace(left_at=T0)
    first.save_customer(gone)
    assert second.load_customer("cust-1") == gone
    # each date is kept on its own: a birthday without a "since", and the other way round
    for partial in (customer._replace(since=None), customer._replace(birthday=None)):
        first.save_customer(partial)
        assert second.load_customer("cust-1") == partial


def test_a_recurring_timer_keeps_its_nominal_moment(stores: tuple[Store, Store]) -> None:
    first, second = stores
    nominal = T0 + timedelta(days=90)
    timer = NewTimer("rec:review", nominal + timedelta(days=1), "new", True, nominal=nominal)
    first.commit(_change(_case(), timers=[timer, _timer("remind", 30)]))
    stored = {t.trigger: t.nominal for t in second.timers("c1")}
    assert stored == {"rec:review": nominal, "remind": None}
    claimed = second.claim_due_timers(T0 + timedelta(days=92), 10, "r1", T0 + timedelta(days=93))
    assert [(t.trigger, t.nominal) for t in claimed] == [("remind", None), ("rec:review", nominal)]


def _keyed(case_id: str, notification: str, *deliveries: str) -> CaseChange:
    """A new case with one notification and its deliveries, keyed as given."""
    note = NewNotification(notification, "opened", ("customer",), "email", False)
    rows = [_delivery(key)._replace(notification_key=notification) for key in deliveries]
    return _change(_case(case_id), notifications=[note], deliveries=rows)


def test_a_cases_outbox_rows_are_found_whatever_their_keys(store: Store) -> None:
    """Store.outbox(case_id), the notification's status and purge_cases find a case's rows
    keyed as the engine keys them (the SQLite store reads those by key range, issue 16) and
    keyed otherwise, and never another case's whose id starts the same."""
    store.commit(_keyed("c1", "c1:1:1", "c1:1:1:1", "c1:1:1:customer"))
    store.commit(_keyed("c10", "c10:1:1", "c10:1:1:1", "odd-row"))
    store.commit(_keyed("c2", "odd-notice", "other-row"))
    assert [e.key for e in store.outbox("c1")] == ["c1:1:1:1", "c1:1:1:customer"]
    assert [e.key for e in store.outbox("c10", status="pending")] == ["c10:1:1:1", "odd-row"]
    claimed = {e.key: e.id for e in store.claim_deliveries(T0, 10, "one", T0)}
    for key in ("c1:1:1:1", "c1:1:1:customer", "c10:1:1:1", "other-row"):
        store.record_attempt(claimed[key], "delivered", 1, T0)
    store.record_attempt(claimed["odd-row"], "dead", 1, T0, error="gone")
    statuses = {n.key: n.status for n in store.notifications()}
    assert statuses == {"c1:1:1": "delivered", "c10:1:1": "dead", "odd-notice": "delivered"}
    assert store.purge_cases(["c1", "c10"]) == 2
    assert [e.key for e in store.outbox()] == ["other-row"]
