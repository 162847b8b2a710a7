"""Account snapshots: JSON objects of collection name -> list of API objects.

Loading refuses anything the sandbox could not serve faithfully (not JSON,
wrong shapes, duplicate ids, references to objects that do not exist) with
a SnapshotError naming the file, collection, index and id, so a broken or
hostile file fails at start instead of answering nonsense later.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from agent.pagerduty.models import adapter_for

from .errors import SnapshotError
from .kinds import BY_REFERENCE_TYPE, KINDS, LOAD_ORDER, UNTYPED

Snapshot = dict[str, list[dict[str, Any]]]


def read(source: str | os.PathLike | dict | list) -> tuple[Snapshot, str]:
    """Parse and validate a snapshot from a path or an already-parsed dict."""
    if not isinstance(source, (str, os.PathLike)):
        return validate(source, "<snapshot>"), "<snapshot>"  # parsed data: the top level is checked
    name = str(source)
    try:
        text = Path(source).read_text(encoding="utf-8")
    except OSError as e:
        raise SnapshotError(f"{name}: cannot read snapshot: {e.strerror or e}") from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{name}: not valid JSON: the file is not UTF-8 text") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise SnapshotError(f"{name}: not valid JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    return validate(data, name), name


def validate(data: Any, name: str) -> Snapshot:
    """Check shapes with the API models, ids, and every reference; return a copy."""
    if not isinstance(data, dict):
        raise SnapshotError(
            f"{name}: the top level must be a JSON object of collection -> list, not {_json_type(data)}"
        )
    unknown = sorted(set(data) - set(KINDS))
    if unknown:
        raise SnapshotError(
            f"{name}: unknown collection(s) {', '.join(map(repr, unknown))}; "
            f"known: {', '.join(LOAD_ORDER)}"
        )
    out: Snapshot = {}
    ids: dict[str, set[str]] = {}
    for collection in LOAD_ORDER:
        items = data.get(collection, [])
        if not isinstance(items, list):
            raise SnapshotError(
                f"{name}: collection {collection!r} must be a list, not {_json_type(items)}"
            )
        kind = KINDS[collection]
        seen: set[str] = set()
        for index, obj in enumerate(items):
            where = f"{name}: {collection}[{index}]"
            if not isinstance(obj, dict):
                raise SnapshotError(f"{where}: must be an object, not {_json_type(obj)}")
            oid = obj.get("id")
            if not isinstance(oid, str) or not oid:
                raise SnapshotError(f"{where}: missing 'id' (a non-empty string)")
            where = f"{where} (id {oid!r})"
            if collection not in UNTYPED:
                if "type" not in obj:
                    raise SnapshotError(f"{where}: missing 'type'")
                if not kind.type_ok(obj["type"]):
                    expected = f"'*{kind.type_suffix}'" if kind.type_suffix else repr(kind.singular)
                    raise SnapshotError(f"{where}: 'type' is {obj['type']!r}, expected {expected}")
            if oid in seen:
                raise SnapshotError(f"{where}: duplicate id {oid!r} in {collection}")
            seen.add(oid)
            try:
                adapter_for(kind.model).validate_python(obj)  # a model, or `LogEntry`
            except ValidationError as e:
                first = e.errors()[0]
                loc = ".".join(str(p) for p in first["loc"]) or "(object)"
                raise SnapshotError(f"{where}: field {loc}: {first['msg']}") from None
        ids[collection] = seen
        out[collection] = [dict(o) for o in items]
    for collection in LOAD_ORDER:
        for index, obj in enumerate(out[collection]):
            _check_refs(name, collection, index, obj, ids)
    _check_extra(name, out)
    return out


def _check_refs(name: str, collection: str, index: int, obj: dict, ids: dict[str, set[str]]):
    for path, expected in KINDS[collection].refs.items():
        for where, ref in _walk(obj, path.split(".")):
            if ref is None:
                continue
            at = f"{name}: {collection}[{index}] (id {obj['id']!r}) {where}"
            if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
                raise SnapshotError(f"{at}: must be a reference {{\"id\", \"type\"}}, got {ref!r}")
            target = BY_REFERENCE_TYPE.get(str(ref.get("type", "")).removesuffix("_reference") + "_reference")
            if expected is not None and target != expected:
                want = KINDS[expected].singular + "_reference"
                raise SnapshotError(f"{at}: type is {ref.get('type')!r}, expected {want!r}")
            if target is None:
                continue  # e.g. integration_reference: a kind the sandbox does not hold
            if ref["id"] not in ids[target]:
                raise SnapshotError(
                    f"{at}: refers to {KINDS[target].singular} {ref['id']!r}, "
                    f"which is not in {target}"
                )


def _walk(obj: Any, steps: list[str], where: str = ""):
    """Yield (path, value) for a path like 'escalation_rules[].targets[]'."""
    if not steps:
        yield where, obj
        return
    step, rest = steps[0], steps[1:]
    many = step.endswith("[]")
    key = step.removesuffix("[]")
    if not isinstance(obj, dict) or key not in obj:
        return
    value = obj[key]
    here = f"{where}.{key}" if where else key
    if many:
        if not isinstance(value, list):
            yield here, value  # reported as "must be a reference"
            return
        for i, item in enumerate(value):
            yield from _walk(item, rest, f"{here}[{i}]")
    else:
        yield from _walk(value, rest, here)


def _check_extra(name: str, snap: Snapshot) -> None:
    """Rules the models cannot express: unique emails, known time zones, sane layers."""
    emails: dict[str, str] = {}
    for i, user in enumerate(snap["users"]):
        email = str(user["email"]).lower()
        if email in emails:
            raise SnapshotError(
                f"{name}: users[{i}] (id {user['id']!r}): email {user['email']!r} "
                f"is already used by {emails[email]!r}"
            )
        emails[email] = user["id"]
    for i, sched in enumerate(snap["schedules"]):
        where = f"{name}: schedules[{i}] (id {sched['id']!r})"
        try:
            ZoneInfo(sched.get("time_zone") or "UTC")
        except Exception:
            raise SnapshotError(f"{where}: unknown time_zone {sched.get('time_zone')!r}") from None
        for j, layer in enumerate(sched.get("schedule_layers", [])):
            if layer["rotation_turn_length_seconds"] <= 0:
                raise SnapshotError(
                    f"{where} schedule_layers[{j}]: rotation_turn_length_seconds must be positive"
                )


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def write_atomic(path: str | os.PathLike, data: Snapshot) -> None:
    """Write to a temporary file beside `path`, then os.replace: readers never see half a file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, separators=(",", ":"))
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
