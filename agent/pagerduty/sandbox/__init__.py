"""A stateful PagerDuty REST API v2, served over real HTTP on loopback.

The test bed and the demo's embedded default: it loads an account snapshot,
enforces PagerDuty's documented rules, computes on-calls, writes log entries,
and can inject latency, 5xx and 429 storms. See DESIGN.md, "The sandbox".
"""

from .app import create_app
from .clock import Clock
from .errors import SandboxError, SnapshotError
from .faults import Faults
from .server import RunningSandbox, running_sandbox
from .state import SandboxState

__all__ = [
    "Clock",
    "Faults",
    "RunningSandbox",
    "SandboxError",
    "SandboxState",
    "SnapshotError",
    "create_app",
    "running_sandbox",
]
