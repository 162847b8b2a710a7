"""What the deploy tests share: the compose file as compose resolves it, and the local
Postgres and Redis (`.ci/services`) standing in for its `postgres` and `redis` services.

Docker's engine does not run here (nor in CI), so nothing is built or pulled: Debian's
`docker-compose` resolves the file (interpolation, `env_file`, anchors) without an engine,
and the tests run the resolved commands as local processes.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psycopg
import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs
from psycopg import sql

from tests.services import server_url

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "compose.yaml"
ENV_EXAMPLE = REPO / "deploy" / "env.example"


def load() -> dict[str, Any]:
    """The file as written (YAML anchors merged, nothing interpolated)."""
    return yaml.safe_load(COMPOSE.read_text())


def tool(name: str, package: str) -> str:
    """A Debian tool the deploy tests need (.ci/run installs it): missing fails in CI, skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed: .ci/run installs Debian's {package}")
        pytest.skip(f"{name} is not installed (apt-get install {package})")
    return path


def resolved(project: Path, env_text: str) -> subprocess.CompletedProcess[str]:
    """`docker-compose config` of the repository's compose.yaml, as if `project` held it
    with `env_text` as its `.env` (the operator's secrets file)."""
    (project / ".env").write_text(env_text)
    clean = {k: v for k, v in os.environ.items()
             if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}  # nothing of ours leaks in
    return subprocess.run([tool("docker-compose", "docker-compose"), "--file", str(COMPOSE),
                           "--project-directory", str(project), "config"],
                          env=clean, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)


def env_file(password: str, *more: str) -> str:
    """deploy/env.example filled in as an operator would."""
    text = ENV_EXAMPLE.read_text()
    assert "\nPOSTGRES_PASSWORD=\n" in text
    return text.replace("\nPOSTGRES_PASSWORD=\n", f"\nPOSTGRES_PASSWORD={password}\n") + "".join(
        f"{line}\n" for line in more)


def config(project: Path, env_text: str) -> dict[str, Any]:
    done = resolved(project, env_text)
    assert done.returncode == 0, done.stderr
    return yaml.safe_load(done.stdout)


@contextmanager
def compose_database(user: str, password: str) -> Iterator[tuple[str, int, str]]:
    """What the `postgres` service makes from its environment (POSTGRES_USER with
    POSTGRES_PASSWORD, a database it owns), on the local server, under a fresh name:
    (host, port, database). Dropped afterwards, the role too."""
    admin = server_url()
    name = f"ia_deploy_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as c:
        exists = c.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        verb = "ALTER" if exists else "CREATE"
        c.execute(sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(sql.Identifier(user),
                                                                     sql.Literal(password)))
        c.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(name), sql.Identifier(user)))
    parts = urlsplit(admin)
    try:
        yield parts.hostname or "127.0.0.1", parts.port or 5432, name
    finally:
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            if not exists:
                c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(user)))
