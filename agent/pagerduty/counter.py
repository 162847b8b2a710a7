"""How many HTTP requests a client sent, per (method, path template).

Every attempt counts, retries included: this is the number PagerDuty's rate
limit sees. The benchmarks print it and the graph reports it.
"""

from __future__ import annotations

from collections import Counter

__all__ = ["RequestCounter"]


class RequestCounter:
    def __init__(self) -> None:
        self.by_endpoint: Counter[tuple[str, str]] = Counter()
        self.retries = 0
        """Attempts after the first, for any reason."""
        self.rate_limited = 0
        """429 responses seen (each waited out, or surfaced once retries ran out)."""

    @property
    def total(self) -> int:
        return sum(self.by_endpoint.values())

    def __getitem__(self, key: tuple[str, str]) -> int:
        return self.by_endpoint[key]

    def record(self, method: str, template: str) -> None:
        self.by_endpoint[(method.upper(), template)] += 1

    def reset(self) -> None:
        self.by_endpoint.clear()
        self.retries = 0
        self.rate_limited = 0

    def snapshot(self) -> dict[str, int]:
        """`{"GET /incidents": 3, ..., "total": n}`, for printing and JSON."""
        out = {f"{m} {t}": n for (m, t), n in sorted(self.by_endpoint.items())}
        out["total"] = self.total
        return out

    def __repr__(self) -> str:
        return f"RequestCounter(total={self.total}, retries={self.retries}, rate_limited={self.rate_limited})"
