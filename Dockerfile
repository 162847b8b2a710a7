# incident-agent serve: Slack approvals and PagerDuty webhooks (docs/pagerduty.md).
# One worker, its state in a SQLite file on the volume:
#   docker build -t incident-agent .
#   docker run -p 8000:8000 --env-file /etc/incident-agent/env -v incident-agent:/var/lib/incident-agent incident-agent
# Several workers: set INCIDENT_AGENT_DATABASE_URL (Postgres) and INCIDENT_AGENT_REDIS_URL, run
# `incident-agent db upgrade` once, then any number of these; compose.yaml does all of it
# (two workers behind HAProxy, Postgres, Redis): `docker compose up -d --build`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

# The runtime lock first, so a code change does not reinstall the dependencies.
WORKDIR /src
COPY requirements.lock ./
RUN pip install -r requirements.lock

# The package itself (prompts and the demo account are package data; agent/prompts links to prompts/).
COPY pyproject.toml README.md ./
COPY prompts ./prompts
COPY graphs ./graphs
COPY agent ./agent
RUN pip install --no-deps . && cd / && rm -rf /src

RUN useradd --system --home-dir /var/lib/incident-agent --create-home --shell /usr/sbin/nologin incident-agent
USER incident-agent
WORKDIR /var/lib/incident-agent
# Paused approvals, audit and webhook events: one SQLite file, on the volume (with
# INCIDENT_AGENT_DATABASE_URL set they are in Postgres, and the volume keeps only scratch files).
ENV INCIDENT_AGENT_CHECKPOINT=/var/lib/incident-agent/incident-agent.sqlite
VOLUME ["/var/lib/incident-agent"]

EXPOSE 8000
# Alive; a load balancer asks /readyz (database and Redis reachable) instead.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
# `serve` exits 2, naming the setting, when an endpoint's secret is missing.
CMD ["incident-agent", "serve", "--host", "0.0.0.0", "--port", "8000"]
