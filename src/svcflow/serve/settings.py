"""The settings of ``svcflow serve``: each limit with its default, documented in docs/serve.md."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServeSettings"]


@dataclass(frozen=True, slots=True)
class ServeSettings:
    """What the HTTP API allows.

    ``max_body_bytes`` (default 1 MiB) is the largest request body taken; a larger one is
    refused with 413 before it is read to the end, and nothing of it is stored.
    ``max_page`` (default 500) is the most cases one search answers; ``default_page`` (50) is
    what it answers when the client does not say. ``public_docs`` (default True) serves the
    OpenAPI document (``/openapi.json``) and its page (``/docs``) without a token.
    """

    max_body_bytes: int = 1024 * 1024
    max_page: int = 500
    default_page: int = 50
    public_docs: bool = True

    def __post_init__(self) -> None:
        if self.max_body_bytes <= 0 or self.max_page <= 0 or self.default_page <= 0:
            raise ValueError(f"serve settings must be positive, got {self!r}")
        if self.default_page > self.max_page:
            raise ValueError(f"default_page {self.default_page} is above max_page {self.max_page}")
