"""compose.yaml: two workers on one Postgres and one Redis, behind HAProxy.

The shape is read from the file; `docker-compose config` (Debian's, no engine needed)
resolves it as compose would; and the last test runs what compose would run, without
Docker: the `migrate` command, both workers' commands with their resolved environments
against the local Postgres and Redis, and HAProxy with deploy/haproxy.cfg in front.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy.engine import make_url

from agent.pagerduty.sandbox import running_sandbox
from agent.pagerduty.sandbox.server import free_port
from tests.deploy.compose import REPO, compose_database, config, env_file, load, resolved, tool
from tests.services import redis_url

DATABASE, REDIS = "INCIDENT_AGENT_DATABASE_URL", "INCIDENT_AGENT_REDIS_URL"
SECRETISH = re.compile(r"PASSWORD|SECRET|TOKEN|API_KEY|ROUTING_KEY", re.IGNORECASE)
READY_S = 150.0
PASSWORD_REF = "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD in .env}"
"""How compose.yaml names the Postgres password: from .env, and no start without it."""


def workers(services: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if s.get("command", [])[:2] == ["incident-agent", "serve"]}


def dockerfile() -> tuple[list[str], set[str]]:
    """The Dockerfile's CMD and its EXPOSEd ports."""
    text = (REPO / "Dockerfile").read_text()
    [cmd] = [json.loads(line[len("CMD "):]) for line in text.splitlines() if line.startswith("CMD ")]
    exposed = {p for line in text.splitlines() if line.startswith("EXPOSE ") for p in line.split()[1:]}
    return cmd, exposed


# -- the file as written ---------------------------------------------------------------------------


def test_two_workers_share_one_database_and_one_redis_after_the_migration() -> None:
    services = load()["services"]
    apps = workers(services)
    assert sorted(apps) == ["app-1", "app-2"]
    assert {json.dumps(a["environment"], sort_keys=True) for a in apps.values()} == {
        json.dumps(services["migrate"]["environment"], sort_keys=True)}  # one environment for all three
    env = services["app-1"]["environment"]
    assert env[DATABASE].count(PASSWORD_REF) == 1
    db, redis = urlsplit(env[DATABASE].replace(PASSWORD_REF, "pw")), urlsplit(env[REDIS])
    assert db.password == "pw"
    assert db.scheme == "postgresql" and db.hostname == "postgres" and db.port == 5432
    assert db.username == services["postgres"]["environment"]["POSTGRES_USER"]
    assert db.path == "/" + services["postgres"]["environment"]["POSTGRES_DB"]
    assert redis.scheme == "redis" and redis.hostname == "redis" and redis.port == 6379
    assert services["migrate"]["command"] == ["incident-agent", "db", "upgrade"]
    for app in apps.values():
        assert app["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                     "redis": {"condition": "service_healthy"},
                                     "migrate": {"condition": "service_completed_successfully"}}
        assert "/readyz" in " ".join(app["healthcheck"]["test"])
        assert app["env_file"] == ".env"
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["postgres"]["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert services["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "ports" not in services["postgres"] and "ports" not in services["redis"]


def test_the_workers_are_the_dockerfile_s_image_and_command() -> None:
    services = load()["services"]
    cmd, exposed = dockerfile()
    for name in ("app-1", "app-2", "migrate"):
        assert services[name]["build"] == "." and (REPO / "Dockerfile").is_file()
        assert services[name]["image"] == services["app-1"]["image"]
    for app in workers(services).values():
        assert app["command"][:2] == cmd[:2] == ["incident-agent", "serve"]
        port = app["command"][app["command"].index("--port") + 1]
        assert port in exposed
        [published] = app["ports"]
        assert published.startswith("127.0.0.1:") and published.endswith(f":{port}")
        [volume] = app["volumes"]
        assert volume.endswith(":/var/lib/incident-agent")  # the Dockerfile's VOLUME
        assert app["environment"]["INCIDENT_AGENT_CHECKPOINT"].startswith("/var/lib/incident-agent/")
    assert len({a["ports"][0] for a in workers(services).values()}) == 2


def test_the_build_context_sends_what_the_dockerfile_copies_and_not_the_secrets() -> None:
    ignored = set((REPO / ".dockerignore").read_text().split())
    assert {".env", ".venv", ".git", "*.sqlite"} <= ignored
    copied = {src for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("COPY ")
              for src in line.split()[1:-1]}
    assert copied == {"requirements.lock", "pyproject.toml", "README.md", "prompts", "graphs", "agent"}
    assert not copied & ignored
    assert all((REPO / src).exists() for src in copied)


def test_no_secret_is_written_in_the_compose_file() -> None:
    """Secrets come from .env: interpolated (the Postgres password) or read by the workers."""
    services = load()["services"]
    for name, service in services.items():
        for key, value in (service.get("environment") or {}).items():
            if SECRETISH.search(key):
                assert str(value) == PASSWORD_REF, (name, key, value)
            if key == DATABASE:
                assert make_url(value.replace(PASSWORD_REF, "pw")).password == "pw"
    assert ".env" in (REPO / ".gitignore").read_text().split()


def test_the_load_balancer_sends_to_both_workers_by_their_readiness() -> None:
    services = load()["services"]
    lb = services["lb"]
    assert lb["ports"] == ["8000:8000"]
    cfg = (REPO / "deploy" / "haproxy.cfg").read_text()
    servers = re.findall(r'^\s*server (\S+) "\$\{(\w+)\}" check$', cfg, re.MULTILINE)
    assert sorted(lb["environment"][var] for _, var in servers) == ["app-1:8000", "app-2:8000"]
    assert "http-check send meth GET uri /readyz" in cfg and "http-check expect status 200" in cfg


# -- the file as compose resolves it ---------------------------------------------------------------


def test_compose_resolves_the_file_and_refuses_it_without_a_postgres_password(tmp_path: Path) -> None:
    password = secrets.token_hex(12)
    services = config(tmp_path, env_file(password, "PAGERDUTY_API_TOKEN=u+token-PLANTED"))["services"]
    url = make_url(services["app-1"]["environment"][DATABASE])
    assert url.password == password and url.host == "postgres"
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == password
    for name in ("app-1", "app-2", "migrate"):  # env_file reaches every worker, below compose's own values
        assert services[name]["environment"]["PAGERDUTY_API_TOKEN"] == "u+token-PLANTED"
        assert services[name]["environment"][DATABASE] == str(services["app-1"]["environment"][DATABASE])
    assert password not in (REPO / "compose.yaml").read_text()

    refused = resolved(tmp_path, env_file(""))
    assert refused.returncode != 0 and "set POSTGRES_PASSWORD in .env" in refused.stderr


# -- what compose would run, without Docker --------------------------------------------------------


def on_this_host(env: dict[str, Any], pg: tuple[str, int, str], redis: str, home: Path) -> dict[str, str]:
    """A service's resolved environment with the compose network's names for the local
    servers (host, port, database name); user, password and everything else as compose made them."""
    host, port, database = pg
    out = {k: str(v) for k, v in env.items()}
    out[DATABASE] = make_url(out[DATABASE]).set(host=host, port=port, database=database).render_as_string(
        hide_password=False)
    local = urlsplit(redis)
    out[REDIS] = urlsplit(out[REDIS])._replace(netloc=local.netloc, path=local.path).geturl()
    out["INCIDENT_AGENT_CHECKPOINT"] = str(home / Path(out["INCIDENT_AGENT_CHECKPOINT"]).name)  # the volume
    bin_dir = str(Path(sys.executable).parent)  # where `incident-agent` is installed
    out.update(PATH=f"{bin_dir}:{os.environ.get('PATH', '')}", HOME=str(home),
               LANGGRAPH_NO_VERSION_CHECK="true")
    return out


def command(service: dict[str, Any], port: int) -> list[str]:
    """The service's command, listening on loopback at `port` instead of 0.0.0.0:8000 in its container."""
    cmd = [str(part) for part in service["command"]]
    if "--port" in cmd:
        cmd[cmd.index("--port") + 1] = str(port)
    if "--host" in cmd:
        cmd[cmd.index("--host") + 1] = "127.0.0.1"
    return cmd


def started(cmd: list[str], env: dict[str, str], home: Path, stack: ExitStack) -> subprocess.Popen[bytes]:
    home.mkdir(parents=True, exist_ok=True)
    log = (home / "out.log").open("wb")
    stack.callback(log.close)
    proc = subprocess.Popen(cmd, env=env, cwd=home, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)

    def stop() -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    stack.callback(stop)
    return proc


def wait_ready(url: str, proc: subprocess.Popen[bytes], home: Path) -> httpx.Response:
    deadline = time.monotonic() + READY_S
    while time.monotonic() < deadline:
        assert proc.poll() is None, (home / "out.log").read_text(errors="replace")[-3000:]
        try:
            r = httpx.get(f"{url}/readyz", timeout=3)
            if r.status_code == 200:
                return r
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"{url} not ready in {READY_S} s:\n"
                         + (home / "out.log").read_text(errors="replace")[-3000:])


def requests_seen(home: Path, path: str) -> int:
    return (home / "out.log").read_text(errors="replace").count(f'"GET {path} HTTP/1.1" 200')


@pytest.fixture
def compose_services(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """compose.yaml resolved with a filled-in .env (PagerDuty: a sandbox on loopback)."""
    with running_sandbox() as sb:
        password = secrets.token_hex(16)
        (tmp_path / "project").mkdir()
        yield config(tmp_path / "project", env_file(
            password, f"PAGERDUTY_API_URL={sb.base_url}", "PAGERDUTY_API_TOKEN=sandbox-token",
            'PAGERDUTY_WEBHOOK_SECRETS=["whsec-deploy-PLANTED"]'))["services"]


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_the_compose_services_run_as_compose_would_start_them(tmp_path: Path,
                                                                compose_services: dict[str, Any]) -> None:
    haproxy = tool("haproxy", "haproxy")
    redis = redis_url()
    services = compose_services
    pg_env = services["postgres"]["environment"]
    with compose_database(pg_env["POSTGRES_USER"], pg_env["POSTGRES_PASSWORD"]) as pg, ExitStack() as stack:
        # 1. migrate runs to completion first (depends_on: service_completed_successfully).
        home = tmp_path / "migrate"
        home.mkdir()
        env = on_this_host(services["migrate"]["environment"], pg, redis, home)
        done = subprocess.run(command(services["migrate"], 0) + ["--json"], env=env, cwd=home,
                              capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)
        assert done.returncode == 0, done.stderr
        migrated = json.loads(done.stdout)
        assert migrated["up_to_date"] is True and migrated["before"]["schema"]["current"] is None
        assert env[DATABASE].split("@")[0].split(":")[-1] not in done.stdout + done.stderr  # the password

        # 2. both workers, each with its own volume, on the one database and the one Redis.
        urls, homes, procs = {}, {}, {}
        for name in ("app-1", "app-2"):
            homes[name] = tmp_path / name
            port = free_port()
            env = on_this_host(services[name]["environment"], pg, redis, homes[name])
            procs[name] = started(command(services[name], port), env, homes[name], stack)
            urls[name] = f"http://127.0.0.1:{port}"
        for name in urls:
            ready = wait_ready(urls[name], procs[name], homes[name])
            # The compose variable names are the ones the workers read: Redis is checked too.
            assert ready.json() == {"ready": True, "checks": {"database": "ok", "redis": "ok"}}, name

        # 3. HAProxy with deploy/haproxy.cfg as compose mounts it, the workers' addresses as
        #    compose gives them (APP_1, APP_2), listening on a free port here instead of :8000.
        lb_port = free_port()
        lb_env = {**{k: str(v) for k, v in services["lb"]["environment"].items()},
                  "APP_1": urls["app-1"].removeprefix("http://"), "APP_2": urls["app-2"].removeprefix("http://"),
                  "LISTEN": f"127.0.0.1:{lb_port}", "PATH": os.environ.get("PATH", "")}
        lb_home = tmp_path / "lb"
        cfg = Path(services["lb"]["volumes"][0].split(":")[0])
        assert cfg.name == "haproxy.cfg"
        lb = started([haproxy, "-db", "-f", str(REPO / "deploy" / cfg.name)], lb_env, lb_home, stack)
        lb_url = f"http://127.0.0.1:{lb_port}"
        wait_ready(lb_url, lb, lb_home)

        # Round robin: both workers answer through the one address.
        before = {n: requests_seen(homes[n], "/healthz") for n in homes}
        with httpx.Client(base_url=lb_url, timeout=5) as http:
            for _ in range(10):
                assert http.get("/healthz").status_code == 200
        seen = {n: requests_seen(homes[n], "/healthz") - before[n] for n in homes}
        assert seen == {"app-1": 5, "app-2": 5}, seen

        # A worker gone: every request still answered (a refused connection goes to the other,
        # and the health check takes the dead one out).
        procs["app-1"].send_signal(signal.SIGTERM)
        procs["app-1"].wait(timeout=30)
        with httpx.Client(base_url=lb_url, timeout=10) as http:
            answers = [http.get("/readyz").status_code for _ in range(8)]
        assert answers == [200] * 8
