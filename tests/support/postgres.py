"""A throwaway PostgreSQL server for tests that need a real database.

:class:`TemporaryCluster` runs a cluster of its own: ``initdb`` in a new temporary directory,
``pg_ctl start`` on a free TCP port on 127.0.0.1 (its unix socket in the same directory), trust
authentication for the superuser :data:`SUPERUSER`, no fsync (a crash of a test server loses
nothing anyone needs). It never uses or touches a system cluster.

The binaries are Debian's (``/usr/lib/postgresql/<major>/bin``, newest first) or the first
``initdb`` on ``PATH``. When none is found and this process may install packages (root,
``apt-get`` present), Debian's ``postgresql`` package is installed once, saying so, and any
cluster the install started is stopped again. Otherwise the caller gets
:class:`PostgresUnavailable` saying how to install it; database tests are never skipped
silently.

PostgreSQL refuses to run as root, so as root the server runs as Debian's ``postgres`` account
(``nobody`` where that does not exist), which is given the temporary directory.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from support.apt import install_package, remember_failure

PACKAGE = "postgresql"
DEBIAN_VERSIONS = Path("/usr/lib/postgresql")
SUPERUSER = "svcflow"
DATABASE = "svcflow"
SERVER_ACCOUNTS = ("postgres", "nobody")
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
}
SHARED_ENV = "SVCFLOW_TEST_POSTGRES"
"""When set, the directory of a running :class:`TemporaryCluster` that tests use instead of
starting their own (``benches/mutation.py`` sets it for its whole run)."""
_START_ATTEMPTS = 3
_PG_CTL_TIMEOUT = 60


class PostgresUnavailable(RuntimeError):
    """PostgreSQL's server binaries are missing and could not be installed here, or the
    throwaway server would not start."""


def _version(folder: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in folder.parent.name.split(".") if part.isdigit())


def find_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``: Debian's newest major version first,
    then ``PATH``; None when there is none."""
    candidates = sorted(DEBIAN_VERSIONS.glob("*/bin"), key=_version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path is not None:
        candidates.append(Path(on_path).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    return None


def _online_system_clusters() -> set[tuple[str, str]]:
    """(version, name) of every running cluster that Debian's cluster tools manage."""
    if shutil.which("pg_lsclusters") is None:
        return set()
    listing = subprocess.run(
        ["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False
    )
    rows = (line.split() for line in listing.stdout.splitlines())
    return {(row[0], row[1]) for row in rows if len(row) > 3 and row[3].startswith("online")}


def server_binaries(announce: Callable[[str], None] = print) -> Path:
    """The directory of ``initdb`` and ``pg_ctl``, installing Debian's package first when they
    are missing and this process may.

    Installing the package creates and starts a system cluster (``main`` on port 5432); it is
    stopped again at once, so the suite only ever talks to the servers it starts itself."""
    found = find_binaries()
    if found is not None:
        return found
    running_before = _online_system_clusters()
    install_package(
        PACKAGE, "PostgreSQL's initdb and pg_ctl are missing", PostgresUnavailable, announce
    )
    for version, name in sorted(_online_system_clusters() - running_before):
        subprocess.run(["pg_ctlcluster", version, name, "stop"], capture_output=True, check=False)
        announce(f"stopped the system cluster {version}/{name} the install started")
    found = find_binaries()
    if found is None:
        message = f"apt-get installed {PACKAGE} but no initdb is in {DEBIAN_VERSIONS}/*/bin"
        raise PostgresUnavailable(remember_failure(PACKAGE, message))
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def server_account() -> pwd.struct_passwd | None:
    """The account the server runs as: None (this process's own) unless this process is root."""
    if os.geteuid() != 0:
        return None
    for name in SERVER_ACCOUNTS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable(
        f"running as root and none of the accounts {', '.join(SERVER_ACCOUNTS)} exists; "
        "PostgreSQL refuses to run as root: run the tests as another user"
    )


class TemporaryCluster:
    """A PostgreSQL server of its own for as long as the object is started.

    :meth:`start` returns the URL of the database :data:`DATABASE`; :meth:`create_database`
    makes further empty ones. :meth:`stop` stops the server and removes every file; it runs at
    interpreter exit too if nobody called it, so an interrupted session leaves no server
    behind. Use it as a context manager or call start and stop."""

    def __init__(self, announce: Callable[[str], None] = print) -> None:
        self._announce = announce
        self._directory: Path | None = None
        self._binaries = Path()
        self._account: pwd.struct_passwd | None = None
        self._names = itertools.count(1)
        # schema names unique to this object: a cluster shared by a mutation run serves many
        # test sessions, several of them in one process (mutmut runs pytest in-process)
        self._token = uuid.uuid4().hex[:8]
        self._free_schemas: list[str] = []
        self._owner = os.getpid()
        self.port = 0

    @property
    def directory(self) -> Path:
        """The temporary directory: the data directory ``data``, ``server.log`` and the
        server's unix socket."""
        if self._directory is None:
            raise PostgresUnavailable("the temporary PostgreSQL cluster is not started")
        return self._directory

    @property
    def data(self) -> Path:
        return self.directory / "data"

    @property
    def url(self) -> str:
        return self.database_url(DATABASE)

    def database_url(self, name: str) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{name}"

    @property
    def pid(self) -> int:
        """The postmaster's process id (from ``postmaster.pid``)."""
        return int((self.data / "postmaster.pid").read_text().split()[0])

    @classmethod
    def attach(cls, directory: Path, announce: Callable[[str], None] = print) -> TemporaryCluster:
        """The cluster another process started in ``directory`` (:envvar:`SHARED_ENV`), used as
        if it were this one's but never stopped here: its owner stops it. How a mutation run
        gives every mutant's test session one server instead of an ``initdb`` each."""
        cluster = cls(announce)
        cluster._directory = directory
        cluster._binaries = server_binaries(announce)
        cluster._account = server_account()
        cluster._owner = -1
        cluster.port = int((cluster.data / "postmaster.pid").read_text().splitlines()[3])
        return cluster

    def __enter__(self) -> TemporaryCluster:
        self.start()
        return self

    def __exit__(self, *failure: object) -> None:
        self.stop()

    def start(self) -> str:
        """Create the cluster and start its server; the URL of :data:`DATABASE`."""
        self._binaries = server_binaries(self._announce)
        self._account = server_account()
        self._directory = Path(tempfile.mkdtemp(prefix="svcflow-postgres-"))
        self._owner = os.getpid()
        atexit.register(self.stop)
        try:
            if self._account is not None:
                os.chown(self._directory, self._account.pw_uid, self._account.pw_gid)
            self.run("initdb", "-U", SUPERUSER, "-E", "UTF8", "--locale=C", "-A", "trust", "-N")
            self._start_server()
            with psycopg.connect(self.database_url("postgres"), autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        except BaseException:
            self.stop()
            raise
        return self.url

    def _start_server(self) -> None:
        """``pg_ctl start -w`` on a free port; another port when one was taken in between."""
        log = self.directory / "server.log"
        for _ in range(_START_ATTEMPTS):
            self.port = free_port()
            options = {**SETTINGS, "port": str(self.port)}
            options["unix_socket_directories"] = str(self.directory)
            flags = " ".join(f"-c {key}={shlex.quote(value)}" for key, value in options.items())
            started = self.run(
                "pg_ctl",
                "-l",
                str(log),
                "-w",
                "-t",
                str(_PG_CTL_TIMEOUT),
                "-o",
                flags,
                "start",
                check=False,
            )
            if started.returncode == 0:
                return
            if "could not bind" not in log.read_text(errors="replace"):
                break
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise PostgresUnavailable(
            f"pg_ctl could not start PostgreSQL in {self.directory} on port {self.port}: "
            f"{started.stdout}{started.stderr}\n{tail}"
        )

    def run(
        self, program: str, *arguments: str, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run one of the server's programs (``initdb``, ``pg_ctl``) on this cluster's data
        directory (``-D`` is added), as the account the server runs as, with output captured.
        With ``check``, a non-zero exit raises :class:`PostgresUnavailable`."""
        command = [str(self._binaries / program), "-D", str(self.data), *arguments]
        account = self._account
        done = subprocess.run(
            command,
            cwd=self.directory,
            capture_output=True,
            text=True,
            timeout=_PG_CTL_TIMEOUT + 30,
            check=False,
            user=None if account is None else account.pw_uid,
            group=None if account is None else account.pw_gid,
            extra_groups=None if account is None else [],
        )
        if check and done.returncode != 0:
            raise PostgresUnavailable(
                f"`{shlex.join(command)}` failed ({done.returncode}): {done.stdout}{done.stderr}"
            )
        return done

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (copied from ``template0``); its URL. Without a name, the
        next free ``test_<n>``."""
        chosen = name or f"test_{next(self._names)}"
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(sql.Identifier(chosen))
            )
        return self.database_url(chosen)

    def create_schema(self) -> tuple[str, str]:
        """An empty schema in :data:`DATABASE`, and the URL of a connection whose
        ``search_path`` starts with it (so a store's tables go there): (URL, schema name).

        A schema given back with :meth:`release_schema` is handed out again with its tables
        emptied but kept: creating a store's tables costs ~0.2 s, emptying them ~0.01 s."""
        if self._free_schemas:
            name = self._free_schemas.pop()
        else:
            name = f"test_{os.getpid()}_{self._token}_{next(self._names)}"
            with psycopg.connect(self.url, autocommit=True) as admin:
                admin.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
        return f"{self.url}?options=-csearch_path%3D{name}", name

    def release_schema(self, name: str) -> None:
        """Empty every table of the schema but ``schema_version`` (foreign keys are not
        checked meanwhile), and keep it for the next :meth:`create_schema`."""
        with psycopg.connect(self.url, autocommit=True) as admin, admin.transaction():
            admin.execute("SET LOCAL session_replication_role = replica")
            tables = admin.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s "
                "AND tablename <> 'schema_version'",
                (name,),
            ).fetchall()
            for (table,) in tables:
                admin.execute(
                    sql.SQL("DELETE FROM {}.{}").format(sql.Identifier(name), sql.Identifier(table))
                )
        self._free_schemas.append(name)

    def drop_database(self, url: str) -> None:
        """Remove the database at ``url``, disconnecting whoever is still connected to it."""
        name = str(conninfo_to_dict(url)["dbname"])
        with psycopg.connect(self.url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def stop(self) -> None:
        """Stop the server (fast shutdown, immediate when that times out) and remove its
        directory. Does nothing when not started, or in a forked child of the process that
        started it; safe to call twice."""
        atexit.unregister(self.stop)
        if self._directory is None or os.getpid() != self._owner:
            return
        try:
            if (self.data / "postmaster.pid").exists():
                for mode in ("fast", "immediate"):
                    if (
                        self.run(
                            "pg_ctl", "-m", mode, "-w", "-t", "30", "stop", check=False
                        ).returncode
                        == 0
                    ):
                        break
        finally:
            shutil.rmtree(self._directory, ignore_errors=True)
            self._directory = None
