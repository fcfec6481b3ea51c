"""Rate limits per API token and per client address over real HTTP: a burst passes, the next
request is a 429 problem with Retry-After and reaches no handler (nothing is started or kept),
the bucket refills with time (a clock the test moves, never a sleep), other tokens are not
affected, and the health probes are never limited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path

import httpx
import pytest

from support.serving import running
from support.workflows import MINIMAL
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.serve import ServeSettings, TokenFile, create_app
from svcflow.serve.ratelimit import Buckets


class Seconds:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], f"sqlite:///{tmp_path / 'cases.db'}", clock) as engine:
        yield engine


def serving(
    engine: Engine, tmp_path: Path, settings: ServeSettings, seconds: Seconds
) -> tuple[TokenFile, AbstractContextManager[str]]:
    tokens = TokenFile(tmp_path / "tokens.json")
    return tokens, running(create_app(engine, tokens=tokens, settings=settings, rate_clock=seconds))


def test_a_bucket_lets_a_burst_through_then_its_rate() -> None:
    seconds = Seconds()
    buckets = Buckets(rate=2.0, capacity=3.0, keep=2, now=seconds)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert buckets.take("a") == pytest.approx(0.5)
    seconds.now += 0.5
    assert buckets.take("a") == 0.0
    assert buckets.take("b") == 0.0 and buckets.take("c") == 0.0  # "a" is dropped (keep=2)
    assert buckets.take("a") == 0.0  # and starts again with a full bucket


def test_a_token_over_its_rate_gets_429_with_retry_after_and_nothing_is_started(
    engine: Engine, tmp_path: Path
) -> None:
    seconds = Seconds()
    settings = ServeSettings(token_rate=2.0, rate_burst=1.5, address_rate=0)
    tokens, server = serving(engine, tmp_path, settings, seconds)
    busy = {"Authorization": f"Bearer {tokens.create('crm', ['read', 'write']).secret}"}
    calm = {"Authorization": f"Bearer {tokens.create('bot', ['read', 'write']).secret}"}
    start = {"workflow": "ticket", "data": {"customer": "Li"}}
    with server as url, httpx.Client(base_url=url) as client:
        for _ in range(3):
            assert client.post("/cases", json=start, headers=busy).status_code == 201
        refused = client.post("/cases", json=start, headers=busy)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json() == {
            "type": "urn:svcflow:problem:rate-limited",
            "title": "Too many requests",
            "status": 429,
            "detail": "this API token sent more than 2 requests a second (bursts up to 3), "
            "the most this server takes (ServeSettings.token_rate, svcflow serve "
            "--token-rate); nothing was done: retry after Retry-After seconds",
            "retry_after": 0.5,
        }
        assert len(engine.find()) == 3  # the refused start reached no handler
        assert client.get("/cases", headers=calm).status_code == 200  # another token
        assert client.get("/health").status_code == 200  # probes are never limited
        seconds.now += 0.5
        assert client.post("/cases", json=start, headers=busy).status_code == 201
    assert len(engine.find()) == 4


def test_an_address_over_its_rate_is_refused_on_the_channels_too(
    engine: Engine, tmp_path: Path
) -> None:
    seconds = Seconds()
    settings = ServeSettings(address_rate=1.0, rate_burst=2.0, token_rate=0)
    tokens, server = serving(engine, tmp_path, settings, seconds)
    gateway = {"Authorization": f"Bearer {tokens.create('gateway', ['ingest']).secret}"}
    with server as url, httpx.Client(base_url=url, headers=gateway) as client:
        assert [client.post("/channels/nowhere", content=b"hi").status_code for _ in range(2)] == [
            404,
            404,
        ]
        refused = client.post("/channels/nowhere", content=b"hi")
        assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
        assert refused.json()["detail"].startswith(
            "client address 127.0.0.1 sent more than 1 requests a second (bursts up to 2)"
        )
        assert client.get("/ready").status_code != 429  # probes are never limited
        seconds.now += 1.0
        assert client.post("/channels/nowhere", content=b"hi").status_code == 404
    assert engine.find() == []


def test_rates_must_not_be_negative() -> None:
    with pytest.raises(ValueError) as refused:
        ServeSettings(token_rate=-1)
    assert str(refused.value) == (
        "token_rate and address_rate must be 0 (no limit) or more, got -1 and 200.0"
    )
