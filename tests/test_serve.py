"""svcflow serve: health, readiness, metrics, tokens, limits and problem details, over real HTTP.

The app runs under uvicorn on a free localhost port (``support.serving.running``) on a real
SQLite file (and, where the store matters, on every store kind); the client is httpx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.serving import running
from support.workflows import MINIMAL, ROOT
from svcflow import Engine, ManualClock, load_workflow_text
from svcflow.cli import main
from svcflow.errors import UnknownScope, UnknownToken
from svcflow.serve import ServeSettings, TokenFile, create_app

PROBLEM = "application/problem+json"


@pytest.fixture
def tokens(tmp_path: Path) -> TokenFile:
    return TokenFile(tmp_path / "tokens.json")


@pytest.fixture
def engine(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    workflow = load_workflow_text(MINIMAL, "ticket.yaml")
    with Engine([workflow], f"sqlite:///{tmp_path / 'cases.db'}", clock) as engine:
        yield engine


@pytest.fixture
def base_url(engine: Engine, tokens: TokenFile) -> Iterator[str]:
    app = create_app(engine, tokens=tokens, settings=ServeSettings(max_body_bytes=1000))
    with running(app) as url:
        yield url


def bearer(tokens: TokenFile, *scopes: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens.create('test', scopes).secret}"}


def test_health_answers_without_a_token(base_url: str) -> None:
    answer = httpx.get(f"{base_url}/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok"


def test_ready_needs_a_token_and_reports_the_current_schema(
    base_url: str, tokens: TokenFile
) -> None:
    refused = httpx.get(f"{base_url}/ready")
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM
    assert refused.headers["www-authenticate"] == 'Bearer realm="svcflow"'
    assert refused.json() == {
        "type": "urn:svcflow:problem:unauthenticated",
        "title": "A valid API token is required",
        "status": 401,
        "detail": "no API token in the request; send 'Authorization: Bearer <token>' with a "
        "token from 'svcflow tokens create'",
    }
    answer = httpx.get(f"{base_url}/ready", headers=bearer(tokens, "read"))
    assert answer.status_code == 200
    from svcflow.store.sqlite import SCHEMA_VERSION

    assert answer.json() == {"status": "ready", "schema_version": SCHEMA_VERSION}


def test_a_token_without_the_scope_is_refused_with_403_naming_it(
    base_url: str, tokens: TokenFile
) -> None:
    created = tokens.create("webhooks", ["ingest"])
    answer = httpx.get(f"{base_url}/ready", headers={"Authorization": f"Bearer {created.secret}"})
    assert answer.status_code == 403
    assert answer.json()["detail"] == (
        f"API token '{created.token.id}' holds ingest; this needs 'read' (or 'admin'); "
        "scopes: read, write, ingest, admin"
    )


def test_a_revoked_or_forged_token_is_refused(base_url: str, tokens: TokenFile) -> None:
    created = tokens.create("crm", ["admin"])
    headers = {"Authorization": f"Bearer {created.secret}"}
    assert httpx.get(f"{base_url}/ready", headers=headers).status_code == 200
    forged = created.secret[:-4] + ("AAAA" if not created.secret.endswith("AAAA") else "BBBB")
    for presented in (forged, "sf_nothing_here", "garbage"):
        answer = httpx.get(f"{base_url}/ready", headers={"Authorization": f"Bearer {presented}"})
        assert answer.status_code == 401
    tokens.revoke(created.token.id)
    answer = httpx.get(f"{base_url}/ready", headers=headers)
    assert answer.status_code == 401
    assert answer.json()["detail"].startswith(
        "the API token is not known to this server, or was revoked"
    )


def test_tokens_are_stored_hashed_never_in_clear(tokens: TokenFile) -> None:
    created = tokens.create("crm", ["read", "write"])
    text = tokens.path.read_text(encoding="utf-8")
    secret = created.secret.split("_", 2)[2]
    assert secret not in text
    assert tokens.path.stat().st_mode & 0o777 == 0o600
    assert [t.scopes for t in tokens.tokens()] == [("read", "write")]


def test_token_mistakes_are_clear_errors(tokens: TokenFile) -> None:
    with pytest.raises(UnknownScope) as wrong:
        tokens.create("crm", ["wrtie"])
    assert str(wrong.value) == (
        "unknown scope 'wrtie'; did you mean 'write'? scopes: admin, ingest, read, write"
    )
    created = tokens.create("crm", ["read"])
    with pytest.raises(UnknownToken) as raised:
        tokens.revoke("nope")
    assert str(raised.value) == f"no API token 'nope'; tokens: {created.token.id}"


def test_unknown_routes_are_problems_too(base_url: str, tokens: TokenFile) -> None:
    answer = httpx.get(f"{base_url}/nowhere", headers=bearer(tokens, "read"))
    assert answer.status_code == 404
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["detail"] == "no such resource: GET /nowhere; see /openapi.json"


def test_a_body_over_the_limit_is_refused_with_413(base_url: str, tokens: TokenFile) -> None:
    headers = bearer(tokens, "admin")
    answer = httpx.post(f"{base_url}/health", content=b"x" * 1001, headers=headers)
    assert answer.status_code == 413
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["detail"] == (
        "the request body is larger than 1000 bytes, the most this server takes "
        "(ServeSettings.max_body_bytes, svcflow serve --max-body); nothing was stored"
    )


def test_metrics_are_the_engines_prometheus_metrics(
    base_url: str, tokens: TokenFile, engine: Engine
) -> None:
    engine.start("ticket", {"customer": "Li Wei"})
    assert httpx.get(f"{base_url}/metrics").status_code == 401
    answer = httpx.get(f"{base_url}/metrics", headers=bearer(tokens, "read"))
    assert answer.status_code == 200
    assert 'svcflow_events_total{kind="started",workflow="ticket"} 1.0' in answer.text


def test_an_unexpected_error_is_a_500_problem_without_a_trace(
    engine: Engine, tokens: TokenFile
) -> None:
    app = create_app(engine, tokens=tokens)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("li.wei@example.com broke /srv/svcflow/secret.py line 12")

    with running(app) as url:
        answer = httpx.get(f"{url}/boom")
    assert answer.status_code == 500
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["type"] == "urn:svcflow:problem:internal-error"
    assert body["detail"] == (
        f"the server met an error it did not expect; incident {body['incident']} is in its log"
    )
    assert "li.wei" not in answer.text and "Traceback" not in answer.text


def test_svcflow_tokens_create_list_revoke(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = str(tmp_path / "tokens.json")
    assert main(["tokens", "--tokens", path, "create", "crm", "--scope", "write"]) == 0
    out = capsys.readouterr().out.splitlines()
    secret = out[-1]
    token = TokenFile(path).authenticate(secret)
    assert token is not None and token.scopes == ("write",)
    assert out[0] == f"created token {token.id} (crm): write"
    assert main(["tokens", "--tokens", path, "revoke", token.id]) == 0
    assert capsys.readouterr().out == f"revoked token {token.id} (crm)\n"
    assert main(["tokens", "--tokens", path, "list"]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(f"{token.id}  crm") and "revoked" in listed
    assert TokenFile(path).authenticate(secret) is None


def test_the_serve_page_example_runs_and_prints_what_it_shows(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = (ROOT / "docs" / "serve.md").read_text(encoding="utf-8")
    [code] = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    [shown] = re.findall(r"```text output\n(.*?)```", text, re.DOTALL)
    exec(compile(code, "docs/serve.md", "exec"), {})
    assert capsys.readouterr().out == shown
