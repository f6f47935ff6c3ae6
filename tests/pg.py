"""A throwaway PostgreSQL cluster for the tests: initdb and pg_ctl into a temporary folder, listening on loopback
only, tuned for speed over durability (nothing in it outlives the session).

The server binaries refuse to run as root; under root the cluster belongs to the ``postgres`` user. Debian's
``postgresql`` package keeps them in ``/usr/lib/postgresql/NN/bin``, which is searched after ``PATH``.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

# Speed over durability: the cluster is deleted at the end of the session.
_SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "64MB",
}


class Unavailable(Exception):
    """No PostgreSQL server can be started here; the message says why."""


def find_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    debian = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(debian[-1]) if debian else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    """A running cluster; :meth:`new_database` hands out fresh databases, :meth:`stop` removes everything."""

    folder: Path
    port: int
    pg_ctl: str
    as_postgres: list[str]
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls) -> Cluster:
        initdb, pg_ctl = find_binary("initdb"), find_binary("pg_ctl")
        if not initdb or not pg_ctl:
            raise Unavailable("PostgreSQL server binaries (initdb, pg_ctl) are not installed or not on PATH")
        as_postgres: list[str] = []
        if os.geteuid() == 0:
            runuser = shutil.which("runuser")
            try:
                import pwd

                owner = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("running as root and there is no 'postgres' user to own the cluster") from None
            if not runuser:
                raise Unavailable("running as root and runuser is missing, so initdb cannot run as 'postgres'")
            as_postgres = [runuser, "-u", "postgres", "--"]
        folder = Path(tempfile.mkdtemp(prefix="ecrm-pg-"))
        folder.chmod(0o755)
        if as_postgres:
            os.chown(folder, owner.pw_uid, owner.pw_gid)
        data = folder / "data"
        cls._run([*as_postgres, initdb, "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"])
        port = _free_port()
        options = " ".join(f"-c {k}={v}" for k, v in {**_SETTINGS, "port": port}.items())
        options += f" -k {folder}"  # the Unix socket stays inside the folder, not in /var/run
        cluster = cls(folder, port, pg_ctl, as_postgres)
        cls._run([*as_postgres, pg_ctl, "-D", str(data), "-l", str(folder / "log"), "-o", options, "-w", "start"])
        return cluster

    @staticmethod
    def _run(command: list[str]) -> None:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode:
            raise Unavailable(f"{Path(command[-1]).name} failed: {(done.stderr or done.stdout).strip()}")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True)

    def new_database(self) -> str:
        """A fresh empty database's name (copied from ``template0``'s clean copy ``template1``)."""
        name = f"ecrm_test_{next(self._names)}"
        with self._admin() as conn:
            # FILE_COPY: for a small template, copying the files is quicker than PostgreSQL 15's WAL_LOG default.
            conn.execute(sql.SQL("CREATE DATABASE {} STRATEGY = FILE_COPY").format(sql.Identifier(name)))
        return name

    def drop_database(self, name: str) -> None:
        """Drop ``name``, closing connections a test left open."""
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def stop(self) -> None:
        data = self.folder / "data"
        stop = [*self.as_postgres, self.pg_ctl, "-D", str(data), "-m", "immediate", "stop"]
        subprocess.run(stop, capture_output=True, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)
