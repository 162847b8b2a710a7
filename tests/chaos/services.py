"""A Postgres cluster and a redis-server of the chaos tests' own, to stop and restart at
will (the shared ones from `.ci/services` serve the other tests and must stay up).

Debian's binaries, as `.ci/services` uses: `initdb`/`pg_ctl` from /usr/lib/postgresql
(run as the `postgres` user when the tests run as root, as in CI) and `redis-server`.
The cluster asks for a password over TCP (scram), so a wrong one is refused.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import redis

from agent.pagerduty.sandbox.server import free_port

PASSWORD = "chaos-PG-pass-4242"


def _missing(what: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} is not installed: .ci/services installs it")
    pytest.skip(f"{what} is not installed (run `. .ci/services` as root)")


@dataclass
class PrivateRedis:
    port: int
    home: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
             "--appendonly", "no", "--dir", str(self.home)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise AssertionError("redis-server did not start") from None
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # as a crash: nothing is saved (--save '')
            self.proc.wait(10)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        _missing("redis-server")
    with tempfile.TemporaryDirectory(prefix="chaos-redis-") as home:
        r = PrivateRedis(free_port(), Path(home))
        r.start()
        try:
            yield r
        finally:
            r.stop()


@dataclass
class PrivatePostgres:
    port: int
    data: Path
    bin: Path

    def url(self, database: str = "postgres", password: str = PASSWORD) -> str:
        return f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{database}"

    def _pg_ctl(self, *args: str) -> None:
        cmd = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60", *args]
        subprocess.run(_as_postgres(cmd), check=True, capture_output=True, timeout=90)

    def start(self) -> None:
        self._pg_ctl("-l", str(self.data / "log"), "-o",
                     f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1", "start")

    def stop(self) -> None:
        self._pg_ctl("-m", "immediate", "stop")  # as a crash: recovery on the next start

    def restart(self) -> None:
        self.stop()
        self.start()

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_connections(self, database: str) -> int:
        """What a failover or an idle timeout does: every session of `database` ends."""
        with psycopg.connect(self.url(), autocommit=True) as c:
            row = c.execute("SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity "
                            "WHERE datname = %s AND pid <> pg_backend_pid()", (database,)).fetchone()
        return int(row[0]) if row else 0


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: as the `postgres` user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not bins:
        _missing("postgresql")
    bindir = Path(bins[-1]).parent
    root = Path(tempfile.mkdtemp(prefix="chaos-pg-"))
    try:
        data = root / "data"
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        pw = root / "pw"
        pw.write_text(PASSWORD)
        if os.geteuid() == 0:
            shutil.chown(pw, "postgres")
        subprocess.run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                                     "--auth-local=trust", "--auth-host=scram-sha-256",
                                     f"--pwfile={pw}"]),
                       check=True, capture_output=True, timeout=120)
        pg = PrivatePostgres(free_port(), data, bindir)
        pg.start()
        try:
            yield pg
        finally:
            try:
                pg.stop()
            except subprocess.CalledProcessError:
                pass  # a test left it stopped
    finally:
        shutil.rmtree(root, ignore_errors=True)
