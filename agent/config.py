"""Settings from the environment and `.env`; every secret is a SecretStr.

One object, read once per process (`get_settings()`), passed down explicitly
to whatever needs it so tests can build their own.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_state_path
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

APP_NAME = "incident-agent"


def default_state_dir() -> Path:
    """The user's state directory for the agent (`$XDG_STATE_HOME/incident-agent` on Linux),
    so `run` in one directory and `approve` in another see the same approvals."""
    return user_state_path(APP_NAME, appauthor=False)


def default_checkpoint() -> Path:
    return default_state_dir() / "incident-agent.sqlite"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    # PagerDuty
    pagerduty_api_url: str | None = Field(
        default=None, description="REST API base URL; unset = the embedded sandbox."
    )
    pagerduty_api_token: SecretStr = Field(
        default=SecretStr("sandbox-token"), description="Account or user API key, or OAuth token."
    )
    pagerduty_token_type: Literal["token", "bearer"] = "token"
    pagerduty_from: str | None = Field(
        default=None, description="Email of a PagerDuty user, sent as `From` on writes."
    )
    pagerduty_timeout_s: float = 10.0
    pagerduty_max_retries: int = 5
    pagerduty_rate_per_minute: int = 960
    catalog_ttl_s: float = 300.0
    sandbox_account: Path | None = Field(
        default=None, description="Snapshot the embedded sandbox loads; unset = the bundled demo."
    )

    # LLM (optional: without it triage uses deterministic rules)
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_model: str = "gpt-4o-mini"

    # Persistence: checkpoints, approvals and audit in one SQLite file; the embedded
    # sandbox's state beside it. Read from the environment at start, so tests can move it.
    incident_agent_checkpoint: Path = Field(
        default_factory=default_checkpoint,
        description="SQLite file for paused threads, approvals and audit; unset = user state dir.",
    )
    incident_agent_database_url: SecretStr | None = Field(
        default=None,
        description="postgresql://… : checkpoints, approvals and audit shared by every worker "
        "(instead of the SQLite file).",
    )
    incident_agent_redis_url: SecretStr | None = Field(
        default=None, description="redis://… : one PagerDuty request budget for every worker."
    )
    incident_agent_workers: int = Field(
        default=4, ge=1,
        description="The most serve workers sharing one PagerDuty key: while Redis is "
        "unreachable each worker keeps 1/N of PAGERDUTY_RATE_PER_MINUTE on its own.",
    )
    incident_agent_shutdown_grace_s: float = Field(
        default=20.0,
        description="serve, on SIGTERM: how long writes in progress get to finish before their "
        "claims are released for another worker's `retry` (keep it under the orchestrator's "
        "kill timeout, e.g. Kubernetes' 30 s).",
    )

    # People and time
    default_time_zone: str = "UTC"

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = Field(
        default=None, description="xapp- token; set with SLACK_SOCKET_MODE for Socket Mode."
    )
    slack_socket_mode: bool = False
    slack_channel: str | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_approver_ids: list[str] = Field(default_factory=list)
    slack_approver_group: str | None = None

    # PagerDuty webhooks (V3); several secrets during rotation
    pagerduty_webhook_secrets: list[SecretStr] = Field(default_factory=list)

    # Alert intake (agent/intake): Events API v2, Alertmanager and generic webhooks
    intake_routing_keys: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Events API v2: service id or name -> routing key (the sender's credential).",
    )
    intake_tokens: list[SecretStr] = Field(
        default_factory=list, description="Bearer tokens for /intake/alertmanager and /intake/generic."
    )
    intake_hmac_secrets: list[SecretStr] = Field(
        default_factory=list, description="HMAC-SHA256 secrets for /intake/generic (X-Signature)."
    )
    intake_generic_mapping: dict[str, str] = Field(
        default_factory=dict, description="Generic webhook: our field -> dotted path in the body."
    )
    intake_max_body_bytes: int = 512_000
    intake_storm_window_s: float = 600.0


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def mask(secret: SecretStr | str | None) -> str:
    """The one way a secret is ever shown: its last four characters."""
    if secret is None:
        return "<unset>"
    value = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    return f"…{value[-4:]}" if len(value) > 8 else "…"
