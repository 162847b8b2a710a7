"""The account's past incidents as evidence for triage.

`HistoryCache` (cache.py) keeps the resolved incidents the way the catalog
is kept (TTL, on disk, background refresh); `HistoryIndex` (index.py) says
which of them read like an alert. Triage turns that into a candidate
service with its reason, and the approval shows the closest two or three
with how they were resolved.
"""

from agent.history.cache import History, HistoryCache, history_cache
from agent.history.index import HistoryIndex, PastIncident

__all__ = ["History", "HistoryCache", "HistoryIndex", "PastIncident", "history_cache"]
