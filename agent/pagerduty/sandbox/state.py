"""The sandbox's account: one state object behind one lock, with typed operations.

Every operation applies PagerDuty's documented rules and raises SandboxError
with PagerDuty's status, code and message when one is broken; the HTTP routes
only decode, call one operation and encode. Setup helpers (`add_user`,
`add_incident`, `add_log_entries`, ...) let tests shape the account directly.

Time comes from the injected Clock. Escalation is applied lazily: before any
operation, triggered incidents whose escalation delay has passed move up
their policy (looping `num_loops` times), with the log entries PagerDuty writes.

With `persist_path`, every write is saved atomically and a change made by
another process (another embedded sandbox on the same file) is reloaded
before the next operation.
"""

from __future__ import annotations

import builtins
import copy
import functools
import json
import os
import random
import string
import threading
import typing
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]

from agent.pagerduty.models import EscalationPolicy, Override, Schedule

from . import oncall
from .clock import Clock
from .errors import SandboxError, invalid, not_found
from .kinds import API_URL, KINDS, LOAD_ORDER, reference
from .shapes import complete, complete_log_entry, refresh_user_teams, web_base
from .snapshot import Snapshot, read, validate, write_atomic
from .timefmt import iso, parse_time, to_dt

OPEN = ("triggered", "acknowledged")
MAX_INCIDENT_WINDOW = relativedelta(months=6)
DEFAULT_INCIDENT_WINDOW = timedelta(days=30)
MAX_ONCALL_WINDOW = timedelta(days=90)
DEFAULT_SCHEDULE_WINDOW = timedelta(weeks=2)
# Rendering a schedule walks every rotation turn in the window; a bound keeps one request's
# work bounded (PagerDuty documents none; a year covers every real use of the render).
MAX_SCHEDULE_WINDOW = timedelta(days=366)

# What each log entry says about itself, by type.
LOG_SUMMARY = {
    "trigger_log_entry": "Triggered through the API",
    "assign_log_entry": "Assigned to {names}",
    "notify_log_entry": "Notified {names}",
    "acknowledge_log_entry": "Acknowledged by {names}",
    "unacknowledge_log_entry": "Unacknowledged by {names}",
    "annotate_log_entry": "Note added by {names}",
    "resolve_log_entry": "Resolved by {names}",
    "escalate_log_entry": "Escalated to level {level}",
    "exhaust_escalation_path_log_entry": "Escalation path exhausted",
    "repeat_escalation_path_log_entry": "Escalation policy repeated",
    "urgency_change_log_entry": "Urgency changed to {urgency}",
}
# Entries PagerDuty counts as the "overview" (is_overview=true).
OVERVIEW_TYPES = {
    "trigger_log_entry",
    "acknowledge_log_entry",
    "resolve_log_entry",
    "escalate_log_entry",
    "assign_log_entry",
    "annotate_log_entry",
}
INCIDENT_SORT_FIELDS = ("incident_number", "created_at", "resolved_at", "urgency")


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as the API shows it: a deep copy without the sandbox's private keys."""
    return {k: copy.deepcopy(v) for k, v in obj.items() if not k.startswith("_")}


class ShownEntries(Sequence[dict[str, Any]]):
    """Stored log entries as the API shows them, each copied only when read.

    A page of 100 copies 100 entries, not the incident's whole log; a slice is
    another view. Entries are never changed once written, so a shallow copy
    (without `_seq`) is enough, and each entry's JSON is rendered once and kept
    (`json()`): serving a page joins 100 rendered entries."""

    def __init__(self, entries: builtins.list[dict[str, Any]], rendered: dict[str, bytes]) -> None:
        self._entries = entries
        self._rendered = rendered

    def __len__(self) -> int:
        return len(self._entries)

    @typing.overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @typing.overload
    def __getitem__(self, index: slice) -> ShownEntries: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | ShownEntries:
        if isinstance(index, slice):
            return ShownEntries(self._entries[index], self._rendered)
        return _shown(self._entries[index])

    def json(self) -> bytes:
        """The entries as a JSON array, encoded as the sandbox encodes every answer."""
        parts = []
        for entry in self._entries:
            raw = self._rendered.get(entry["id"])
            if raw is None:
                raw = self._rendered[entry["id"]] = encode_json(_shown(entry))
            parts.append(raw)
        return b"[" + b",".join(parts) + b"]"


def encode_json(body: Any) -> bytes:
    """The sandbox's one JSON encoding (compact, UTF-8, no NaN)."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _sort_key(name: str, item: dict[str, Any]) -> tuple[bool, Any]:
    """Incidents sorted by `name`, those without it last."""
    return item.get(name) is None, item.get(name) or ""


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entry.items() if k != "_seq"}


def _op(write: bool):
    """Run a state operation under the lock, synced with the persisted file, saved after."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(self: SandboxState, *args, **kwargs):
            with self._lock:
                self._depth += 1
                try:
                    if self._depth == 1:
                        self._sync()
                        self._tick()
                    result = fn(self, *args, **kwargs)
                    if write:
                        self._dirty = True
                    return result
                finally:
                    self._depth -= 1
                    if self._depth == 0 and self._dirty:
                        self._save()

        return wrapper

    return deco


class SandboxState:
    """All objects of one simulated PagerDuty account."""

    def __init__(
        self,
        snapshot: Snapshot | None = None,
        *,
        clock: Clock | None = None,
        persist_path: str | os.PathLike | None = None,
    ):
        self.clock = clock or Clock()
        self.persist_path = Path(persist_path) if persist_path else None
        self._lock = threading.RLock()
        self._depth = 0
        self._dirty = False
        self._persist_mtime: int | None = None
        self._rng = random.Random(0)  # ids are reproducible run to run
        self.request_counts: Counter[tuple[str | None, str]] = Counter()
        self._load(validate(snapshot or {}, "<snapshot>"))

    # -- loading, dumping, persistence -------------------------------------------------

    @classmethod
    def from_snapshot(
        cls,
        source: str | os.PathLike | dict,
        clock: Clock | None = None,
        persist_path: str | os.PathLike | None = None,
    ) -> SandboxState:
        """Load an account; with `persist_path`, that file wins if it already exists."""
        if persist_path and Path(persist_path).exists():
            snap, _ = read(persist_path)
        else:
            snap, _ = read(source)
        state = cls(None, clock=clock, persist_path=persist_path)
        state._load(snap)
        if state.persist_path is not None:
            if state.persist_path.exists():
                state._persist_mtime = state.persist_path.stat().st_mtime_ns
            else:
                state._save()
        return state

    def _load(self, snap: Snapshot) -> None:
        self.web = web_base(snap)  # the account's own web address, for every html_url made here
        self._objects: dict[str, dict[str, dict[str, Any]]] = {
            c: {o["id"]: copy.deepcopy(o) for o in snap.get(c, [])}
            for c in LOAD_ORDER
            if c not in ("log_entries", "notes", "overrides", "alerts")
        }
        self._derived_teams = complete(self._objects, self.web)
        self._log: list[dict[str, Any]] = []
        self._log_by_incident: dict[str, list[dict[str, Any]]] = {}
        self._log_view_key: tuple[Any, ...] | None = None  # the last listing (see log_entries)
        self._log_view: list[dict[str, Any]] = []
        self._log_json: dict[str, bytes] = {}  # each entry's rendered JSON (ShownEntries.json)
        self._log_ids: dict[str, dict[str, Any]] = {}
        for entry in snap.get("log_entries", []):
            entry = copy.deepcopy(entry)
            complete_log_entry(entry, self._objects["incidents"], self.web)
            self._append_log(entry)
        self._notes: dict[str, list[dict[str, Any]]] = {}
        for note in snap.get("notes", []):
            note = copy.deepcopy(note)
            self._notes.setdefault(note.pop("incident")["id"], []).append(note)
        self._overrides: dict[str, list[dict[str, Any]]] = {}
        for o in snap.get("overrides", []):
            o = copy.deepcopy(o)
            self._overrides.setdefault(o.pop("schedule")["id"], []).append(o)
        self._alerts: dict[str, list[dict[str, Any]]] = {}
        for a in snap.get("alerts", []):
            self._alerts.setdefault(a["incident"]["id"], []).append(copy.deepcopy(a))

    def dump(self) -> Snapshot:
        """The whole account as a snapshot (loadable by `from_snapshot`)."""
        with self._lock:
            out: Snapshot = {c: [copy.deepcopy(o) for o in objs.values()] for c, objs in self._objects.items()}
            out["log_entries"] = [
                {k: copy.deepcopy(v) for k, v in e.items() if k != "_seq"} for e in self._log
            ]
            out["notes"] = [
                {**copy.deepcopy(n), "incident": {"id": i, "type": "incident_reference"}}
                for i, notes in self._notes.items()
                for n in notes
            ]
            out["overrides"] = [
                {**copy.deepcopy(o), "schedule": {"id": s, "type": "schedule_reference"}}
                for s, overrides in self._overrides.items()
                for o in overrides
            ]
            out["alerts"] = [copy.deepcopy(a) for alerts in self._alerts.values() for a in alerts]
            return out

    def _save(self) -> None:
        self._dirty = False
        if self.persist_path is None:
            return
        write_atomic(self.persist_path, self.dump())
        self._persist_mtime = self.persist_path.stat().st_mtime_ns

    def _sync(self) -> None:
        """Reload if another process wrote the persisted file since we last did."""
        if self.persist_path is None or not self.persist_path.exists():
            return
        mtime = self.persist_path.stat().st_mtime_ns
        if mtime != self._persist_mtime:
            snap, _ = read(self.persist_path)
            self._load(snap)
            self._persist_mtime = mtime

    # -- small helpers -------------------------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    def _new_id(self, collection: str, prefix: str = "P", length: int = 7) -> str:
        alphabet = string.ascii_uppercase + string.digits
        taken = self._log_ids if collection == "log_entries" else self._objects.get(collection, {})
        while True:
            candidate = prefix + "".join(self._rng.choice(alphabet) for _ in range(length - 1))
            if candidate not in taken:
                return candidate

    def _ref(self, collection: str, oid: str) -> dict[str, Any]:
        return reference(collection, self._objects[collection][oid])

    def _obj(self, collection: str, oid: str) -> dict[str, Any]:
        try:
            return self._objects[collection][oid]
        except KeyError:
            raise not_found(f"{KINDS[collection].singular.replace('_', ' ').title()} {oid} not found") from None

    def _resolve_ref(self, value: Any, collection: str, field: str, *, allow_object: bool = False) -> str:
        """Check a body reference `{"id", "type": "<kind>_reference"}` and return its id.

        A bare name or id string, a wrong type or an unknown id is PagerDuty's 400/2001."""
        singular = KINDS[collection].singular
        example = f'{{"id": "...", "type": "{singular}_reference"}}'
        if not isinstance(value, dict):
            raise invalid(f"{field} must be a reference object like {example}, got {value!r}")
        types = {f"{singular}_reference"} | ({singular} if allow_object else set())
        if value.get("type") not in types:
            raise invalid(f"{field}.type must be '{singular}_reference', got {value.get('type')!r}")
        oid = value.get("id")
        if not isinstance(oid, str) or oid not in self._objects[collection]:
            raise invalid(f"{field}: {singular.replace('_', ' ')} {oid!r} not found")
        return oid

    def user_by_email(self, email: str | None) -> dict[str, Any] | None:
        if not email:
            return None
        email = email.strip().lower()
        return next((u for u in self._objects["users"].values() if u["email"].lower() == email), None)

    def _actor(self, from_email: str | None) -> dict[str, Any]:
        """The user a write acts for: the `From` header (or the user-level token's user)."""
        if not from_email:
            raise invalid(
                "The 'From' header is required for this request: the email address of a valid "
                "user in this account"
            )
        user = self.user_by_email(from_email)
        if user is None:
            raise invalid(
                f"The 'From' header must be the email address of a user in this account; "
                f"{from_email!r} is not"
            )
        return user

    def _policy_inputs(self) -> dict[str, tuple[Schedule, Sequence[Override]]]:
        return {
            sid: (
                Schedule.model_validate(s),
                [Override.model_validate(o) for o in self._overrides.get(sid, [])],
            )
            for sid, s in self._objects["schedules"].items()
        }

    # -- log entries -------------------------------------------------------------------

    def _append_log(self, entry: dict[str, Any]) -> None:
        entry["created_at"] = iso(to_dt(entry["created_at"]))
        entry["_seq"] = len(self._log)
        self._log.append(entry)
        self._log_ids[entry["id"]] = entry
        inc = entry.get("incident")
        if isinstance(inc, dict):
            self._log_by_incident.setdefault(inc["id"], []).append(entry)

    def _write_log(
        self,
        incident: dict[str, Any],
        type_: str,
        at: datetime,
        *,
        agent: dict[str, Any] | None = None,
        channel: dict[str, Any] | None = None,
        names: Sequence[str] = (),
        **extra: Any,
    ) -> dict[str, Any]:
        entry_id = self._new_id("log_entries", "R", 14)
        summary = LOG_SUMMARY.get(type_, type_).format(
            names=", ".join(names) or "the API", level=extra.get("_level", ""), urgency=incident.get("urgency")
        )
        extra.pop("_level", None)
        entry: dict[str, Any] = {
            "id": entry_id,
            "type": type_,
            "summary": summary,
            "self": f"{API_URL}/log_entries/{entry_id}?incident_id={incident['id']}",
            "html_url": f"{self.web}/incidents/{incident['id']}/log_entries/{entry_id}",
            "created_at": iso(at),
            "channel": channel or {"type": "api"},
            "service": copy.deepcopy(incident["service"]),
            "incident": self._ref("incidents", incident["id"]),
            "teams": copy.deepcopy(incident.get("teams", [])),
            "contexts": [],
            **extra,
        }
        if agent is not None:
            entry["agent"] = agent
        self._append_log(entry)
        return entry

    def _assign(
        self,
        incident: dict[str, Any],
        user_ids: Sequence[str],
        at: datetime,
        *,
        agent: dict[str, Any] | None,
        channel: dict[str, Any] | None = None,
    ) -> None:
        """Assign and notify, writing assign_log_entry and one notify_log_entry each."""
        refs = [self._ref("users", u) for u in user_ids]
        incident["assignments"] = [{"at": iso(at), "assignee": r} for r in refs]
        names = [r["summary"] for r in refs]
        self._write_log(
            incident, "assign_log_entry", at, agent=agent, channel=channel or {"type": "auto"},
            names=names, assignees=refs,
        )
        for r in refs:
            self._notify(incident, r, at)

    def _notify(self, incident: dict[str, Any], user_ref: dict[str, Any], at: datetime) -> None:
        self._write_log(
            incident, "notify_log_entry", at, channel={"type": "sms"},
            names=[user_ref["summary"]], user=user_ref,
        )

    # -- escalation over time -------------------------------------------------------------

    def _tick(self) -> None:
        """Escalate triggered incidents whose current level's delay has run out."""
        now = self.now()
        inputs = None
        for inc in self._objects["incidents"].values():
            esc = inc.get("_escalation")
            if inc["status"] != "triggered" or not esc or esc.get("exhausted"):
                continue
            policy_obj = self._objects["escalation_policies"].get(esc["policy"])
            if policy_obj is None:
                continue
            policy = EscalationPolicy.model_validate(policy_obj)
            rules = policy.escalation_rules
            while rules:
                level = min(esc["level"], len(rules))
                delay = max(rules[level - 1].escalation_delay_in_minutes, 1)
                due = to_dt(esc["since"]) + timedelta(minutes=delay)
                if due > now:
                    break
                service_agent = copy.deepcopy(inc["service"])
                if level < len(rules):
                    nxt = level + 1
                elif esc.get("loops", 0) < policy.num_loops:
                    nxt = 1
                    esc["loops"] = esc.get("loops", 0) + 1
                    self._write_log(inc, "repeat_escalation_path_log_entry", due, agent=service_agent,
                                    channel={"type": "timeout"})
                else:
                    esc["exhausted"] = True
                    self._write_log(inc, "exhaust_escalation_path_log_entry", due, agent=service_agent,
                                    channel={"type": "timeout"})
                    self._dirty = True
                    break
                inputs = inputs or self._policy_inputs()
                users = oncall.level_users_at(policy, inputs, nxt, due)
                esc.update(level=nxt, since=iso(due))
                refs = [self._ref("users", u) for u in users]
                inc["assignments"] = [{"at": iso(due), "assignee": r} for r in refs]
                inc["updated_at"] = iso(due)
                self._write_log(
                    inc, "escalate_log_entry", due, agent=service_agent, channel={"type": "timeout"},
                    names=[r["summary"] for r in refs], assignees=refs, _level=nxt,
                )
                for r in refs:
                    self._notify(inc, r, due)
                self._dirty = True

    # -- generic reads -------------------------------------------------------------------

    @_op(write=False)
    def get(self, collection: str, oid: str) -> dict[str, Any]:
        return public(self._obj(collection, oid))

    @_op(write=False)
    def list(
        self,
        collection: str,
        *,
        query: str | None = None,
        team_ids: Iterable[str] = (),
        user_ids: Iterable[str] = (),
        descending: bool = False,
    ) -> list[dict[str, Any]]:
        """A collection, filtered the way its list endpoint filters (`query`, teams, users),
        sorted by name (`descending` for `sort_by=name:desc`)."""
        kind = KINDS[collection]
        teams, users = set(team_ids), set(user_ids)
        out = []
        for obj in self._objects[collection].values():
            if query and not any(
                query.lower() in str(obj.get(f, "")).lower() for f in kind.query_fields
            ):
                continue
            if teams and not teams & {t["id"] for t in obj.get("teams", [])}:
                continue
            if users and collection == "escalation_policies" and not users & self._policy_users(obj):
                continue
            out.append(public(obj))
        if kind.query_fields:
            out.sort(key=lambda o: str(o.get(kind.query_fields[0], "")).lower(), reverse=descending)
        return out

    def _policy_users(self, policy: dict[str, Any]) -> set[str]:
        users = set()
        for rule in policy.get("escalation_rules", []):
            for t in rule["targets"]:
                if t["type"].startswith("user"):
                    users.add(t["id"])
                elif t["id"] in self._objects["schedules"]:
                    for layer in self._objects["schedules"][t["id"]].get("schedule_layers", []):
                        users.update(u["user"]["id"] for u in layer["users"])
        return users

    @_op(write=False)
    def me(self, email: str | None) -> dict[str, Any]:
        user = self.user_by_email(email)
        if user is None:
            raise not_found("User not found")
        return public(user)

    # -- schedules, overrides, on-calls ---------------------------------------------------

    @_op(write=False)
    def schedule(self, schedule_id: str, since: str | None = None, until: str | None = None) -> dict[str, Any]:
        """A schedule; with since/until, its layers, overrides and final schedule rendered."""
        obj = public(self._obj("schedules", schedule_id))
        if since is None and until is None:
            return obj
        start, end = self._schedule_window(since, until)
        sched, overrides = self._policy_inputs()[schedule_id]

        def entries(shifts: list[oncall.Shift]) -> list[dict[str, Any]]:
            return [
                {"start": iso(s.start), "end": iso(s.end), "user": self._ref("users", s.user_id)}
                for s in shifts
            ]

        def coverage(shifts: list[oncall.Shift]) -> float:
            span = (end - start).total_seconds()
            return round(100 * sum((s.end - s.start).total_seconds() for s in shifts) / span, 2) if span else 0.0

        for layer_obj, layer in zip(obj.get("schedule_layers", []), sched.schedule_layers, strict=False):
            shifts = oncall.render_layer(sched, layer, start, end)
            layer_obj["rendered_schedule_entries"] = entries(shifts)
            layer_obj["rendered_coverage_percentage"] = coverage(shifts)
        over = oncall.render_overrides(overrides, start, end)
        final = oncall.render_schedule(sched, overrides, start, end)
        obj["overrides_subschedule"] = {
            "name": "Overrides", "rendered_schedule_entries": entries(over),
            "rendered_coverage_percentage": coverage(over),
        }
        obj["final_schedule"] = {
            "name": "Final Schedule", "rendered_schedule_entries": entries(final),
            "rendered_coverage_percentage": coverage(final),
        }
        return obj

    @staticmethod
    def _schedule_window(since: str | None, until: str | None) -> tuple[datetime, datetime]:
        """since/until of a schedule render: each defaults to two weeks from the other."""
        start = parse_time(since, "since") if since else parse_time(until, "until") - DEFAULT_SCHEDULE_WINDOW  # type: ignore[arg-type]
        end = parse_time(until, "until") if until else start + DEFAULT_SCHEDULE_WINDOW
        if end < start:
            raise invalid("until must not be before since")
        if end - start > MAX_SCHEDULE_WINDOW:
            raise invalid(f"The range between since and until cannot be more than {MAX_SCHEDULE_WINDOW.days} days")
        return start, end

    @_op(write=False)
    def schedule_users(self, schedule_id: str, since: str | None = None, until: str | None = None):
        """GET /schedules/{id}/users: the users on call in the final schedule within since/until,
        or, with no window, every user of the schedule's layers."""
        schedule = self._obj("schedules", schedule_id)
        if since is None and until is None:
            ids = [u["user"]["id"] for layer in schedule.get("schedule_layers", []) for u in layer["users"]]
        else:
            start, end = self._schedule_window(since, until)
            sched, overrides = self._policy_inputs()[schedule_id]
            ids = [s.user_id for s in oncall.render_schedule(sched, overrides, start, end)]
        return [public(self._objects["users"][u]) for u in dict.fromkeys(ids) if u in self._objects["users"]]

    @_op(write=False)
    def team_members(self, team_id: str) -> builtins.list[dict[str, Any]]:
        """GET /teams/{id}/members: `{"user": reference, "role"}` for each user on the team."""
        self._obj("teams", team_id)
        return [
            {"user": self._ref("users", uid), "role": user.get("_team_roles", {}).get(team_id, "responder")}
            for uid, user in self._objects["users"].items()
            if any(t["id"] == team_id for t in user.get("teams", []))
        ]

    @_op(write=False)
    def overrides(self, schedule_id: str, since: str | None, until: str | None) -> builtins.list[dict[str, Any]]:
        self._obj("schedules", schedule_id)
        if not since or not until:
            raise invalid("since and until are required")
        start, end = parse_time(since, "since"), parse_time(until, "until")
        return [
            public(o)
            for o in self._overrides.get(schedule_id, [])
            if to_dt(o["start"]) < end and to_dt(o["end"]) > start
        ]

    @_op(write=True)
    def create_override(self, schedule_id: str, override: Any) -> dict[str, Any]:
        """Add one override (start < end, an existing user) to a schedule; raise if refused."""
        result = self.create_overrides(schedule_id, [override])[0]
        if result["status"] != 201:
            raise invalid(*result["errors"])
        return result["override"]

    @_op(write=True)
    def create_overrides(self, schedule_id: str, items: Any) -> builtins.list[dict[str, Any]]:
        """POST /schedules/{id}/overrides: one result per item, as PagerDuty documents it.

        PagerDuty's reference ("Create one or more overrides",
        https://developer.pagerduty.com/api-reference/ operation createScheduleOverride, in
        tests/sandbox/spec/rest-openapiv3.json) answers 201 with "a list of overrides requested
        and a status code indicating whether they were created or rejected": each item is
        `{"status": 201, "override": {..., "id"}}` or `{"status": 400, "errors": [...],
        "override": {...}}`, the rejected override shown as PagerDuty read it (times in UTC,
        the user as a reference, no id), never echoed raw. The official client's docs show the
        same mixed answer (`{'status': 400, 'errors': ['Override must end after its start'], ...}`).
        So a batch whose every item is rejected is still a 201 listing each rejection. A body
        that does not match the request schema (not a list, an item without start, end or a
        user reference, a timestamp that is not one) is refused whole: 400, nothing created.
        """
        self._obj("schedules", schedule_id)
        if not isinstance(items, list) or not items:
            raise invalid("overrides must be a non-empty list")
        if len(items) > 100:
            raise invalid("At most 100 overrides can be created at once")
        parsed = []
        for i, item in enumerate(items):
            where = f"overrides[{i}]"
            if not isinstance(item, dict):
                raise invalid(f"{where} must be an object with start, end and user")
            missing = [f for f in ("start", "end", "user") if f not in item]
            if missing:
                raise invalid(f"{where} is missing {', '.join(missing)}")
            if not isinstance(item["start"], str) or not isinstance(item["end"], str):
                raise invalid(f"{where}.start and .end must be ISO 8601 date-time strings")
            user = item["user"]
            if not isinstance(user, dict) or not isinstance(user.get("id"), str):
                raise invalid(f'{where}.user must be a reference like {{"id": "...", "type": "user_reference"}}')
            parsed.append((parse_time(item["start"], f"{where}.start"), parse_time(item["end"], f"{where}.end"),
                           user))
        out = []
        for start, end, user in parsed:
            uid = user["id"]
            known = uid in self._objects["users"] and user.get("type") in ("user_reference", "user")
            shown = {
                "start": iso(start), "end": iso(end),
                "user": self._ref("users", uid) if known else {"id": uid, "type": "user_reference"},
            }
            errors = []
            if end <= start:
                errors.append("Override must end after its start")
            if not known:
                errors.append(f"User {uid} not found" if user.get("type") in ("user_reference", "user", None)
                              else f"user.type must be 'user_reference', got {user.get('type')!r}")
            if errors:
                out.append({"status": 400, "errors": errors, "override": shown})
                continue
            obj = {"id": self._new_id("overrides", "Q", 14), **shown}
            self._overrides.setdefault(schedule_id, []).append(obj)
            out.append({"status": 201, "override": public(obj)})
        return out

    @_op(write=True)
    def delete_override(self, schedule_id: str, override_id: str) -> None:
        self._obj("schedules", schedule_id)
        items = self._overrides.get(schedule_id, [])
        for i, o in enumerate(items):
            if o["id"] == override_id:
                del items[i]
                return
        raise not_found(f"Override {override_id} not found")

    @_op(write=False)
    def oncalls(
        self,
        *,
        escalation_policy_ids: Iterable[str] = (),
        schedule_ids: Iterable[str] = (),
        user_ids: Iterable[str] = (),
        since: str | None = None,
        until: str | None = None,
        earliest: bool = False,
    ) -> builtins.list[dict[str, Any]]:
        """On-call entries overlapping [since, until] (default: now), `earliest` per user/policy/level."""
        now = self.now()
        start = parse_time(since, "since") if since else now
        end = parse_time(until, "until") if until else (start if since else now)
        if end < start:
            raise invalid("The until time cannot be before the since time")
        if end - start > MAX_ONCALL_WINDOW:
            raise invalid("The until time cannot be more than 90 days after the since time")
        policies, schedules_f, users_f = set(escalation_policy_ids), set(schedule_ids), set(user_ids)
        inputs = self._policy_inputs()
        entries: list[oncall.OnCallEntry] = []
        for pid, pobj in self._objects["escalation_policies"].items():
            if policies and pid not in policies:
                continue
            entries.extend(oncall.policy_oncalls(EscalationPolicy.model_validate(pobj), inputs, start, end))
        if schedules_f:
            entries = [e for e in entries if (e.schedule_id or "null") in schedules_f]
        if users_f:
            entries = [e for e in entries if e.user_id in users_f]
        if earliest:
            best: dict[tuple[str, int, str], oncall.OnCallEntry] = {}
            for e in entries:
                key = (e.escalation_policy_id, e.escalation_level, e.user_id)
                if key not in best or (e.start or start) < (best[key].start or start):
                    best[key] = e
            entries = list(best.values())
        entries.sort(key=lambda e: (e.escalation_policy_id, e.escalation_level, e.start or start, e.user_id))
        return [
            {
                "escalation_policy": self._ref("escalation_policies", e.escalation_policy_id),
                "escalation_level": e.escalation_level,
                "schedule": self._ref("schedules", e.schedule_id) if e.schedule_id else None,
                "user": self._ref("users", e.user_id),
                "start": iso(e.start) if e.start else None,
                "end": iso(e.end) if e.end else None,
            }
            for e in entries
            if e.user_id in self._objects["users"]
        ]

    # -- incidents -----------------------------------------------------------------------

    @_op(write=False)
    def list_incidents(
        self,
        *,
        statuses: Iterable[str] = (),
        service_ids: Iterable[str] = (),
        team_ids: Iterable[str] = (),
        user_ids: Iterable[str] = (),
        urgencies: Iterable[str] = (),
        incident_key: str | None = None,
        since: str | None = None,
        until: str | None = None,
        date_range: str | None = None,
        sort_by: Sequence[str] = (),
    ) -> builtins.list[dict[str, Any]]:
        """Incidents in the window (default the last 30 days, at most 6 months; `date_range=all`
        ignores it), filtered and sorted the way GET /incidents does."""
        statuses, urgencies = set(statuses), set(urgencies)
        bad = statuses - {"triggered", "acknowledged", "resolved"}
        if bad:
            raise invalid("Status must be a list of triggered, acknowledged, or resolved.")
        if urgencies - {"high", "low"}:
            raise invalid("Urgency must be a list of high or low.")
        if date_range not in (None, "", "all"):
            raise invalid("date_range must be 'all'")
        window = None
        if date_range != "all":
            now = self.now()
            end = parse_time(until, "until") if until else now
            start = parse_time(since, "since") if since else end - DEFAULT_INCIDENT_WINDOW
            if end < start:
                raise invalid("until must not be before since")
            if start + MAX_INCIDENT_WINDOW < end:
                raise invalid("The date range between since and until cannot be more than 6 months")
            # [since, until); an `until` left to default (now) includes incidents made this instant
            window = (start, end if until else end + timedelta(microseconds=1))
        services, teams, users = set(service_ids), set(team_ids), set(user_ids)
        out = []
        for inc in self._objects["incidents"].values():
            if statuses and inc["status"] not in statuses:
                continue
            if services and inc["service"]["id"] not in services:
                continue
            if urgencies and inc.get("urgency") not in urgencies:
                continue
            if incident_key is not None and inc.get("incident_key") != incident_key:
                continue
            if teams and not teams & {t["id"] for t in inc.get("teams", [])}:
                continue
            if users and not users & {a["assignee"]["id"] for a in inc.get("assignments", [])}:
                continue
            if window and not window[0] <= to_dt(inc["created_at"]) < window[1]:
                continue
            out.append(inc)
        keys = []
        for spec in sort_by:
            name, _, direction = spec.partition(":")
            if name not in INCIDENT_SORT_FIELDS or direction not in ("", "asc", "desc"):
                raise invalid(f"sort_by {spec!r} must be one of {', '.join(INCIDENT_SORT_FIELDS)} with :asc or :desc")
            keys.append((name, direction == "desc"))
        out.sort(key=lambda i: (i["created_at"], i.get("incident_number") or 0))
        for name, desc in reversed(keys):
            out.sort(key=functools.partial(_sort_key, name), reverse=desc)
        return [public(i) for i in out]

    def _open_incident_with_key(self, service_id: str, key: str) -> dict[str, Any] | None:
        return next(
            (
                i
                for i in self._objects["incidents"].values()
                if i["service"]["id"] == service_id and i.get("incident_key") == key and i["status"] in OPEN
            ),
            None,
        )

    def _default_urgency(self, service: dict[str, Any], at: datetime) -> str:
        """The service's incident_urgency_rule: constant, or by its support hours."""
        rule = service.get("incident_urgency_rule") or {"type": "constant", "urgency": "high"}
        if rule.get("type") == "constant":
            return rule.get("urgency") or "high"
        hours = service.get("support_hours") or {}
        inside = False
        if hours:
            local = at.astimezone(ZoneInfo(hours.get("time_zone") or "UTC"))
            start, end = hours.get("start_time", "00:00:00"), hours.get("end_time", "00:00:00")
            inside = local.isoweekday() in hours.get("days_of_week", []) and start <= local.strftime("%H:%M:%S") < end
        part = rule.get("during_support_hours" if inside else "outside_support_hours") or {}
        return part.get("urgency") or "high"

    def _priority_id(self, value: Any, field: str, *, allow_name: bool) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and allow_name:
            matches = [p for p in self._objects["priorities"].values() if p["name"] == value]
            if not matches:
                raise invalid(f"{field}: no priority named {value!r}")
            return max(matches, key=lambda p: p.get("order") or 0)["id"]
        return self._resolve_ref(value, "priorities", field, allow_object=True)

    @_op(write=True)
    def create_incident(self, body: Any, from_email: str | None) -> dict[str, Any]:
        """POST /incidents: validate, de-duplicate by incident_key, assign, log.

        Assignment: `assignments` if given, else level 1 of `escalation_policy`
        (or the service's policy) on call now."""
        actor = self._actor(from_email)
        if not isinstance(body, dict):
            raise invalid("incident must be an object")
        if body.get("type") != "incident":
            raise invalid("incident.type must be 'incident'")
        title = body.get("title")
        if not isinstance(title, str) or not title.strip():
            raise invalid("incident.title is required")
        if "service" not in body:
            raise invalid("incident.service is required")
        service_id = self._resolve_ref(body["service"], "services", "incident.service")
        service = self._objects["services"][service_id]
        key = body.get("incident_key")
        if key is not None and not isinstance(key, str):
            raise invalid("incident.incident_key must be a string")
        if key:
            existing = self._open_incident_with_key(service_id, key)
            if existing is not None:
                raise SandboxError(
                    400, 2001,
                    "Open incident with matching dedup key already exists on this service",
                    [
                        "Open incident with matching dedup key already exists on this service",
                        f"Existing incident: {existing['id']}",
                    ],
                )
        urgency = body.get("urgency")
        if urgency is not None and urgency not in ("high", "low"):
            raise invalid("incident.urgency must be 'high' or 'low'")
        priority_id = self._priority_id(body.get("priority"), "incident.priority", allow_name=False)
        if body.get("assignments") and body.get("escalation_policy"):
            raise invalid("Assignments cannot be specified if an escalation policy is given")
        assignees: list[str] = []
        for i, a in enumerate(body.get("assignments") or []):
            if not isinstance(a, dict):
                raise invalid(f"incident.assignments[{i}] must be an object with an assignee")
            assignees.append(self._resolve_ref(a.get("assignee"), "users", f"incident.assignments[{i}].assignee"))
        if "escalation_policy" in body and body["escalation_policy"] is not None:
            policy_id = self._resolve_ref(body["escalation_policy"], "escalation_policies", "incident.escalation_policy")
        else:
            policy_id = service["escalation_policy"]["id"]
        now = self.now()
        return public(
            self._insert_incident(
                service_id, title, now, actor=actor, urgency=urgency or self._default_urgency(service, now),
                incident_key=key, priority_id=priority_id, assignees=assignees, policy_id=policy_id,
                body=body.get("body"), conference_bridge=body.get("conference_bridge"),
            )
        )

    def _insert_incident(
        self,
        service_id: str,
        title: str,
        at: datetime,
        *,
        actor: dict[str, Any] | None,
        urgency: str,
        incident_key: str | None,
        priority_id: str | None,
        assignees: Sequence[str],
        policy_id: str,
        body: Any = None,
        conference_bridge: Any = None,
        status: str = "triggered",
        log: bool = True,
    ) -> dict[str, Any]:
        service = self._objects["services"][service_id]
        number = max((i.get("incident_number") or 0 for i in self._objects["incidents"].values()), default=0) + 1
        iid = self._new_id("incidents")
        direct = bool(assignees)
        if not direct:
            policy = EscalationPolicy.model_validate(self._objects["escalation_policies"][policy_id])
            assignees = oncall.level_users_at(policy, self._policy_inputs(), 1, at)
        inc: dict[str, Any] = {
            "id": iid,
            "type": "incident",
            "summary": f"[#{number}] {title}",
            "self": f"{API_URL}/incidents/{iid}",
            "html_url": f"{self.web}/incidents/{iid}",
            "incident_number": number,
            "title": title,
            "description": title,
            "created_at": iso(at),
            "updated_at": iso(at),
            "status": "triggered",
            "incident_key": incident_key or uuid.UUID(int=self._rng.getrandbits(128)).hex,
            "service": self._ref("services", service_id),
            "assignments": [],
            "assigned_via": "direct_assignment" if direct else "escalation_policy",
            "last_status_change_at": iso(at),
            "resolved_at": None,
            "acknowledgements": [],
            "alert_counts": {"all": 0, "triggered": 0, "resolved": 0},
            "pending_actions": [],
            "escalation_policy": self._ref("escalation_policies", policy_id),
            "teams": copy.deepcopy(service.get("teams", [])),
            "urgency": urgency,
            "priority": self._ref("priorities", priority_id) if priority_id else None,
            "_escalation": {"policy": policy_id, "level": 1, "since": iso(at), "loops": 0},
        }
        if direct:
            inc.pop("_escalation")
        if actor is not None:
            inc["last_status_change_by"] = self._ref("users", actor["id"])
        if body is not None:
            inc["body"] = body
        if conference_bridge is not None:
            inc["conference_bridge"] = conference_bridge
        self._objects["incidents"][iid] = inc
        agent = self._ref("users", actor["id"]) if actor else None
        if log:
            trigger = self._write_log(
                inc, "trigger_log_entry", at, agent=agent, channel={"type": "api", "summary": title},
                names=[agent["summary"]] if agent else [],
            )
            inc["first_trigger_log_entry"] = {
                "id": trigger["id"], "type": "trigger_log_entry_reference", "summary": trigger["summary"],
                "self": trigger["self"], "html_url": trigger["html_url"],
            }
            if assignees:
                self._assign(inc, assignees, at, agent=agent)
        else:
            inc["assignments"] = [{"at": iso(at), "assignee": self._ref("users", u)} for u in assignees]
        if status != "triggered":
            self._set_status(inc, status, at, actor=actor, log=log)
        return inc

    def _set_status(
        self, inc: dict[str, Any], status: str, at: datetime, *, actor: dict[str, Any] | None,
        resolution: str | None = None, log: bool = True,
    ) -> None:
        """PagerDuty's transitions; a resolved incident is final."""
        current = inc["status"]
        if status not in ("triggered", "acknowledged", "resolved"):
            raise invalid("Status must be one of triggered, acknowledged, or resolved.")
        if current == "resolved":
            if status == "resolved":
                return
            raise invalid("Incident Already Resolved")
        if status == current:
            return
        agent = self._ref("users", actor["id"]) if actor else None
        names = [agent["summary"]] if agent else []
        channel = {"type": "api"}
        if status == "acknowledged":
            inc["acknowledgements"] = [{"at": iso(at), "acknowledger": agent or copy.deepcopy(inc["service"])}]
            if log:
                self._write_log(inc, "acknowledge_log_entry", at, agent=agent, channel=channel, names=names)
        elif status == "triggered":  # un-acknowledge: escalation restarts from now
            inc["acknowledgements"] = []
            if "_escalation" in inc:
                inc["_escalation"].update(since=iso(at), exhausted=False)
            if log:
                self._write_log(inc, "unacknowledge_log_entry", at, agent=agent, channel=channel, names=names)
        else:
            inc["resolved_at"] = iso(at)
            inc["assignments"] = []
            inc["acknowledgements"] = []
            if log:
                extra = {"note": resolution} if resolution else {}
                self._write_log(inc, "resolve_log_entry", at, agent=agent, channel=channel, names=names, **extra)
        inc["status"] = status
        inc["last_status_change_at"] = iso(at)
        if agent:
            inc["last_status_change_by"] = agent
        inc["updated_at"] = iso(at)

    @_op(write=False)
    def get_incident(self, incident_id: str) -> dict[str, Any]:
        """GET /incidents/{id}: "Accepts either an incident id, or an incident number" (the spec)."""
        if incident_id not in self._objects["incidents"] and incident_id.isdecimal():
            number = int(incident_id)
            found = next((i for i in self._objects["incidents"].values() if i.get("incident_number") == number), None)
            if found is not None:
                return public(found)
        return public(self._obj("incidents", incident_id))

    @_op(write=True)
    def update_incident(self, incident_id: str, changes: Any, from_email: str | None) -> dict[str, Any]:
        """PUT /incidents/{id}: status, title, urgency, priority, escalation, reassignment."""
        actor = self._actor(from_email)
        inc = self._obj("incidents", incident_id)
        if not isinstance(changes, dict):
            raise invalid("incident must be an object")
        if changes.get("type", "incident") not in ("incident", "incident_reference"):
            raise invalid("incident.type must be 'incident' or 'incident_reference'")
        now = self.now()
        agent = self._ref("users", actor["id"])
        # Validate everything before changing anything: a rejected PUT changes nothing.
        status = changes.get("status")
        if status is not None and status not in ("triggered", "acknowledged", "resolved"):
            raise invalid("Status must be one of triggered, acknowledged, or resolved.")
        if status in OPEN and inc["status"] == "resolved":
            raise invalid("Incident Already Resolved")
        urgency = changes.get("urgency")
        if urgency is not None and urgency not in ("high", "low"):
            raise invalid("incident.urgency must be 'high' or 'low'")
        if "title" in changes and (not isinstance(changes["title"], str) or not changes["title"].strip()):
            raise invalid("incident.title must be a non-empty string")
        priority_id = self._priority_id(changes.get("priority"), "incident.priority", allow_name=True)
        if changes.get("assignments") and changes.get("escalation_policy"):
            raise invalid("Assignments cannot be specified if an escalation policy is given")
        assignees = [
            self._resolve_ref((a or {}).get("assignee") if isinstance(a, dict) else a, "users",
                              f"incident.assignments[{i}].assignee")
            for i, a in enumerate(changes.get("assignments") or [])
        ]
        policy_id = None
        if changes.get("escalation_policy") is not None:
            policy_id = self._resolve_ref(changes["escalation_policy"], "escalation_policies", "incident.escalation_policy")
        level = changes.get("escalation_level")
        policy_for_level = policy_id or inc.get("escalation_policy", {}).get("id")
        if level is not None:
            rules = self._objects["escalation_policies"][policy_for_level]["escalation_rules"]
            if not isinstance(level, int) or not 1 <= level <= len(rules):
                raise invalid(f"escalation_level must be between 1 and {len(rules)}")
        if (assignees or policy_id or level is not None) and inc["status"] == "resolved":
            raise invalid("Incident Already Resolved")

        if "title" in changes:
            inc["title"] = changes["title"]
            inc["summary"] = f"[#{inc['incident_number']}] {changes['title']}"
        if "priority" in changes:
            inc["priority"] = self._ref("priorities", priority_id) if priority_id else None
        if urgency is not None and urgency != inc.get("urgency"):
            inc["urgency"] = urgency
            self._write_log(inc, "urgency_change_log_entry", now, agent=agent, channel={"type": "api"})
        if assignees:
            inc["assigned_via"] = "direct_assignment"
            inc.pop("_escalation", None)
            self._assign(inc, assignees, now, agent=agent, channel={"type": "api"})
        elif policy_id or level is not None:
            pid = policy_id or policy_for_level
            lvl = level or 1
            policy = EscalationPolicy.model_validate(self._objects["escalation_policies"][pid])
            users = oncall.level_users_at(policy, self._policy_inputs(), lvl, now)
            inc["escalation_policy"] = self._ref("escalation_policies", pid)
            inc["assigned_via"] = "escalation_policy"
            inc["_escalation"] = {"policy": pid, "level": lvl, "since": iso(now), "loops": 0}
            refs = [self._ref("users", u) for u in users]
            inc["assignments"] = [{"at": iso(now), "assignee": r} for r in refs]
            self._write_log(
                inc, "escalate_log_entry", now, agent=agent, channel={"type": "api"},
                names=[r["summary"] for r in refs], assignees=refs, _level=lvl,
            )
            for r in refs:
                self._notify(inc, r, now)
        if (assignees or policy_id or level is not None) and inc["status"] == "acknowledged":
            self._unacknowledge_on_reassign(inc, now, agent)
        if status is not None:
            self._set_status(inc, status, now, actor=actor, resolution=changes.get("resolution"))
        inc["updated_at"] = iso(now)
        return public(inc)

    @staticmethod
    def _unacknowledge_on_reassign(inc: dict[str, Any], now: datetime, agent: dict[str, Any]) -> None:
        """A reassigned incident waits for its new assignees to acknowledge it.

        PagerDuty's "Reassign Incidents" (https://support.pagerduty.com/docs/reassigning-and-delegating-incidents):
        reassigning to an escalation level or policy means "the escalation policy will continue
        to cycle through escalation rules until a user acknowledges the incident", and to a user
        that "only the selected user will be notified" and others are not "if the selected user
        does not acknowledge the incident": the reassigned incident is triggered again, its old
        acknowledgements gone. The log has what PagerDuty writes for a reassignment, already
        written by the caller: the assign (or escalate) entry naming the new assignees and a
        notify entry for each; the status change itself has no entry of its own. An explicit
        `status` in the same request is applied after this, so it still wins."""
        inc["status"] = "triggered"
        inc["acknowledgements"] = []
        inc["last_status_change_at"] = iso(now)
        inc["last_status_change_by"] = agent

    @_op(write=True)
    def update_incidents(self, items: Any, from_email: str | None) -> builtins.list[dict[str, Any]]:
        """PUT /incidents: up to 250 updates; all are validated by applying them in order."""
        self._actor(from_email)
        if not isinstance(items, list) or not items:
            raise invalid("incidents must be a non-empty list")
        if len(items) > 250:
            raise invalid("At most 250 incidents can be updated at once")
        for i, item in enumerate(items):
            if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                raise invalid(f"incidents[{i}].id is required")
            if item["id"] not in self._objects["incidents"]:
                raise invalid(f"incidents[{i}]: incident {item['id']!r} not found")
        return [self.update_incident(item["id"], item, from_email) for item in items]

    # -- notes, responders, alerts, log entries ------------------------------------------

    @_op(write=False)
    def notes(self, incident_id: str) -> builtins.list[dict[str, Any]]:
        self._obj("incidents", incident_id)
        return [public(n) for n in self._notes.get(incident_id, [])]

    @_op(write=True)
    def add_note(self, incident_id: str, content: Any, from_email: str | None) -> dict[str, Any]:
        actor = self._actor(from_email)
        inc = self._obj("incidents", incident_id)
        if not isinstance(content, str) or not content.strip():
            raise invalid("note.content is required")
        if len(content) > 25_000:
            raise invalid("note.content must be at most 25000 characters")
        now = self.now()
        note = {
            "id": self._new_id("notes", "P", 14),
            "user": self._ref("users", actor["id"]),
            "channel": {"summary": "The PagerDuty website or APIs"},
            "content": content,
            "created_at": iso(now),
        }
        self._notes.setdefault(incident_id, []).append(note)
        self._write_log(
            inc, "annotate_log_entry", now, agent=self._ref("users", actor["id"]),
            channel={"type": "note", "summary": content}, names=[actor["name"]],
        )
        inc["updated_at"] = iso(now)
        return public(note)

    @_op(write=True)
    def add_responder_request(self, incident_id: str, body: Any, from_email: str | None = None) -> dict[str, Any]:
        """POST /incidents/{id}/responder_requests: requester, message, user or policy targets.

        Each targeted user (a policy's level-1 on-calls) is notified: a notify_log_entry."""
        inc = self._obj("incidents", incident_id)
        if from_email:
            self._actor(from_email)
        if not isinstance(body, dict):
            raise invalid("body must be an object with requester_id, message, responder_request_targets")
        requester_id = body.get("requester_id")
        if not isinstance(requester_id, str) or requester_id not in self._objects["users"]:
            raise invalid(f"requester_id {requester_id!r} is not a user in this account")
        message = body.get("message")
        if not isinstance(message, str) or not message.strip():
            raise invalid("message is required")
        targets = body.get("responder_request_targets")
        if not isinstance(targets, list) or not targets:
            raise invalid("responder_request_targets must be a non-empty list")
        if inc["status"] == "resolved":
            raise invalid("Incident Already Resolved")
        now = self.now()
        requester = self._ref("users", requester_id)
        out_targets = []
        inputs = None
        for i, t in enumerate(targets):
            ref = t.get("responder_request_target") if isinstance(t, dict) else None
            field = f"responder_request_targets[{i}].responder_request_target"
            if not isinstance(ref, dict):
                raise invalid(f"{field} must be a reference to a user or escalation policy")
            if ref.get("type") in ("user_reference", "user"):
                uid = self._resolve_ref(ref, "users", field, allow_object=True)
                users, target_ref, via = [uid], self._ref("users", uid), []
            else:
                pid = self._resolve_ref(ref, "escalation_policies", field, allow_object=True)
                inputs = inputs or self._policy_inputs()
                policy = EscalationPolicy.model_validate(self._objects["escalation_policies"][pid])
                users = oncall.level_users_at(policy, inputs, 1, now)
                target_ref, via = self._ref("escalation_policies", pid), [policy.name]
            responders = []
            for uid in users:
                responders.append({
                    "state": "pending", "user": self._ref("users", uid),
                    "incident": self._ref("incidents", incident_id), "updated_at": iso(now),
                    "message": message, "requester": requester, "requested_at": iso(now),
                    "escalation_policy_requests": via,
                })
                self._notify(inc, self._ref("users", uid), now)
            out_targets.append({
                "responder_request_target": {
                    "type": target_ref["type"], "id": target_ref["id"], "summary": target_ref["summary"],
                    "incident_responders": responders,
                }
            })
            inc.setdefault("incident_responders", []).extend(responders)
        request = {
            "id": self._new_id("incidents", "R", 14),
            "incident": self._ref("incidents", incident_id),
            "requester": requester,
            "requested_at": iso(now),
            "message": message,
            "responder_request_targets": out_targets,
        }
        inc.setdefault("responder_requests", []).append(request)
        inc["updated_at"] = iso(now)
        return copy.deepcopy(request)

    @_op(write=False)
    def alerts(self, incident_id: str, *, statuses: Iterable[str] = (), alert_key: str | None = None):
        self._obj("incidents", incident_id)
        st = set(statuses)
        return [
            public(a)
            for a in self._alerts.get(incident_id, [])
            if (not st or a.get("status") in st) and (alert_key is None or a.get("alert_key") == alert_key)
        ]

    @_op(write=False)
    def log_entries(
        self,
        incident_id: str | None = None,
        *,
        since: str | None = None,
        until: str | None = None,
        is_overview: bool = False,
        team_ids: Iterable[str] = (),
    ) -> ShownEntries:
        """Log entries, newest first, optionally of one incident and within [since, until)."""
        if incident_id is not None:
            self._obj("incidents", incident_id)
            entries = self._log_by_incident.get(incident_id, [])
        else:
            entries = self._log
        start = iso(parse_time(since, "since")) if since else None
        end = iso(parse_time(until, "until")) if until else None
        if start and end and end < start:
            raise invalid("until must not be before since")
        teams = frozenset(team_ids)
        # The log only grows, so its length says whether an answer computed before still holds:
        # the pages of one listing filter and sort the log once, not once a page.
        key = (incident_id, start, end, is_overview, teams, len(self._log))
        if self._log_view_key != key:
            out = [
                e
                for e in entries
                if (start is None or e["created_at"] >= start)
                and (end is None or e["created_at"] < end)
                and (not is_overview or e["type"] in OVERVIEW_TYPES)
                and (not teams or teams & {t["id"] for t in e.get("teams", [])})
            ]
            out.sort(key=lambda e: (e["created_at"], e["_seq"]), reverse=True)
            self._log_view_key, self._log_view = key, out
        return ShownEntries(self._log_view, self._log_json)

    @_op(write=False)
    def log_entry(self, entry_id: str) -> dict[str, Any]:
        """GET /log_entries/{id}."""
        entry = self._log_ids.get(entry_id)
        if entry is None:
            raise not_found(f"Log entry {entry_id} not found")
        return public(entry)

    # -- requests bookkeeping (for tests) -----------------------------------------------------

    def count_request(self, token: str | None, route: str) -> None:
        with self._lock:
            self.request_counts[(token, route)] += 1

    def request_count(self, token: str | None = None, route: str | None = None) -> int:
        """How many API requests were made, optionally by one token and/or to one route
        (route as `"GET /incidents/{id}"`)."""
        with self._lock:
            return sum(
                n for (t, r), n in self.request_counts.items()
                if (token is None or t == token) and (route is None or r == route)
            )

    # -- setup helpers for tests ---------------------------------------------------------

    @_op(write=True)
    def add(self, collection: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Insert one object after the same checks a snapshot gets (shape, references)."""
        if collection not in self._objects:
            raise ValueError(f"add() supports {sorted(self._objects)}, not {collection!r}")
        obj = copy.deepcopy(obj)
        obj.setdefault("type", KINDS[collection].singular)
        obj.setdefault("id", self._new_id(collection))
        name = obj.get("name") or obj.get("title")
        if name is not None:
            obj.setdefault("summary", name)
        obj.setdefault("self", f"{API_URL}/{collection}/{obj['id']}")
        obj.setdefault("html_url", f"{self.web}/{KINDS[collection].web_path}/{obj['id']}")
        if obj["id"] in self._objects[collection]:
            raise ValueError(f"{collection} already has id {obj['id']!r}")
        snap = {c: list(objs.values()) for c, objs in self._objects.items()}
        snap[collection] = [*snap[collection], obj]
        validate(snap, f"add({collection!r})")  # raises SnapshotError naming the problem
        if collection == "users" and "teams" not in obj:
            self._derived_teams.add(obj["id"])
        self._objects[collection][obj["id"]] = obj
        complete(self._objects, self.web)  # fills only what is missing: the new object's shape
        refresh_user_teams(self._objects, self._derived_teams)
        return public(obj)

    def add_user(self, name: str | None = None, email: str | None = None, **fields: Any) -> dict[str, Any]:
        with self._lock:
            n = len(self._objects["users"]) + 1
            name = name or f"Sandbox User {n}"
            email = email or f"user{n}.{self._new_id('users').lower()}@sandbox.example"
            return self.add("users", {"name": name, "email": email, "time_zone": "UTC", "role": "user", **fields})

    def add_team(self, name: str, **fields: Any) -> dict[str, Any]:
        return self.add("teams", {"name": name, **fields})

    def add_schedule(self, name: str, layers: builtins.list[dict[str, Any]], time_zone: str = "UTC", **fields: Any):
        """layers: ScheduleLayer dicts; `users` may be plain user ids."""
        norm = []
        for i, layer in enumerate(layers):
            layer = dict(layer)
            layer["users"] = [
                {"user": {"id": u, "type": "user_reference"}} if isinstance(u, str) else u
                for u in layer["users"]
            ]
            layer.setdefault("id", f"L{i + 1}")
            layer.setdefault("name", f"Layer {i + 1}")
            layer.setdefault("restrictions", [])
            norm.append(layer)
        return self.add("schedules", {"name": name, "time_zone": time_zone, "schedule_layers": norm, **fields})

    def add_escalation_policy(self, name: str, rules: builtins.list[builtins.list[str]], num_loops: int = 0,
                              delay_minutes: int = 30, **fields: Any) -> dict[str, Any]:
        """rules: one list of target ids per level; ids starting with the id of a schedule
        become schedule references, the rest user references."""
        with self._lock:
            def target(tid: str) -> dict[str, str]:
                kind = "schedule" if tid in self._objects["schedules"] else "user"
                return {"id": tid, "type": f"{kind}_reference"}

            return self.add("escalation_policies", {
                "name": name, "num_loops": num_loops,
                "escalation_rules": [
                    {"escalation_delay_in_minutes": delay_minutes, "targets": [target(t) for t in level]}
                    for level in rules
                ],
                **fields,
            })

    def add_service(self, name: str, escalation_policy_id: str | None = None, **fields: Any) -> dict[str, Any]:
        with self._lock:
            pid = escalation_policy_id or next(iter(self._objects["escalation_policies"]))
            return self.add("services", {
                "name": name, "status": "active",
                "escalation_policy": {"id": pid, "type": "escalation_policy_reference"},
                "incident_urgency_rule": {"type": "constant", "urgency": "high"},
                "teams": [], **fields,
            })

    @_op(write=True)
    def add_incident(
        self,
        service_id: str,
        title: str,
        created_at: datetime | None = None,
        status: str = "triggered",
        *,
        urgency: str = "high",
        incident_key: str | None = None,
        assignee_ids: Sequence[str] = (),
        priority_id: str | None = None,
        log: bool = True,
    ) -> dict[str, Any]:
        """Create an incident directly (no From needed), at `created_at` (default now).
        `log=False` skips log entries, for fast bulk setup."""
        service = self._obj("services", service_id)
        at = created_at or self.now()
        if at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        return public(self._insert_incident(
            service_id, title, at, actor=None, urgency=urgency, incident_key=incident_key,
            priority_id=priority_id, assignees=list(assignee_ids),
            policy_id=service["escalation_policy"]["id"], status=status, log=log,
        ))

    @_op(write=True)
    def add_log_entries(
        self,
        incident_id: str,
        count: int,
        start: datetime,
        step_s: float = 1.0,
        type: str = "annotate_log_entry",  # noqa: A002 - the API's own field name
    ) -> None:
        """Append `count` log entries to an incident, `step_s` seconds apart from `start` (bulk)."""
        inc = self._obj("incidents", incident_id)
        incident_ref = self._ref("incidents", incident_id)
        for n in range(count):
            eid = f"RB{incident_id}{len(self._log):010d}"
            at = start + timedelta(seconds=n * step_s)
            self._append_log({
                "id": eid,
                "type": type,
                "summary": f"Bulk entry {n}",
                "self": f"{API_URL}/log_entries/{eid}?incident_id={incident_id}",
                "html_url": None,
                "created_at": iso(at),
                "channel": {"type": "note", "summary": f"bulk {n}"} if type == "annotate_log_entry" else {"type": "api"},
                "service": inc["service"],
                "incident": incident_ref,
            })
