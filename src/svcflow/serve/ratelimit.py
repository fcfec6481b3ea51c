"""Rate limits per API token and per client address, enforced before any handler runs.

Each request spends one unit from its client address's bucket and, when it carries
``Authorization: Bearer <token>``, one from that token's bucket. A bucket refills at its rate
(``ServeSettings.token_rate``, ``address_rate``: requests a second) and holds at most
``rate_burst`` seconds' worth, so a client may send a short burst and then its rate (the token
bucket of network traffic shaping). A request that finds either bucket empty is answered
``429 Too Many Requests`` as problem details with ``Retry-After`` (whole seconds until it would
pass); it reaches no handler, so nothing is stored (a messaging platform retries a webhook
that got 429). Both limits hold for the API, the channels' webhooks and the console alike;
``/health`` and ``/ready`` are never limited, so probes keep working under load.

Buckets live in each server process's memory (with ``--workers N`` each process counts on its
own), at most ``rate_clients`` of them, the least recently seen dropped first. A token is
keyed by its SHA-256 digest, so no secret is kept; an address is the peer uvicorn reports
(behind a proxy, the ``X-Forwarded-For`` address of a trusted proxy, as uvicorn sets it).
Time is read from an injected monotonic clock, so tests move it instead of sleeping.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from svcflow.serve.problems import RATE_LIMITED, problem_response
from svcflow.serve.settings import ServeSettings

__all__ = ["UNLIMITED_PATHS", "Buckets", "RateLimit"]

UNLIMITED_PATHS = frozenset({"/health", "/ready"})
"""Paths no limit applies to: the probes of load balancers and orchestrators."""


@dataclass(slots=True)
class _Bucket:
    units: float
    at: float


class Buckets:
    """Token buckets of one kind (tokens or addresses): ``rate`` units a second, at most
    ``capacity`` saved, for at most ``keep`` keys (least recently seen dropped first)."""

    def __init__(
        self, rate: float, capacity: float, keep: int, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.capacity, self.keep, self.now = rate, capacity, keep, now
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str) -> float:
        """Spend one unit of ``key``'s bucket: 0.0 when it had one, else the seconds until it
        will (nothing is spent then)."""
        with self._lock:
            now = self.now()
            bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
            self._buckets[key] = bucket
            if len(self._buckets) > self.keep:
                self._buckets.popitem(last=False)
            elapsed = max(0.0, now - bucket.at)
            bucket.units = min(self.capacity, bucket.units + elapsed * self.rate)
            bucket.at = now
            if bucket.units >= 1.0:
                bucket.units -= 1.0
                return 0.0
            return (1.0 - bucket.units) / self.rate


class RateLimit:
    """ASGI middleware answering 429 to a token or an address above its rate."""

    def __init__(
        self, app: ASGIApp, settings: ServeSettings, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.app = app
        burst, keep = settings.rate_burst, settings.rate_clients
        self.tokens = self._buckets(settings.token_rate, burst, keep, now)
        self.addresses = self._buckets(settings.address_rate, burst, keep, now)

    @staticmethod
    def _buckets(rate: float, burst: float, keep: int, now: Callable[[], float]) -> Buckets | None:
        if rate <= 0:
            return None
        return Buckets(rate, max(1.0, rate * burst), keep, now)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") in UNLIMITED_PATHS:
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        detail, wait = refusal
        headers = {"Retry-After": str(max(1, math.ceil(wait)))}
        await problem_response(RATE_LIMITED, detail, {"retry_after": wait}, headers)(
            scope, receive, send
        )

    def _refusal(self, scope: Scope) -> tuple[str, float] | None:
        """Why the request may not pass now and how long to wait, or None when it may."""
        client = scope.get("client")
        address = str(client[0]) if client else "unknown"
        if self.addresses is not None:
            wait = self.addresses.take(address)
            if wait:
                return self._said("client address " + address, self.addresses, "address"), wait
        token = _bearer(scope)
        if self.tokens is not None and token is not None:
            wait = self.tokens.take(hashlib.sha256(token.encode()).hexdigest())
            if wait:
                return self._said("this API token", self.tokens, "token"), wait
        return None

    @staticmethod
    def _said(who: str, buckets: Buckets, kind: str) -> str:
        return (
            f"{who} sent more than {buckets.rate:g} requests a second (bursts up to "
            f"{buckets.capacity:g}), the most this server takes (ServeSettings.{kind}_rate, "
            f"svcflow serve --{kind}-rate); nothing was done: retry after Retry-After seconds"
        )


def _bearer(scope: Scope) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope["headers"]
    for name, value in headers:
        if name == b"authorization":
            kind, _, presented = value.decode("latin-1").partition(" ")
            if kind.lower() == "bearer" and presented.strip():
                return presented.strip()
    return None
