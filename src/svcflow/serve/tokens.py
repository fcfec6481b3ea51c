"""API tokens: who may call ``svcflow serve``, and for what.

A token is shown once, when it is created, as ``sf_<id>_<secret>``; the server keeps only its
id, name, scopes and an scrypt hash of the secret (``hashlib.scrypt``, a random salt per token),
in a JSON file (``svcflow tokens create/list/revoke``). Checking a presented token looks the id
up and compares hashes with ``hmac.compare_digest``. scrypt is slow on purpose (about 50 ms), so
a token once verified is remembered by its SHA-256 digest until the file changes: revoking a
token rewrites the file, and every server process drops what it remembered at its next request.

Scopes: ``read`` (get, search, history, SLA, allowed triggers), ``write`` (start and fire),
``ingest`` (``POST /channels/{channel}``), ``admin`` (everything). A token without ``read``
that starts a case still receives the case it started.

The token file is the server's configuration, like a TLS key, not case data: it is kept out
of the store so the store protocol stays free of authentication, and every store kind is
served the same way. Keep it readable by the server's account only (it is written ``0600``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import tempfile
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from svcflow.errors import UnknownScope, UnknownToken

__all__ = ["SCOPES", "CreatedToken", "Token", "TokenFile", "TokenStore"]

SCOPES = ("read", "write", "ingest", "admin")
"""Every scope a token may hold; ``admin`` passes every check."""

_PREFIX = "sf"
_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


@dataclass(frozen=True, slots=True)
class Token:
    """One API token as the server knows it (never its secret)."""

    id: str
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        """True when this token may do what ``scope`` guards (``admin`` may do everything)."""
        return self.revoked_at is None and (scope in self.scopes or "admin" in self.scopes)


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A token just created: ``secret`` is the whole token to hand out, shown only now."""

    token: Token
    secret: str


class TokenStore(Protocol):
    """What the server needs of a token store: the token a request presents, or None."""

    def authenticate(self, presented: str) -> Token | None: ...


class TokenFile:
    """API tokens kept hashed in one JSON file; safe to share between threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._records: dict[str, dict[str, Any]] = {}
        self._verified: dict[bytes, Token] = {}

    def create(self, name: str, scopes: Iterable[str]) -> CreatedToken:
        """A new token called ``name`` holding ``scopes``; write it to the file."""
        chosen = tuple(dict.fromkeys(scopes))
        for scope in chosen:
            if scope not in SCOPES:
                raise UnknownScope(scope, SCOPES)
        if not chosen:
            raise UnknownScope("", SCOPES)
        token_id, secret = secrets.token_hex(4), secrets.token_urlsafe(32)
        salt = secrets.token_bytes(16)
        token = Token(id=token_id, name=name, scopes=chosen, created_at=datetime.now(UTC))
        with self._lock:
            records = self._read()
            while token_id in records:  # 4 bytes of randomness: a clash is rare but possible
                token_id = secrets.token_hex(4)
                token = Token(id=token_id, name=name, scopes=chosen, created_at=token.created_at)
            records[token_id] = _record(token, salt, _hash(secret, salt))
            self._write(records)
        return CreatedToken(token=token, secret=f"{_PREFIX}_{token_id}_{secret}")

    def tokens(self) -> list[Token]:
        """Every token, revoked ones included, oldest first."""
        with self._lock:
            records = self._read()
        return sorted((_token(r) for r in records.values()), key=lambda t: t.created_at)

    def revoke(self, token_id: str) -> Token:
        """Mark the token revoked (kept in the list, refused by every server from now on)."""
        with self._lock:
            records = self._read()
            if token_id not in records:
                raise UnknownToken(token_id, records)
            record = records[token_id]
            record.setdefault("revoked_at", datetime.now(UTC).isoformat())
            self._write(records)
        return _token(record)

    def authenticate(self, presented: str) -> Token | None:
        """The live token ``presented`` is, or None (unknown, revoked, malformed)."""
        digest = hashlib.sha256(presented.encode()).digest()
        with self._lock:
            self._refresh()
            known = self._verified.get(digest)
            record = self._records.get(_token_id(presented) or "")
        if known is not None:
            return known
        if record is None or record.get("revoked_at"):
            return None
        secret = presented.split("_", 2)[2]
        expected = bytes.fromhex(record["hash"])
        if not hmac.compare_digest(_hash(secret, bytes.fromhex(record["salt"])), expected):
            return None
        token = _token(record)
        with self._lock:
            self._verified[digest] = token
        return token

    def _refresh(self) -> None:
        """Re-read the file when it changed since last read (a token created or revoked)."""
        try:
            stat = self.path.stat()
        except FileNotFoundError:
            self._seen, self._records, self._verified = None, {}, {}
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen != self._seen:
            self._records, self._verified, self._seen = self._read(), {}, seen

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        found: dict[str, dict[str, Any]] = json.loads(text)["tokens"]
        return found

    def _write(self, records: dict[str, dict[str, Any]]) -> None:
        """Replace the file atomically, readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".tokens-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"tokens": records}, out, indent=2, sort_keys=True)
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise


def _token_id(presented: str) -> str | None:
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != _PREFIX or not parts[2]:
        return None
    return parts[1]


def _hash(secret: str, salt: bytes) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, **_SCRYPT)


def _record(token: Token, salt: bytes, hashed: bytes) -> dict[str, Any]:
    return {
        "name": token.name,
        "scopes": list(token.scopes),
        "created_at": token.created_at.isoformat(),
        "salt": salt.hex(),
        "hash": hashed.hex(),
        "id": token.id,
    }


def _token(record: dict[str, Any]) -> Token:
    revoked = record.get("revoked_at")
    return Token(
        id=record["id"],
        name=record["name"],
        scopes=tuple(record["scopes"]),
        created_at=datetime.fromisoformat(record["created_at"]),
        revoked_at=datetime.fromisoformat(revoked) if revoked else None,
    )
