"""The suite's throwaway PostgreSQL server (``tests/support/postgres.py``): a real server that
store tests can write to, one empty database per test, and nothing left running afterwards."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

import support.postgres as harness
from support.postgres import TemporaryCluster
from support.workflows import ROOT


def running(pid: int) -> bool:
    """Whether a process runs (a zombie waiting for a parent that never reaps it does not)."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def refuses_connections(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def owner_uid(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text().splitlines()
    return int(next(line for line in status if line.startswith("Uid:")).split()[1])


def test_what_one_connection_commits_another_reads(postgres_url: str) -> None:
    with psycopg.connect(postgres_url) as writer:
        writer.execute("CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL)")
        writer.execute("INSERT INTO notes (body) VALUES (%s), (%s)", ("李伟 called", "refund"))
    with psycopg.connect(postgres_url) as reader:
        rows = reader.execute("SELECT body FROM notes ORDER BY id").fetchall()
        encoding = reader.execute("SHOW server_encoding").fetchone()
    assert rows == [("李伟 called",), ("refund",)]
    assert encoding == ("UTF8",)


def test_each_fresh_database_is_empty_and_its_own(
    postgres_database_url: str, postgres_cluster: TemporaryCluster
) -> None:
    with psycopg.connect(postgres_database_url) as first:
        first.execute("CREATE TABLE cases (id text PRIMARY KEY)")
        first.execute("INSERT INTO cases VALUES ('c-1')")
    other_url = postgres_cluster.create_database()
    assert other_url != postgres_database_url
    listed = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
    with psycopg.connect(other_url) as other:
        assert other.execute(listed).fetchone() == (0,)
        other.execute("CREATE TABLE cases (id text PRIMARY KEY)")
    with psycopg.connect(postgres_database_url) as first:
        assert first.execute("SELECT id FROM cases").fetchall() == [("c-1",)]
    held = psycopg.connect(other_url)  # a test that forgot to close does not block the drop
    postgres_cluster.drop_database(other_url)
    held.close()
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(other_url)


def test_a_stopped_cluster_leaves_no_process_port_or_files() -> None:
    cluster = TemporaryCluster()
    url = cluster.start()
    pid, port, directory = cluster.pid, cluster.port, cluster.directory
    assert cluster.run("pg_ctl", "status").returncode == 0
    assert owner_uid(pid) != 0  # PostgreSQL refuses root; as root the harness switches account
    with psycopg.connect(url) as connection:
        assert connection.execute("SELECT 1").fetchone() == (1,)
    cluster.stop()
    assert not running(pid)
    assert refuses_connections(port)
    assert not directory.exists()
    cluster.stop()  # a second stop (the atexit backstop) is harmless


def test_a_process_that_exits_without_stopping_its_cluster_stops_it_at_exit() -> None:
    forgetful = (
        "import support.postgres as harness\n"
        "cluster = harness.TemporaryCluster()\n"
        "cluster.start()\n"
        "print(cluster.pid, cluster.port, cluster.directory)\n"
        "raise SystemExit(3)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", forgetful],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    pid, port, directory = done.stdout.split()
    assert not running(int(pid))
    assert refuses_connections(int(port))
    assert not Path(directory).exists()


def test_the_newest_debian_major_version_is_chosen(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for version in ("9.6", "13", "16", "17"):
        folder = tmp_path / version / "bin"
        folder.mkdir(parents=True)
        for program in ("initdb", "pg_ctl") if version != "17" else ("pg_ctl",):
            (folder / program).write_text("")
    monkeypatch.setattr(harness, "DEBIAN_VERSIONS", tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert harness.find_binaries() == tmp_path / "16" / "bin"  # 17 has no initdb


def test_without_binaries_and_without_root_the_helper_says_how_to_install_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    apt_only = tmp_path / "bin"
    apt_only.mkdir()
    (apt_only / "apt-get").write_text("#!/bin/sh\nexit 1\n")  # present, never run: not root
    (apt_only / "apt-get").chmod(0o755)
    monkeypatch.setattr(harness, "DEBIAN_VERSIONS", tmp_path)
    monkeypatch.setenv("PATH", str(apt_only))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(
        harness.PostgresUnavailable,
        match=r"initdb and pg_ctl are missing \(not root\); install Debian's postgresql package: "
        r"`sudo apt-get install -y --no-install-recommends postgresql`",
    ):
        harness.server_binaries()
