"""The outbox dispatcher as an operator relies on it: the retry schedule read from the recorded
attempts, how much one ``dispatch`` call takes on, the lease that keeps two dispatchers off the
same notification, and the delivery timeout reaching an async plugin."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from svcflow import Engine, hookimpl
from svcflow.clock import ManualClock
from svcflow.errors import DeliveryFailed, PermanentDeliveryError
from svcflow.hooks.types import ChannelInfo, Delivery, DeliveryReceipt
from svcflow.messaging.outbox import Dispatcher, RetryPolicy
from svcflow.records import Case
from svcflow.store.base import Attempt
from svcflow.testing import CapturedDeliveries, EngineFactory, InlinePlugins

NOTICE = """\
workflow: notice
version: 1
title: A notice to the customer
data:
  customer_email: {type: string, default: ""}
  customer_name: {type: string, default: ""}
states:
  sent:
    initial: true
    on_enter:
      - notify: {template: notice, to: customer}
  done: {final: true}
transitions:
  - {trigger: finish, from: sent, to: done}
"""


def start(engine: Engine, number: int = 1) -> Case:
    email = f"c{number}@example.com"
    return engine.start("notice", {"customer_email": email, "customer_name": f"C{number}"})


def test_the_retry_delay_doubles_from_the_first_and_stops_at_the_maximum() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.first_delay, policy.factor, policy.max_delay) == (
        6,
        timedelta(seconds=30),
        2.0,
        timedelta(hours=1),
    )
    assert [policy.delay(n) for n in range(1, 9)] == [
        timedelta(seconds=30),
        timedelta(minutes=1),
        timedelta(minutes=2),
        timedelta(minutes=4),
        timedelta(minutes=8),
        timedelta(minutes=16),
        timedelta(minutes=32),
        timedelta(hours=1),
    ]
    tripling = RetryPolicy(first_delay=timedelta(seconds=10), factor=3.0)
    assert [tripling.delay(n) for n in (1, 2, 3)] == [
        timedelta(seconds=10),
        timedelta(seconds=30),
        timedelta(seconds=90),
    ]


def test_each_failure_schedules_the_next_attempt_further_out(
    svcflow_engine: EngineFactory,
    svcflow_captured: CapturedDeliveries,
    svcflow_clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    retry = RetryPolicy(
        max_attempts=5, first_delay=timedelta(minutes=1), max_delay=timedelta(minutes=5)
    )
    engine = svcflow_engine(NOTICE, retry=retry)
    case = start(engine)
    svcflow_captured.fail_next(10)
    waits = []
    with caplog.at_level(logging.WARNING, logger="svcflow.outbox"):
        for attempt in range(1, 5):
            attempted_at = svcflow_clock.now()
            assert engine.dispatch().attempted == 1
            [row] = engine.outbox(case.id)
            assert (row.status, row.attempts) == ("pending", attempt)
            waits.append(row.next_attempt_at - attempted_at)
            # Due again only at the recorded moment: a second before it, nothing is attempted.
            assert engine.dispatch(row.next_attempt_at - timedelta(seconds=1)).attempted == 0
            svcflow_clock.set(row.next_attempt_at)
        assert waits == [
            timedelta(minutes=1),
            timedelta(minutes=2),
            timedelta(minutes=4),
            timedelta(minutes=5),
        ]
        assert engine.dispatch().dead
    [row] = engine.outbox(case.id)
    assert (row.status, row.attempts) == ("dead", 5)
    assert row.last_error == (
        "gave up after 5 attempts: DeliveryFailed: captured delivery told to fail"
    )
    first_retry = caplog.records[0].getMessage()
    assert first_retry == (
        f"notification {row.key} failed (attempt 1), retrying at 2026-03-02T09:01:00+00:00: "
        "DeliveryFailed: captured delivery told to fail"
    )
    assert caplog.records[-1].levelno == logging.ERROR
    assert caplog.records[-1].getMessage() == (
        f"notification {row.key} dead-lettered: gave up after 5 attempts: "
        "DeliveryFailed: captured delivery told to fail"
    )


def test_a_delivered_notification_records_the_receipt_and_what_the_plugin_saw(
    svcflow_engine: EngineFactory, svcflow_captured: CapturedDeliveries, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(NOTICE)
    case = start(engine)
    svcflow_clock.advance("5m")
    report = engine.dispatch()
    [row] = engine.outbox(case.id)
    assert [entry.key for entry in report.delivered] == [row.key]
    assert (report.retrying, report.dead, report.attempted) == ([], [], 1)
    assert (row.status, row.attempts, row.reference) == ("delivered", 1, "captured-1")
    assert row.delivered_at == svcflow_clock.now()
    [sent] = svcflow_captured.deliveries
    assert sent == Delivery(
        key=row.key,
        case_id=case.id,
        template="notice",
        recipient=sent.recipient,
        subject=row.subject,
        body=row.body,
        locale="en",
        urgent=False,
        attempt=1,
        created_at=row.created_at,
    )
    recipient = sent.recipient
    assert (recipient.address, recipient.channel, recipient.name, recipient.locale) == (
        "c1@example.com",
        "email",
        "C1",
        "en",
    )
    assert recipient.role == "customer"


def test_dispatch_attempts_at_most_limit_entries_oldest_first(
    svcflow_engine: EngineFactory, svcflow_captured: CapturedDeliveries, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(NOTICE, store="memory://")
    cases = []
    for number in range(1, 6):
        cases.append(start(engine, number))
        svcflow_clock.advance("1s")
    assert engine.dispatch(limit=0).attempted == 0
    assert len(engine.dispatch(limit=2).delivered) == 2
    assert [d.case_id for d in svcflow_captured.deliveries] == [c.id for c in cases[:2]]
    assert engine.dispatch(limit=1).attempted == 1
    assert engine.dispatch(limit=10).attempted == 2
    assert [d.case_id for d in svcflow_captured.deliveries] == [c.id for c in cases]
    assert engine.dispatch(limit=10).attempted == 0


def test_dispatch_works_through_more_than_one_batch(
    svcflow_engine: EngineFactory, svcflow_captured: CapturedDeliveries
) -> None:
    engine = svcflow_engine(NOTICE, store="memory://")
    for number in range(230):
        start(engine, number)
    assert engine.dispatch(limit=150).attempted == 150
    assert engine.dispatch().attempted == 80
    assert len({d.key for d in svcflow_captured.deliveries}) == 230


class ProcessKilled(BaseException):
    """Stands for the dispatcher's process dying mid-delivery (nothing catches it)."""


def test_a_claim_is_leased_for_the_dispatchers_lease_and_no_longer(
    svcflow_engine: EngineFactory,
    svcflow_captured: CapturedDeliveries,
    svcflow_plugin: InlinePlugins,
    svcflow_clock: ManualClock,
) -> None:
    class DiesOnce:
        died = False

        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
            if not DiesOnce.died:
                DiesOnce.died = True
                raise ProcessKilled
            return DeliveryReceipt("paged")

    svcflow_plugin(DiesOnce(), "dies-once")
    engine = svcflow_engine(
        NOTICE.replace("to: customer", "to: oncall"),
        directory={"oncall": {"address": "7001", "channel": "pager"}},
    )
    case = start(engine)
    dying = Dispatcher(engine.store, engine.plugins, svcflow_clock, lease=timedelta(minutes=10))
    with pytest.raises(ProcessKilled):
        dying.dispatch()
    survivor = Dispatcher(engine.store, engine.plugins, svcflow_clock)
    svcflow_clock.advance("9m59s")
    assert survivor.dispatch().attempted == 0  # still leased by the dead dispatcher
    svcflow_clock.advance("1s")
    assert len(survivor.dispatch().delivered) == 1
    [row] = engine.outbox(case.id)
    assert (row.status, row.attempts, row.reference) == ("delivered", 1, "paged")


def test_the_delivery_timeout_bounds_an_async_plugin(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, svcflow_clock: ManualClock
) -> None:
    class AnswersTheSecondTime:
        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        async def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
            if delivery.attempt == 1:
                await asyncio.Event().wait()  # a gateway that never answers
            return DeliveryReceipt(f"paged-{delivery.attempt}")

    svcflow_plugin(AnswersTheSecondTime(), "answers-the-second-time")
    engine = svcflow_engine(
        NOTICE.replace("to: customer", "to: oncall"),
        directory={"oncall": {"address": "7001", "channel": "pager"}},
    )
    case = start(engine)
    dispatcher = Dispatcher(engine.store, engine.plugins, svcflow_clock, timeout=0.05)
    assert dispatcher.timeout == 0.05
    assert len(dispatcher.dispatch().retrying) == 1
    [row] = engine.outbox(case.id)
    assert row.last_error == (
        "DeliveryFailed: the 'answers-the-second-time' plugin did not finish a 'pager' "
        "delivery within 0.05 s"
    )
    assert row.next_attempt_at == svcflow_clock.now() + timedelta(seconds=30)
    svcflow_clock.advance("30s")
    assert len(dispatcher.dispatch().delivered) == 1
    assert engine.outbox(case.id)[0].reference == "paged-2"


def test_the_delivery_timeout_bounds_a_synchronous_plugin_too(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, svcflow_clock: ManualClock
) -> None:
    gateway_answers = threading.Event()

    class BlocksTheFirstTime:
        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
            if delivery.attempt == 1:
                gateway_answers.wait(30)  # a blocking client with no timeout of its own
            return DeliveryReceipt(f"paged-{delivery.attempt}")

    svcflow_plugin(BlocksTheFirstTime(), "blocks-the-first-time")
    engine = svcflow_engine(
        NOTICE.replace("to: customer", "to: oncall"),
        directory={"oncall": {"address": "7001", "channel": "pager"}},
        delivery_timeout=0.05,
    )
    case = start(engine)
    try:
        assert len(engine.dispatch().retrying) == 1
        [row] = engine.outbox(case.id)
        assert (row.status, row.attempts) == ("pending", 1)
        assert row.last_error == (
            "DeliveryFailed: the 'blocks-the-first-time' plugin did not finish a 'pager' "
            "delivery within 0.05 s"
        )
        assert engine.get(case.id).state == "sent"
        svcflow_clock.advance("30s")
        assert len(engine.dispatch().delivered) == 1
        assert engine.outbox(case.id)[0].reference == "paged-2"
    finally:
        gateway_answers.set()


def test_a_delivery_timeout_must_be_shorter_than_the_lease(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(NOTICE)
    with pytest.raises(ValueError) as caught:
        Dispatcher(engine.store, engine.plugins, svcflow_clock, timeout=120)
    assert str(caught.value) == (
        "the delivery timeout (120 s) must be shorter than the dispatcher's lease (120 s), "
        "or another dispatcher would deliver the same notification meanwhile"
    )


@pytest.mark.parametrize("timeout", [0, -1.5])
def test_a_delivery_timeout_must_be_more_than_zero(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock, timeout: float
) -> None:
    engine = svcflow_engine(NOTICE)
    with pytest.raises(ValueError) as caught:
        Dispatcher(engine.store, engine.plugins, svcflow_clock, timeout=timeout)
    assert str(caught.value) == (
        f"the delivery timeout ({timeout:g} s) must be more than 0 s: it is how long one "
        "delivery attempt may take"
    )


def test_a_dispatcher_gives_a_delivery_thirty_seconds_unless_told_otherwise(
    svcflow_engine: EngineFactory, svcflow_clock: ManualClock
) -> None:
    engine = svcflow_engine(NOTICE)
    assert Dispatcher(engine.store, engine.plugins, svcflow_clock).timeout == 30.0


def test_a_second_dispatcher_does_not_take_a_notification_being_delivered(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, svcflow_clock: ManualClock
) -> None:
    seen: list[tuple[str, int]] = []

    class AsksAnotherDispatcherMeanwhile:
        other: Dispatcher

        @hookimpl
        def svcflow_register_channels(self) -> list[ChannelInfo]:
            return [ChannelInfo("pager", outbound=True)]

        @hookimpl
        def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
            seen.append((delivery.key, self.other.dispatch().attempted))
            return DeliveryReceipt("paged")

    plugin = AsksAnotherDispatcherMeanwhile()
    svcflow_plugin(plugin, "asks-another")
    engine = svcflow_engine(
        NOTICE.replace("to: customer", "to: oncall"),
        directory={"oncall": {"address": "7001", "channel": "pager"}},
        store="memory://",
    )
    case = start(engine)
    plugin.other = Dispatcher(engine.store, engine.plugins, svcflow_clock)
    first = Dispatcher(engine.store, engine.plugins, svcflow_clock)
    assert len(first.dispatch().delivered) == 1
    [row] = engine.outbox(case.id)
    assert seen == [(row.key, 0)]  # the other dispatcher found nothing it could take


class Refuses:
    """A pager gateway where 7001 is busy (retried later), 7002 does not exist (dead at once)
    and any other pager answers; each delivery takes ``step`` of ``clock`` when given one."""

    def __init__(self, clock: ManualClock | None = None, step: str = "2s") -> None:
        self.clock, self.step = clock, step

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        return [ChannelInfo("pager", outbound=True)]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
        if self.clock is not None:
            self.clock.advance(self.step)
        if delivery.recipient.address == "7002":
            raise PermanentDeliveryError("no such pager")
        if delivery.recipient.address == "7001":
            raise DeliveryFailed("gateway busy")
        return DeliveryReceipt("paged")


def paging(svcflow_engine: EngineFactory, pagers: dict[str, str]) -> Engine:
    """An engine whose notice goes to each role of ``pagers`` (role: pager number)."""
    return svcflow_engine(
        NOTICE.replace("to: customer", f"to: [{', '.join(pagers)}]"),
        directory={
            role: {"address": number, "channel": "pager"} for role, number in pagers.items()
        },
    )


def test_the_report_names_the_notifications_that_will_be_retried_and_those_given_up(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, svcflow_clock: ManualClock
) -> None:
    svcflow_plugin(Refuses(), "refuses")
    engine = paging(svcflow_engine, {"oncall": "7001", "backup": "7002"})
    case = start(engine)
    report = engine.dispatch()
    rows = {row.address: row for row in engine.outbox(case.id)}
    assert [entry.key for entry in report.retrying] == [rows["7001"].key]
    assert [entry.key for entry in report.dead] == [rows["7002"].key]
    assert (rows["7001"].status, rows["7002"].status) == ("pending", "dead")


class SlowPager:
    """A pager gateway that takes ``step`` of the (manual) clock per delivery and notes, as
    each delivery starts, how many notifications the store already shows as delivered."""

    def __init__(self, clock: ManualClock, step: timedelta) -> None:
        self.clock, self.step = clock, step
        self.engine: Engine | None = None
        self.recorded_before: list[int] = []

    @hookimpl
    def svcflow_register_channels(self) -> list[ChannelInfo]:
        return [ChannelInfo("pager", outbound=True)]

    @hookimpl
    def svcflow_deliver(self, delivery: Delivery) -> DeliveryReceipt:
        assert self.engine is not None
        rows = self.engine.outbox()
        self.recorded_before.append(sum(row.status == "delivered" for row in rows))
        self.clock.advance(self.step)
        return DeliveryReceipt(f"paged-{delivery.key}")


def paged_engine(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, pager: SlowPager, cases: int
) -> Engine:
    svcflow_plugin(pager, "slow-pager")
    engine = paging(svcflow_engine, {"oncall": "7001"})
    pager.engine = engine
    for number in range(1, cases + 1):
        start(engine, number)
    return engine


def test_by_default_each_delivery_is_recorded_before_the_next_one_is_made(
    svcflow_engine: EngineFactory, svcflow_plugin: InlinePlugins, svcflow_clock: ManualClock
) -> None:
    pager = SlowPager(svcflow_clock, timedelta(0))
    engine = paged_engine(svcflow_engine, svcflow_plugin, pager, cases=3)
    dispatcher = Dispatcher(engine.store, engine.plugins, svcflow_clock)
    assert dispatcher.record_batch == 1
    assert len(dispatcher.dispatch().delivered) == 3
    # A dispatcher killed during the third delivery would send only that one again.
    assert pager.recorded_before == [0, 1, 2]
    assert [row.status for row in engine.outbox()] == ["delivered"] * 3


@pytest.mark.parametrize(
    ("step", "recorded_before"),
    [
        # the batch of three fills first: the fourth is recorded with the rest at the end
        (timedelta(0), [0, 0, 0, 3]),
        # a quarter of the two-minute lease (30 s) passes during the second delivery, and
        # again during the fourth, counted from the moment the first two were recorded
        (timedelta(seconds=29), [0, 0, 2, 2]),
        # exactly a quarter of the lease per delivery: each is recorded as soon as it is made
        (timedelta(seconds=30), [0, 1, 2, 3]),
    ],
    ids=["batch-full", "quarter-lease-passed", "quarter-lease-each"],
)
def test_outcomes_batched_are_recorded_when_the_batch_is_full_or_a_quarter_of_the_lease_passed(
    svcflow_engine: EngineFactory,
    svcflow_plugin: InlinePlugins,
    svcflow_clock: ManualClock,
    step: timedelta,
    recorded_before: list[int],
) -> None:
    pager = SlowPager(svcflow_clock, step)
    engine = paged_engine(svcflow_engine, svcflow_plugin, pager, cases=4)
    dispatcher = Dispatcher(
        engine.store, engine.plugins, svcflow_clock, lease=timedelta(minutes=2), record_batch=3
    )
    assert len(dispatcher.dispatch().delivered) == 4
    assert pager.recorded_before == recorded_before
    assert [(row.status, row.attempts) for row in engine.outbox()] == [("delivered", 1)] * 4


def test_the_store_is_told_the_moment_of_every_attempt_whatever_its_outcome(
    svcflow_engine: EngineFactory,
    svcflow_plugin: InlinePlugins,
    svcflow_clock: ManualClock,
) -> None:
    """What a third-party store receives (``Store.record_attempts``): each attempt's moment,
    the one a failed attempt was made at too, not only a delivered one's."""

    svcflow_plugin(Refuses(svcflow_clock), "refuses")
    engine = paging(svcflow_engine, {"oncall": "7001", "backup": "7002", "lead": "7003"})
    case = start(engine)
    told: list[Attempt] = []

    class RecordingStore:  # a host's store around svcflow's, as a third-party store is told
        def __getattr__(self, name: str) -> Any:
            return getattr(engine.store, name)

        def record_attempts(self, attempts: Sequence[Attempt]) -> None:
            told.extend(attempts)
            engine.store.record_attempts(attempts)

    began = svcflow_clock.now()
    Dispatcher(RecordingStore(), engine.plugins, svcflow_clock).dispatch()  # type: ignore[arg-type]
    ids = {row.address: row.id for row in engine.outbox(case.id)}
    assert told == [
        Attempt(
            entry_id=ids["7001"],
            status="pending",
            attempts=1,
            at=began + timedelta(seconds=2),
            next_attempt_at=began + timedelta(seconds=32),
            error="DeliveryFailed: gateway busy",
        ),
        Attempt(
            entry_id=ids["7002"],
            status="dead",
            attempts=1,
            at=began + timedelta(seconds=4),
            error="permanent failure: PermanentDeliveryError: no such pager",
        ),
        Attempt(
            entry_id=ids["7003"],
            status="delivered",
            attempts=1,
            at=began + timedelta(seconds=6),
            reference="paged",
        ),
    ]
