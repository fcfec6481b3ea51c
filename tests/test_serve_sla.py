"""SLA clocks through the API, on the shipped complaint workflow and a SQLite file: what a
helpdesk in another language reads to show time left, and sees turn to breached."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from support.serving import running
from svcflow import Engine, ManualClock, shipped_workflows
from svcflow.serve import TokenFile, create_app


@pytest.fixture
def desk(tmp_path: Path, clock: ManualClock) -> Iterator[Engine]:
    store = f"sqlite:///{tmp_path / 'cases.db'}"
    with Engine.from_directory(shipped_workflows(), store=store, clock=clock) as engine:
        yield engine


def test_the_first_response_clock_runs_then_breaches(
    desk: Engine, clock: ManualClock, tmp_path: Path
) -> None:
    tokens = TokenFile(tmp_path / "tokens.json")
    secret = tokens.create("helpdesk", ["read", "write"]).secret
    headers = {"Authorization": f"Bearer {secret}"}
    with (
        running(create_app(desk, tokens=tokens)) as url,
        httpx.Client(base_url=url, headers=headers) as client,
    ):
        data = {"customer": "Li Wei", "channel": "app"}
        case = client.post("/cases", json={"workflow": "complaint", "data": data}).json()
        clocks = client.get(f"/cases/{case['id']}/sla").json()
        first = next(c for c in clocks if c["status"] == "running")
        assert first["deadline"] is not None and not first["remaining"].startswith("-")
        clock.advance("2h")
        desk.advance()
        later = {c["metric"]: c for c in client.get(f"/cases/{case['id']}/sla").json()}
        assert later[first["metric"]]["status"] == "breached"
        assert later[first["metric"]]["remaining"].startswith("-")
        breached = client.get("/cases", params={"sla": "breached"}).json()
        assert [c["id"] for c in breached["cases"]] == [case["id"]]
