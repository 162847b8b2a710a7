"""Alerts straight from the monitoring stack, each becoming a graph run.

Three doors on `serve`, each authenticated and body-size limited:

- `POST /v2/enqueue`: PagerDuty Events API v2 (the routing key is the
  credential, as at PagerDuty; keys map to services in settings), answering
  202 with the dedup_key or 400 with errors, as PagerDuty does;
- `POST /intake/alertmanager`: Prometheus Alertmanager's webhook (version 4),
  a Bearer token;
- `POST /intake/generic`: any JSON (Grafana, Datadog) through a field
  mapping in settings, a Bearer token or an HMAC-SHA256 signature.

Each becomes `AlertEvent`s (`events.py`); the receiver (`receiver.py`) turns
a trigger into a run through `agent.runner.Runner` with the alert's fields
kept for triage, joins storms to the pending run (`store.py` counts them),
and turns an acknowledge or resolve for a known key into that update's run.
"""

from agent.intake.events import AlertEvent
from agent.intake.receiver import IntakeReceiver

__all__ = ["AlertEvent", "IntakeReceiver"]
