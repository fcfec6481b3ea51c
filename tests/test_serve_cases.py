"""The cases API over real HTTP, on every store kind (memory, a SQLite file, PostgreSQL).

Each test drives uvicorn on localhost with httpx and checks what a client sees (status, problem
details with svcflow's exact message) and what the store then holds (nothing, for a refusal).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support.serving import running
from svcflow import Engine, ManualClock
from svcflow.serve import TokenFile, create_app

PROBLEM = "application/problem+json"


@pytest.fixture
def tokens(tmp_path: Path) -> TokenFile:
    return TokenFile(tmp_path / "tokens.json")


@pytest.fixture
def served_engine(make_engine: Callable[..., Engine]) -> Engine:
    return make_engine()


@pytest.fixture
def client(served_engine: Engine, tokens: TokenFile) -> Iterator[httpx.Client]:
    secret = tokens.create("crm", ["read", "write"]).secret
    with (
        running(create_app(served_engine, tokens=tokens)) as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {secret}"}) as client,
    ):
        yield client


def start(client: httpx.Client, **data: object) -> dict[str, object]:
    answer = client.post("/cases", json={"workflow": "ticket", "data": data or {"customer": "Li"}})
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_start_get_fire_history_and_triggers(client: httpx.Client) -> None:
    answer = client.post(
        "/cases", json={"workflow": "ticket", "data": {"customer": "Li Wei"}, "actor": "agent-7"}
    )
    assert answer.status_code == 201
    case = answer.json()
    assert answer.headers["location"] == f"/cases/{case['id']}"
    assert (case["state"], case["revision"], case["data"]["customer"]) == ("new", 1, "Li Wei")
    assert client.get(f"/cases/{case['id']}").json() == case
    triggers = client.get(f"/cases/{case['id']}/triggers").json()
    assert triggers == {
        "case_id": case["id"],
        "state": "new",
        "revision": 1,
        "triggers": ["expire", "remind", "take"],
    }
    fired = client.post(f"/cases/{case['id']}/triggers/take", json={})
    assert fired.status_code == 200
    assert (fired.json()["state"], fired.json()["revision"]) == ("open", 2)
    history = client.get(f"/cases/{case['id']}/history").json()
    assert [(e["seq"], e["kind"], e["trigger"], e["actor"]) for e in history] == [
        (1, "started", None, "agent-7"),
        (2, "transition", "take", "api:crm"),
    ]
    assert client.get(f"/cases/{case['id']}/sla").json() == []


def test_a_retried_fire_with_the_same_idempotency_key_is_answered_once(
    client: httpx.Client, served_engine: Engine
) -> None:
    case = start(client)
    headers = {"Idempotency-Key": "crm-evt-1"}
    first = client.post(f"/cases/{case['id']}/triggers/take", json={}, headers=headers)
    again = client.post(f"/cases/{case['id']}/triggers/take", json={}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.json() == again.json()
    assert len(served_engine.history(str(case["id"]))) == 2
    other = client.post(
        f"/cases/{case['id']}/triggers/take", json={"actor": "someone-else"}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["type"] == "urn:svcflow:problem:idempotency-key-reused"
    assert other.json()["detail"] == (
        f"idempotency key 'crm-evt-1' was first used for trigger 'take' on case {case['id']}, "
        "and this request's actor differs from the first one's; a retry must repeat the request "
        "exactly, so nothing was done: use a new key for a new event"
    )


def test_a_refused_trigger_is_409_with_the_allowed_ones_and_the_case_unchanged(
    client: httpx.Client, served_engine: Engine
) -> None:
    case = start(client)
    answer = client.post(f"/cases/{case['id']}/triggers/answer", json={})
    assert answer.status_code == 409
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json() == {
        "type": "urn:svcflow:problem:trigger-not-allowed",
        "title": "Trigger not allowed now",
        "status": 409,
        "detail": f"trigger 'answer' is not allowed for case {case['id']} in state 'new': "
        "state 'new' has no transition for it. Allowed now: expire, remind, take",
        "case_id": case["id"],
        "state": "new",
        "trigger": "answer",
        "allowed": ["expire", "remind", "take"],
    }
    assert served_engine.get(str(case["id"])).revision == 1


def test_a_stale_revision_is_a_409_conflict(client: httpx.Client, served_engine: Engine) -> None:
    case = start(client)
    client.post(f"/cases/{case['id']}/triggers/take", json={})
    answer = client.post(f"/cases/{case['id']}/triggers/expire", json={"expected_revision": 1})
    assert answer.status_code == 409
    assert answer.json()["type"] == "urn:svcflow:problem:conflict"
    assert answer.json()["detail"] == (
        f"case {case['id']} was changed by another writer: expected revision 1, store is at "
        "revision 2; nothing was written, re-read the case and retry"
    )
    assert served_engine.get(str(case["id"])).state == "open"


def test_invalid_data_is_422_listing_every_problem_and_nothing_is_stored(
    client: httpx.Client, served_engine: Engine
) -> None:
    answer = client.post("/cases", json={"workflow": "ticket", "data": {"priority": "urgent"}})
    assert answer.status_code == 422
    body = answer.json()
    assert body["type"] == "urn:svcflow:problem:invalid-data"
    assert body["detail"].startswith("invalid case data for workflow 'ticket' v1: ")
    assert len(body["problems"]) == 2
    assert served_engine.find() == []


def test_a_malformed_request_is_422_naming_the_field(client: httpx.Client) -> None:
    answer = client.post("/cases", json={"data": {}, "colour": "red"})
    assert answer.status_code == 422
    assert answer.json()["type"] == "urn:svcflow:problem:invalid-request"
    assert answer.json()["detail"] == (
        "invalid request: body.workflow: Field required; body.colour: Extra inputs are not "
        "permitted"
    )


def test_an_unknown_case_is_404(client: httpx.Client) -> None:
    for path in ("/cases/nope", "/cases/nope/history", "/cases/nope/sla", "/cases/nope/triggers"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["detail"] == "no case with id 'nope' in the store"
    answer = client.post("/cases/nope/triggers/take", json={})
    assert answer.status_code == 404


def test_search_filters_and_pages_oldest_first(client: httpx.Client, clock: ManualClock) -> None:
    ids = []
    for n in range(5):
        ids.append(start(client, customer=f"c{n}")["id"])
        clock.advance("1m")
    client.post(f"/cases/{ids[1]}/triggers/take", json={})
    first = client.get("/cases", params={"workflow": "ticket", "limit": 2}).json()
    assert [c["id"] for c in first["cases"]] == ids[:2]
    second = client.get("/cases", params={"limit": 2, "after": first["next"]}).json()
    assert [c["id"] for c in second["cases"]] == ids[2:4]
    last = client.get("/cases", params={"limit": 2, "after": second["next"]}).json()
    assert ([c["id"] for c in last["cases"]], last["next"]) == (ids[4:], None)
    opened = client.get("/cases", params={"state": "open"}).json()
    assert [c["id"] for c in opened["cases"]] == [ids[1]]
    assert client.get("/cases/count", params={"state": "new"}).json() == {"count": 4}
    since = client.get("/cases", params={"updated_since": "2026-03-02T09:04:00+00:00"}).json()
    assert [c["id"] for c in since["cases"]] == [ids[1], ids[4]]  # oldest first


def test_a_search_that_cannot_be_answered_is_422(client: httpx.Client) -> None:
    wrong = client.get("/cases", params={"after": "not-a-cursor"})
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == (
        "invalid page cursor 'not-a-cursor': pass the 'next' of a page found in the same "
        "order (by creation), or no cursor for the first page"
    )
    unknown = client.get("/cases", params={"sla": "late"})
    assert unknown.status_code == 422
    assert unknown.json()["type"] == "urn:svcflow:problem:invalid-request"


def test_starting_needs_the_write_scope(served_engine: Engine, tokens: TokenFile) -> None:
    reader = tokens.create("board", ["read"]).secret
    with running(create_app(served_engine, tokens=tokens)) as url:
        answer = httpx.post(
            f"{url}/cases",
            json={"workflow": "ticket", "data": {"customer": "Li"}},
            headers={"Authorization": f"Bearer {reader}"},
        )
    assert answer.status_code == 403
    assert answer.json()["type"] == "urn:svcflow:problem:scope-missing"
    assert served_engine.find() == []
