"""The settings of ``svcflow serve``: each limit with its default, documented in docs/serve.md."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServeSettings"]


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What the HTTP API allows.

    ``max_body_bytes`` (default 1 MiB) is the largest request body the API routes take; a
    larger one is refused with 413 before it is read to the end, and nothing of it is stored.
    ``max_message_bytes`` (default 16 MiB) is the same for ``POST /channels/{channel}``: it is
    above ``ingest``'s own limit (``IntakeLimits.max_bytes``, 10 MB), so a message too large
    for intake still reaches it and is kept, cut short, as a dead letter saying why.
    ``max_page`` (default 500) is the most cases one search answers; ``default_page`` (50) is
    what it answers when the client does not say. ``public_docs`` (default True) serves the
    OpenAPI document (``/openapi.json``) and its page (``/docs``) without a token.
    ``token_rate`` (default 100) and ``address_rate`` (default 200) are the requests a second
    one API token and one client address may send (0: no limit), each with bursts of
    ``rate_burst`` (default 2) seconds' worth; above them a request is answered 429 with
    ``Retry-After`` (:mod:`svcflow.serve.ratelimit`). ``rate_clients`` (default 10,000) is how
    many tokens and addresses each process keeps count of.
    """

    max_body_bytes: int = 1024 * 1024
    max_message_bytes: int = 16 * 1024 * 1024
    max_page: int = 500
    default_page: int = 50
    public_docs: bool = True
    token_rate: float = 100.0
    address_rate: float = 200.0
    rate_burst: float = 2.0
    rate_clients: int = 10_000

    def __post_init__(self) -> None:
        limits = (
            self.max_body_bytes,
            self.max_message_bytes,
            self.max_page,
            self.default_page,
            self.rate_burst,
            self.rate_clients,
        )
        if min(limits) <= 0:
            raise ValueError(f"serve settings must be positive, got {self!r}")
        if min(self.token_rate, self.address_rate) < 0:
            raise ValueError(
                f"token_rate and address_rate must be 0 (no limit) or more, got "
                f"{self.token_rate} and {self.address_rate}"
            )
        if self.default_page > self.max_page:
            raise ValueError(f"default_page {self.default_page} is above max_page {self.max_page}")
