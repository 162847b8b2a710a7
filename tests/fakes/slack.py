"""A local Slack: the Web API over real HTTP, and a human who clicks in it.

Shape borrowed from goalert's mockslack: one `SlackState` behind one lock,
with typed operations that apply Slack's rules and raise its error codes
(`invalid_auth`, `channel_not_found`, `message_not_found`, `user_not_found`,
`no_such_subteam`, `expired_trigger_id`, `invalid_blocks`); thin HTTP routes
that only decode, check the bot token and encode; a setup API (`new_user`,
`new_group`, `new_channel`); every call recorded; `GET /debug/state` dumps it.

The human side (`FakeSlack.click`, `choose`, `search`, `submit_view`) builds the exact
interactive payload Slack sends (`search` is the `block_suggestion` request a
searchable menu makes as the person types; `choose` on such a menu picks from
what the app answered) (form-encoded `payload=` JSON), signs it as
Slack does (`X-Slack-Signature: v0=…`, `X-Slack-Request-Timestamp`), and
POSTs it to the app under test. A person can only click a button that is in
a message, and only submit a modal the app opened for them.

Socket Mode too: `apps.connections.open` (with the app token) hands out a
websocket on the same server, which says hello, and `deliver_via_socket()`
makes the human helpers send their payloads as Socket Mode envelopes and wait
for the app's acknowledgement instead of POSTing them.

What it does not do: rate limits, scopes, threads, files, Events API events.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import socket
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from slack_sdk.signature import SignatureVerifier
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

TRIGGER_TTL_S = 3.0  # Slack's trigger ids expire after 3 seconds and work once


class SlackError(Exception):
    def __init__(self, code: str, detail: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.detail = detail or []


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    ok: bool
    error: str | None
    at: float


@dataclass
class User:
    id: str
    name: str
    email: str | None
    real_name: str


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    user: str
    history: list[dict[str, Any]] = field(default_factory=list)
    """Earlier versions (text, blocks), oldest first, one per chat.update."""


@dataclass
class Ephemeral:
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    ts: str


@dataclass
class OpenedView:
    id: str
    user: str
    view: dict[str, Any]
    open: bool = True
    errors: dict[str, str] = field(default_factory=dict)
    """What the app's last `response_action: errors` showed on the form, by block id."""


def all_text(blocks: list[dict[str, Any]] | None, text: str = "") -> str:
    """Every string in a message or view, for assertions about what a human sees."""
    out = [text]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
        elif isinstance(node, str):
            out.append(node)

    walk(blocks or [])
    return "\n".join(out)


class SlackState:
    """One workspace; every operation takes the lock."""

    def __init__(self, bot_token: str, *, app_token: str | None = None, team_id: str = "T0FAKE",
                 bot_user_id: str = "U0BOT", app_id: str = "A0FAKE") -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket_acks: dict[str, dict[str, Any]] = {}
        self.sockets: list[tuple[WebSocket, asyncio.AbstractEventLoop]] = []
        self.team_id, self.bot_user_id, self.app_id = team_id, bot_user_id, app_id
        self.lock = threading.RLock()
        self.users: dict[str, User] = {}
        self.groups: dict[str, list[str]] = {}
        self.channels: dict[str, str] = {}
        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.views: list[OpenedView] = []
        self.calls: list[Call] = []
        self.triggers: dict[str, tuple[str, float]] = {}
        self.responses: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self._clock = 1_700_000_000

    def next_id(self) -> int:
        return next(self._seq)

    # -- setup

    def new_user(self, id: str, name: str, email: str | None = None) -> User:
        with self.lock:
            user = User(id=id, name=name.split()[0].lower(), email=email, real_name=name)
            self.users[id] = user
            return user

    def new_group(self, id: str, members: list[str]) -> None:
        with self.lock:
            self.groups[id] = list(members)

    def new_channel(self, id: str, name: str) -> None:
        with self.lock:
            self.channels[id] = name

    # -- typed operations (the Web API methods)

    def _ts(self) -> str:
        return f"{self._clock + next(self._seq)}.{next(self._seq):06d}"

    def auth_test(self) -> dict[str, Any]:
        return {"url": "https://fake.slack.test/", "team": "Fake", "user": "incident-agent",
                "team_id": self.team_id, "user_id": self.bot_user_id, "bot_id": "B0FAKE",
                "is_enterprise_install": False}

    def post_message(self, channel: str, text: str | None, blocks: Any) -> Message:
        with self.lock:
            if channel not in self.channels:
                raise SlackError("channel_not_found")
            blocks = check_blocks(blocks, surface="message")
            if not text and not blocks:
                raise SlackError("no_text")
            msg = Message(channel=channel, ts=self._ts(), text=text or "", blocks=blocks, user=self.bot_user_id)
            self.messages.append(msg)
            return msg

    def update_message(self, channel: str, ts: str, text: str | None, blocks: Any) -> Message:
        with self.lock:
            msg = self.message(channel, ts)
            if msg.user != self.bot_user_id:
                raise SlackError("cant_update_message")
            blocks = check_blocks(blocks, surface="message")
            msg.history.append({"text": msg.text, "blocks": msg.blocks})
            msg.text, msg.blocks = text or "", blocks
            return msg

    def post_ephemeral(self, channel: str, user: str, text: str | None, blocks: Any) -> Ephemeral:
        with self.lock:
            if channel not in self.channels:
                raise SlackError("channel_not_found")
            if user not in self.users:
                raise SlackError("user_not_found")
            eph = Ephemeral(channel, user, text or "", check_blocks(blocks, surface="message"), self._ts())
            self.ephemerals.append(eph)
            return eph

    def issue_trigger(self, user: str) -> str:
        with self.lock:
            trigger = f"{next(self._seq)}.{self.team_id}.fake{next(self._seq)}"
            self.triggers[trigger] = (user, time.monotonic())
            return trigger

    def open_view(self, trigger_id: str, view: Any) -> OpenedView:
        with self.lock:
            issued = self.triggers.pop(trigger_id, None)
            if issued is None:
                raise SlackError("invalid_trigger_id")
            user, at = issued
            if time.monotonic() - at > TRIGGER_TTL_S:
                raise SlackError("expired_trigger_id")
            view = check_view(view)
            opened = OpenedView(id=f"V{next(self._seq):08d}", user=user, view=view)
            self.views.append(opened)
            return opened

    def user_info(self, user: str) -> dict[str, Any]:
        with self.lock:
            u = self.users.get(user)
            if u is None:
                raise SlackError("user_not_found")
            profile = {"real_name": u.real_name, "display_name": u.name}
            if u.email:
                profile["email"] = u.email
            return {"id": u.id, "team_id": self.team_id, "name": u.name, "real_name": u.real_name,
                    "is_bot": False, "deleted": False, "profile": profile}

    def group_members(self, group: str) -> list[str]:
        with self.lock:
            if group not in self.groups:
                raise SlackError("no_such_subteam")
            return list(self.groups[group])

    # -- reads for tests

    def message(self, channel: str, ts: str) -> Message:
        with self.lock:
            found = next((m for m in self.messages if m.channel == channel and m.ts == ts), None)
            if found is None:
                raise SlackError("message_not_found")
            return found

    def calls_to(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def ephemerals_for(self, user: str) -> list[Ephemeral]:
        with self.lock:
            return [e for e in self.ephemerals if e.user == user]

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "users": [u.__dict__ for u in self.users.values()],
                "groups": self.groups,
                "channels": self.channels,
                "messages": [m.__dict__ for m in self.messages],
                "ephemerals": [e.__dict__ for e in self.ephemerals],
                "views": [v.__dict__ for v in self.views],
                "calls": [c.__dict__ for c in self.calls],
            }


# -- Block Kit limits Slack enforces (a subset; enough to catch an app that overflows them)

LIMITS = {"message": 50, "modal": 100}


def _text_len(obj: Any) -> int:
    return len(obj.get("text", "")) if isinstance(obj, dict) else len(str(obj or ""))


def check_blocks(blocks: Any, *, surface: str) -> list[dict[str, Any]]:
    if blocks is None:
        return []
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    errors: list[str] = []
    if len(blocks) > LIMITS[surface]:
        errors.append(f"more than {LIMITS[surface]} blocks")
    block_ids: set[str] = set()
    for i, b in enumerate(blocks):
        kind = b.get("type")
        bid = b.get("block_id")
        if bid is not None:
            if bid in block_ids or len(bid) > 255:
                errors.append(f"[{i}] block_id {bid!r} duplicate or too long")
            block_ids.add(bid)
        if kind == "section":
            if b.get("text") and _text_len(b["text"]) > 3000:
                errors.append(f"[{i}] section text over 3000")
            if len(b.get("fields") or []) > 10 or any(_text_len(f) > 2000 for f in b.get("fields") or []):
                errors.append(f"[{i}] section fields")
            if not b.get("text") and not b.get("fields"):
                errors.append(f"[{i}] section without text")
        elif kind == "header":
            if _text_len(b.get("text")) > 150 or (b.get("text") or {}).get("type") != "plain_text":
                errors.append(f"[{i}] header")
        elif kind == "context":
            if not 1 <= len(b.get("elements") or []) <= 10:
                errors.append(f"[{i}] context elements")
            if any(_text_len(e) > 3000 for e in b.get("elements") or []):
                errors.append(f"[{i}] context text over 3000")
        elif kind == "actions":
            elements = b.get("elements") or []
            if not 1 <= len(elements) <= 25:
                errors.append(f"[{i}] actions elements")
            errors += [f"[{i}] {e}" for el in elements for e in _element_errors(el)]
        elif kind == "input":
            if surface != "modal":
                errors.append(f"[{i}] input block outside a modal")
            errors += [f"[{i}] {e}" for e in _element_errors(b.get("element") or {})]
        elif kind not in ("divider",):
            errors.append(f"[{i}] block type {kind!r} not supported by the fake")
    action_ids = [el.get("action_id") for b in blocks for el in b.get("elements") or [] if el.get("action_id")]
    if len(action_ids) != len(set(action_ids)):
        errors.append("duplicate action_id in one message")
    if errors:
        raise SlackError("invalid_blocks", errors)
    return blocks


def _element_errors(el: dict[str, Any]) -> list[str]:
    kind = el.get("type")
    errors = []
    if len(el.get("action_id") or "") > 255:
        errors.append("action_id too long")
    if kind == "button":
        if _text_len(el.get("text")) > 75 or len(el.get("value") or "") > 2000:
            errors.append("button text/value too long")
    elif kind in ("static_select", "multi_static_select"):
        options = el.get("options") or []
        if not 1 <= len(options) <= 100:
            errors.append(f"{kind} needs 1..100 options")
        errors += _option_errors(options)
        if el.get("initial_option") and el["initial_option"] not in options:
            errors.append("initial_option is not one of the options")
        if any(o not in options for o in el.get("initial_options") or []):
            errors.append("initial_options are not all among the options")
    elif kind in ("external_select", "multi_external_select"):
        if "options" in el:
            errors.append(f"{kind} takes no options (the app serves them)")
        errors += _option_errors([el["initial_option"]] if el.get("initial_option") else [])
        errors += _option_errors(el.get("initial_options") or [])
    elif kind == "plain_text_input":
        cap = el.get("max_length") or 3000
        if len(el.get("initial_value") or "") > cap or cap > 3000:
            errors.append("plain_text_input initial_value over max_length")
    else:
        errors.append(f"element type {kind!r} not supported by the fake")
    return errors


def _option_errors(options: list[dict[str, Any]]) -> list[str]:
    errors = []
    for o in options:
        if _text_len(o.get("text")) > 75 or len(o.get("value") or "") > 150:
            errors.append(f"option {o.get('value')!r} too long")
        if o.get("description") and _text_len(o["description"]) > 75:
            errors.append(f"option {o.get('value')!r} description too long")
    return errors


def check_options(answer: Any) -> list[dict[str, Any]]:
    """An app's answer to a `block_suggestion`: `{"options": [...]}`, at most 100, each valid."""
    if not isinstance(answer, dict) or not isinstance(answer.get("options"), list):
        raise SlackError("invalid_options", [f"not an options answer: {answer!r}"])
    options = answer["options"]
    errors = _option_errors(options) + (["more than 100 options"] if len(options) > 100 else [])
    if errors:
        raise SlackError("invalid_options", errors)
    return options


def check_view(view: Any) -> dict[str, Any]:
    if isinstance(view, str):
        view = json.loads(view)
    view = copy.deepcopy(view)
    errors = []
    if view.get("type") != "modal":
        errors.append("only modals")
    for key in ("title", "submit", "close"):
        if view.get(key) and _text_len(view[key]) > 24:
            errors.append(f"{key} over 24 characters")
    if len(view.get("private_metadata") or "") > 3000:
        errors.append("private_metadata over 3000")
    has_input = any(b.get("type") == "input" for b in view.get("blocks") or [])
    if has_input and not view.get("submit"):
        errors.append("a modal with inputs needs submit")
    if errors:
        raise SlackError("invalid_arguments", errors)
    check_blocks(view.get("blocks"), surface="modal")
    return view


# -- HTTP: thin routes over the state


def _ok(**data: Any) -> dict[str, Any]:
    return {"ok": True, **data}


def _msg_json(m: Message) -> dict[str, Any]:
    return {"type": "message", "user": m.user, "bot_id": "B0FAKE", "ts": m.ts, "text": m.text,
            "blocks": m.blocks}


METHODS: dict[str, Callable[[SlackState, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": lambda s, a: _ok(**s.auth_test()),
    "chat.postMessage": lambda s, a: (lambda m: _ok(channel=m.channel, ts=m.ts, message=_msg_json(m)))(
        s.post_message(a.get("channel", ""), a.get("text"), a.get("blocks"))),
    "chat.update": lambda s, a: (lambda m: _ok(channel=m.channel, ts=m.ts, text=m.text))(
        s.update_message(a.get("channel", ""), a.get("ts", ""), a.get("text"), a.get("blocks"))),
    "chat.postEphemeral": lambda s, a: _ok(message_ts=s.post_ephemeral(
        a.get("channel", ""), a.get("user", ""), a.get("text"), a.get("blocks")).ts),
    "views.open": lambda s, a: (lambda v: _ok(view={**v.view, "id": v.id, "state": {"values": {}}}))(
        s.open_view(a.get("trigger_id", ""), a.get("view"))),
    "users.info": lambda s, a: _ok(user=s.user_info(a.get("user", ""))),
    "usergroups.users.list": lambda s, a: _ok(users=s.group_members(a.get("usergroup", ""))),
}


def create_api(state: SlackState) -> Starlette:
    async def api(request: Request) -> JSONResponse:
        method = request.path_params["method"]
        args: dict[str, Any] = dict(request.query_params)
        raw = await request.body()
        ctype = request.headers.get("content-type", "")
        if raw and "json" in ctype:
            args.update(json.loads(raw))
        elif raw:
            args.update(dict(urllib.parse.parse_qsl(raw.decode())))
        auth = request.headers.get("authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
        recorded = {k: v for k, v in args.items() if k != "token"}
        if method == "apps.connections.open":
            if not token or token != state.app_token:
                result: dict[str, Any] = {"ok": False, "error": "invalid_auth"}
            else:
                result = {"ok": True, "url": f"ws://{request.url.netloc}/socket/{state.next_id()}"}
        elif method not in METHODS:
            result = {"ok": False, "error": "unknown_method"}
        elif not token:
            result = {"ok": False, "error": "not_authed"}
        elif token != state.bot_token:
            result = {"ok": False, "error": "invalid_auth"}
        else:
            try:
                result = METHODS[method](state, args)
            except SlackError as exc:
                result = {"ok": False, "error": exc.code}
                if exc.detail:
                    result["response_metadata"] = {"messages": exc.detail}
        with state.lock:
            state.calls.append(Call(method, recorded, result["ok"], result.get("error"), time.time()))
        return JSONResponse(result)

    async def response_url(request: Request) -> JSONResponse:
        with state.lock:
            state.responses.append(json.loads(await request.body() or b"{}"))
        return JSONResponse({"ok": True})

    async def socket(ws: WebSocket) -> None:
        await ws.accept()
        entry = (ws, asyncio.get_running_loop())
        with state.lock:
            state.sockets.append(entry)
        await ws.send_json({"type": "hello", "num_connections": 1,
                            "connection_info": {"app_id": state.app_id}})
        try:
            while True:
                ack = await ws.receive_json()
                with state.lock:
                    state.socket_acks[str(ack.get("envelope_id"))] = ack
        except WebSocketDisconnect:
            pass
        finally:
            with state.lock:
                state.sockets.remove(entry)

    async def debug(request: Request) -> JSONResponse:
        return JSONResponse(json.loads(json.dumps(state.dump(), default=str)))

    return Starlette(routes=[
        Route("/api/{method}", api, methods=["GET", "POST"]),
        Route("/hooks/response/{id}", response_url, methods=["POST"]),
        Route("/debug/state", debug, methods=["GET"]),
        WebSocketRoute("/socket/{ticket}", socket),
    ])


# -- the running fake, and a human acting in it


class FakeSlack:
    """A running fake Slack (`base_url` is the Web API root) and helpers to act as a person."""

    def __init__(self, state: SlackState, root: str) -> None:
        self.state = state
        self.root = root
        self.base_url = f"{root}/api/"
        self.app: httpx.AsyncClient | None = None
        self.signing_secret: str | None = None
        self.events_path = "/slack/events"
        self.via_socket = False
        self.searched: dict[tuple[str, str], list[dict[str, Any]]] = {}

    def deliver_to(self, app: httpx.AsyncClient, signing_secret: str, path: str = "/slack/events") -> None:
        """Where interactive payloads go: the app under test, and the secret Slack signs with."""
        self.app, self.signing_secret, self.events_path = app, signing_secret, path
        self.via_socket = False

    def deliver_via_socket(self) -> None:
        """Send interactive payloads over the app's Socket Mode connection instead."""
        self.via_socket = True

    async def send_over_socket(self, payload: dict[str, Any], timeout_s: float = 10.0) -> dict[str, Any]:
        """One `interactive` envelope to the connected app; returns its acknowledgement."""
        deadline = time.monotonic() + timeout_s
        while not self.state.sockets:
            if time.monotonic() > deadline:
                raise TimeoutError("no app is connected over Socket Mode")
            await asyncio.sleep(0.02)
        ws, loop = self.state.sockets[-1]
        envelope_id = f"env-{self.state.next_id()}"
        envelope = {"envelope_id": envelope_id, "type": "interactive", "accepts_response_payload": True,
                    "payload": payload, "retry_attempt": 0, "retry_reason": ""}
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(ws.send_json(envelope), loop))
        return await self.wait_for(lambda: self.state.socket_acks.get(envelope_id), timeout_s)

    # -- finding what a person sees

    def find_element(self, action_id: str, value: str | None = None) -> tuple[Message, dict, dict]:
        """The newest message holding that element (and value): (message, block, element)."""
        with self.state.lock:
            for msg in reversed(self.state.messages):
                for block in msg.blocks:
                    for el in block.get("elements") or []:
                        if el.get("action_id") == action_id and (value is None or el.get("value") == value):
                            return msg, block, el
        raise LookupError(f"no message shows an element {action_id!r} (value {value!r})")

    def open_view_for(self, user: str) -> OpenedView:
        with self.state.lock:
            found = next((v for v in reversed(self.state.views) if v.user == user and v.open), None)
        if found is None:
            raise LookupError(f"no modal is open for {user}")
        return found

    # -- acting

    def _person(self, user: str) -> dict[str, Any]:
        u = self.state.users[user]
        return {"id": u.id, "username": u.name, "name": u.name, "team_id": self.state.team_id}

    def signed(self, payload: dict[str, Any], *, timestamp: int | None = None,
               secret: str | None = None) -> tuple[bytes, dict[str, str]]:
        body = urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.signing_secret or "").generate_signature(
            timestamp=ts, body=body)
        return body, {"content-type": "application/x-www-form-urlencoded",
                      "x-slack-request-timestamp": ts, "x-slack-signature": signature or ""}

    async def send(self, payload: dict[str, Any], *, to: httpx.AsyncClient | None = None,
                   **options: Any) -> httpx.Response:
        """POST a signed payload to the app (`to`: another server instance than `deliver_to`'s)."""
        if self.via_socket and to is None:
            await self.send_over_socket(payload)
            return httpx.Response(200)
        target = to or self.app
        if target is None:
            raise RuntimeError("call deliver_to(app_client, signing_secret) first")
        body, headers = self.signed(payload, **options)
        return await target.post(self.events_path, content=body, headers=headers)

    def _block_action(self, user: str, msg: Message, action: dict[str, Any]) -> dict[str, Any]:
        channel = msg.channel
        return {
            "type": "block_actions",
            "user": self._person(user),
            "api_app_id": self.state.app_id,
            "token": "legacy-verification-token-unused",
            "container": {"type": "message", "message_ts": msg.ts, "channel_id": channel,
                          "is_ephemeral": False},
            "trigger_id": self.state.issue_trigger(user),
            "team": {"id": self.state.team_id, "domain": "fake"},
            "enterprise": None,
            "is_enterprise_install": False,
            "channel": {"id": channel, "name": self.state.channels.get(channel, channel)},
            "message": _msg_json(msg),
            "state": {"values": {}},
            "response_url": f"{self.root}/hooks/response/{msg.ts}",
            "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
        }

    async def click(self, action_id: str, value: str | None = None, user: str = "", **options: Any
                    ) -> httpx.Response:
        """`user` clicks the button `action_id` (with `value`, if given) on the newest message showing it."""
        msg, block, el = self.find_element(action_id, value)
        action = {"type": "button", "action_id": action_id, "block_id": block.get("block_id", ""),
                  "text": el.get("text"), "value": el.get("value")}
        if el.get("style"):
            action["style"] = el["style"]
        return await self.send(self._block_action(user, msg, action), **options)

    async def search(self, action_id: str, query: str = "", user: str = "") -> list[dict[str, Any]]:
        """`user` types `query` into the searchable menu `action_id`; returns the options the app served.

        The `block_suggestion` request Slack sends for an external select in a
        message (or, with a modal open for `user` holding that menu, in the modal)."""
        with self.state.lock:
            opened = next((v for v in reversed(self.state.views) if v.user == user and v.open
                           and any((b.get("element") or {}).get("action_id") == action_id
                                   for b in v.view.get("blocks") or [])), None)
        payload: dict[str, Any] = {
            "type": "block_suggestion", "user": self._person(user), "team": {"id": self.state.team_id},
            "api_app_id": self.state.app_id, "token": "legacy-verification-token-unused",
            "action_id": action_id, "value": query, "action_ts": f"{time.time():.6f}",
        }
        if opened is not None:
            block = next(b for b in opened.view["blocks"] if (b.get("element") or {}).get("action_id") == action_id)
            payload.update(block_id=block["block_id"], container={"type": "view", "view_id": opened.id},
                           view={**opened.view, "id": opened.id, "state": {"values": {}}})
        else:
            msg, block, el = self.find_element(action_id)
            if el.get("type") not in ("external_select", "multi_external_select"):
                raise LookupError(f"{action_id!r} is not a searchable menu")
            payload.update(block_id=block.get("block_id", ""), channel={"id": msg.channel},
                           container={"type": "message", "message_ts": msg.ts, "channel_id": msg.channel},
                           message=_msg_json(msg))
        if self.via_socket:
            offered = check_options((await self.send_over_socket(payload)).get("payload"))
        else:
            response = await self.send(payload)
            if response.status_code != 200:
                raise SlackError("options_load_failed", [f"HTTP {response.status_code}"])
            offered = check_options(response.json())
        with self.state.lock:
            self.searched[(user, action_id)] = offered
        return offered

    async def choose(self, action_id: str, option_value: str | None = None, user: str = "",
                     *, option_index: int | None = None, **options: Any) -> httpx.Response:
        """`user` picks an option of the select `action_id` (by value, or by position).

        A searchable menu offers what the app served to the person's last `search`."""
        msg, block, el = self.find_element(action_id)
        if el.get("type") == "external_select":
            with self.state.lock:
                offered = self.searched.get((user, action_id))
            if offered is None:
                raise LookupError(f"{user} has not searched {action_id!r}: nothing is offered yet")
        else:
            offered = el.get("options") or []
        if option_index is not None:
            option = offered[option_index]
        else:
            option = next((o for o in offered if o["value"] == option_value), None)
            if option is None:
                raise LookupError(f"the select offers no option {option_value!r}")
        action = {"type": el.get("type", "static_select"), "action_id": action_id,
                  "block_id": block.get("block_id", ""),
                  "selected_option": option, "placeholder": el.get("placeholder")}
        return await self.send(self._block_action(user, msg, action), **options)

    async def submit_view(self, user: str, values: dict[str, Any] | None = None, *,
                          unchecked: bool = False, **options: Any) -> httpx.Response:
        """`user` fills the modal open for them (block_id -> value) and presses submit.

        Untouched fields keep their initial values. A select takes an option's value;
        `unchecked=True` lets a test submit a value the form did not offer (a form
        left open while the account changed underneath it).
        """
        opened = self.open_view_for(user)
        values = values or {}
        state: dict[str, Any] = {}
        for block in opened.view.get("blocks") or []:
            if block.get("type") != "input":
                continue
            bid, el = block["block_id"], block["element"]
            given = values.get(bid)
            if el["type"] == "plain_text_input":
                value = given if bid in values else el.get("initial_value")
                entry: dict[str, Any] = {"type": "plain_text_input", "value": value or None}
                empty = not value
            elif el["type"].startswith("multi_"):
                chosen = list(el.get("initial_options") or [])
                if bid in values:
                    chosen = [self._offered(user, el, bid, v, unchecked) for v in given or []]
                entry = {"type": el["type"], "selected_options": chosen}
                empty = not chosen
            else:
                option = el.get("initial_option")
                if bid in values:
                    option = None if given is None else self._offered(user, el, bid, given, unchecked)
                entry = {"type": el["type"], "selected_option": option}
                empty = option is None
            if empty and not block.get("optional"):
                raise ValueError(f"{bid} is required: Slack would not submit the form")
            state[bid] = {el["action_id"]: entry}
        view = {**opened.view, "id": opened.id, "team_id": self.state.team_id, "app_id": self.state.app_id,
                "bot_id": "B0FAKE", "root_view_id": opened.id, "previous_view_id": None,
                "hash": f"{opened.id}.hash", "state": {"values": state}}
        payload = {
            "type": "view_submission",
            "team": {"id": self.state.team_id, "domain": "fake"},
            "user": self._person(user),
            "api_app_id": self.state.app_id,
            "token": "legacy-verification-token-unused",
            "trigger_id": self.state.issue_trigger(user),
            "view": view,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        response = await self.send(payload, **options)
        if response.status_code == 200 and not response.content.strip():
            with self.state.lock:
                opened.open = False
        elif response.status_code == 200:
            answer = response.json()
            if answer.get("response_action") == "errors":
                with self.state.lock:
                    opened.errors = dict(answer.get("errors") or {})
        return response

    def _offered(self, user: str, el: dict[str, Any], bid: str, value: Any, unchecked: bool) -> dict[str, Any]:
        """The option with that value among those the form offers (a searchable menu: any the app served)."""
        offered = list(el.get("options") or [])
        if el["type"].endswith("external_select"):
            with self.state.lock:
                offered += self.searched.get((user, el.get("action_id", "")), [])
            offered += [el["initial_option"]] if el.get("initial_option") else []
            offered += el.get("initial_options") or []
        option = next((o for o in offered if o["value"] == value), None)
        if option is None:
            if not unchecked:
                raise LookupError(f"{bid}: the form offers no option {value!r}")
            option = {"text": {"type": "plain_text", "text": str(value)}, "value": value}
        return option

    async def wait_for(self, predicate: Callable[[], Any], timeout_s: float = 10.0) -> Any:
        """Poll until `predicate()` is truthy (the app answers after its ack)."""
        deadline = time.monotonic() + timeout_s
        while True:
            with self.state.lock:
                result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError("the fake Slack never saw what the test waited for")
            await asyncio.sleep(0.02)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # a background thread must not take signals
        pass


@contextmanager
def running_fake_slack(bot_token: str, **state_options: Any) -> Iterator[FakeSlack]:
    """A fake Slack on a free loopback port until the block ends."""
    state = SlackState(bot_token, **state_options)
    port = _free_port()
    server = _Server(uvicorn.Config(create_api(state), host="127.0.0.1", port=port, log_level="warning",
                                    access_log=False, lifespan="off"))
    thread = threading.Thread(target=server.run, name=f"fake-slack-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake Slack did not start")
        time.sleep(0.01)
    try:
        yield FakeSlack(state, f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
